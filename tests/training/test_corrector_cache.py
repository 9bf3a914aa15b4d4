"""train-corrector: the case cache and the corrector fine-tune on it (tiny synthetic photos)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from inpaint_studio import cli
from inpaint_studio.backends.neural import default_weights_path
from inpaint_studio.backends.weights import load_weights
from inpaint_studio.training import corrector_cache as cc
from tests.training.photos import write_photos


@pytest.fixture
def small_cases(monkeypatch):
    """Cases of 32x48 px (8x12 at 1/4 size), 16 to a shard, so a cache builds in a second."""
    monkeypatch.setattr(cc, "SHAPE", (32, 48))
    monkeypatch.setattr(cc, "SHARD", 16)


def _build(tmp_path, name: str, seed: int, shards: int = 2) -> dict:
    folder = tmp_path / "photos"
    if not folder.exists():
        write_photos(folder, 3, (40, 60))
        write_photos(tmp_path / "portrait", 1, (60, 40))
        (folder / "photo_99.png").write_bytes((tmp_path / "portrait" / "photo_00.png").read_bytes())
    n = cc.build_cache(cc.CacheConfig(str(folder), str(tmp_path / name), seed, shards))
    assert n == shards * cc.SHARD
    return cc.load_cache(tmp_path / name)


def test_cache_holds_pooled_cases_of_both_orientations(tmp_path, small_cases):
    cache = _build(tmp_path, "c", seed=1)
    assert set(cache) == {"L", "P"}
    assert sum(len(v[0]) for v in cache.values()) == 32
    fill, hole, truth = cache["L"]
    assert fill.shape[1:] == (3, 8, 12) and truth.shape == fill.shape
    assert hole.shape[1:] == (1, 8, 12) and hole.dtype == torch.uint8
    assert cache["P"][0].shape[1:] == (3, 12, 8)
    assert set(np.unique(hole.numpy())) <= {0, 1} and hole.any()
    f = fill.float()
    assert 0 <= f.min() and f.max() <= 1
    # known blocks: the pooled fill is the pooled photo (the prior keeps known pixels)
    known = (hole == 0).expand_as(fill)
    assert torch.allclose(f[known], truth.float()[known], atol=2e-3)


def test_cache_is_the_same_for_the_same_seed(tmp_path, small_cases):
    a, b = _build(tmp_path, "a", seed=3), _build(tmp_path, "b", seed=3)
    c = _build(tmp_path, "c", seed=4)
    for key in a:
        for x, y in zip(a[key], b[key], strict=True):
            assert torch.equal(x, y)
    assert not torch.equal(a["L"][2][: len(c["L"][2])], c["L"][2][: len(a["L"][2])])


def test_fine_tune_changes_only_the_corrector_and_scores_it(tmp_path, small_cases):
    _build(tmp_path, "train", seed=1)
    _build(tmp_path, "val", seed=7, shards=1)
    cfg = cc.CorrectorConfig(
        cache=str(tmp_path / "train"), val_cache=str(tmp_path / "val"),
        init=str(default_weights_path()), out=str(tmp_path / "run"), minutes=0,
        max_steps=4, batch=4, lr=1e-3, check_every=2, ema=0.5,
    )  # fmt: skip
    weights = cc.train_on_cache(cfg, log=lambda _: None)
    new, meta = load_weights(weights)
    old, _ = load_weights(default_weights_path())
    changed = {k for k, v in new.state_dict().items() if not torch.equal(v, old.state_dict()[k])}
    assert changed and all(k.startswith("coarse.") for k in changed)
    assert meta["corrector_cache_stage"]["steps"] == 4
    assert np.isfinite(meta["corrector_cache_stage"]["val_gain_db"])
    rows = (tmp_path / "run" / "log.csv").read_text().splitlines()
    assert rows[0].startswith("step,") and len(rows) == 3  # header + steps 2 and 4
    assert (tmp_path / "run" / "curve.png").stat().st_size > 0
    again = replace(cfg, init=str(weights), out=str(tmp_path / "r2"))
    _, meta2 = load_weights(cc.train_on_cache(again, log=lambda _: None))
    assert meta2["corrector_cache_earlier"] == [
        *meta["corrector_cache_earlier"],
        meta["corrector_cache_stage"],
    ]
    if (tmp_path / "run" / "best.pt").exists():  # only when a check beat the initial gain
        _, best = load_weights(tmp_path / "run" / "best.pt")
        assert (
            best["corrector_cache_stage"]["val_gain_db"]
            > meta["corrector_cache_stage"]["val_gain_db"] - 1e-9
            or best["corrector_cache_stage"]["steps"] <= 4
        )


def test_gain_of_a_zero_corrector_is_zero(tmp_path, small_cases):
    cache = _build(tmp_path, "c", seed=1, shards=1)
    net, _ = load_weights(default_weights_path())
    for p in net.coarse.head.parameters():
        torch.nn.init.zeros_(p)
    assert cc.mean_gain(net.coarse, cache) == pytest.approx(0.0, abs=1e-6)


def test_block_fade_matches_the_rim_fade_of_inference():
    """Blocks beside a known block get nothing, the next ring half, deeper blocks all."""
    hole = torch.zeros(1, 1, 9, 9)
    hole[..., 1:8, 1:8] = 1
    fade = cc.block_fade(hole)[0, 0]
    assert fade[4, 4] == 1 and fade[3, 4] == 1 and fade[2, 4] == 0.5 and fade[1, 4] == 0
    assert fade[0].eq(0).all()  # known blocks
    line = torch.zeros(1, 1, 5, 9)
    line[..., 2, :] = 1  # a scratch one block wide: its full-size fill is kept
    assert cc.block_fade(line).eq(0).all()


def test_faded_gain_ignores_what_the_corrector_does_next_to_known_blocks(tmp_path):
    """A corrector that ruins every hole block costs nothing faded on a one-block scratch."""

    class Ruin(torch.nn.Module):
        def forward(self, fill, hole):
            return (0.5 - fill) * hole

    fill = torch.full((2, 3, 5, 9), 0.3)
    hole = torch.zeros(2, 1, 5, 9)
    hole[..., 2, :] = 1
    truth = fill + 0.01 * hole
    assert cc._gains(Ruin(), fill, hole, truth).abs().max() < 1e-4
    assert cc._gains(Ruin(), fill, hole, truth, fade=False).max() < -10


def test_empty_cache_folder_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no cache shards"):
        cc.load_cache(tmp_path / "empty")


def test_cli_reports_missing_folders_and_weights(tmp_path, capsys):
    write_photos(tmp_path / "p", 1, (40, 60))
    base = ["train-corrector", "--cache", str(tmp_path / "c"), "--out", str(tmp_path / "r")]
    assert cli.main([*base, "--data", str(tmp_path / "nope"), "--val-data", "x"]) == 2
    assert "photo folder not found" in capsys.readouterr().err
    args = ["--data", str(tmp_path / "p"), "--val-data", str(tmp_path / "p")]
    assert cli.main([*base, *args, "--init", str(tmp_path / "none.pt")]) == 2
    assert "not found" in capsys.readouterr().err
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not weights")
    (tmp_path / "c" / "train").mkdir(parents=True)
    (tmp_path / "c" / "val").mkdir()
    zeros = np.zeros((1, 3, 2, 2), np.float16)
    for name in ("train", "val"):  # non-empty caches: no building, straight to the weights
        shard = tmp_path / "c" / name / "s_0000_L.npz"
        np.savez(shard, fill=zeros, hole=np.ones((1, 1, 2, 2), np.uint8), truth=zeros)
    assert cli.main([*base, *args, "--init", str(bad)]) == 2
    assert "cannot read the weights" in capsys.readouterr().err


def test_cli_builds_both_caches_with_their_seeds_and_trains(tmp_path, small_cases, capsys):
    write_photos(tmp_path / "p", 2, (40, 60))
    cache, out = tmp_path / "c", tmp_path / "r"
    args = ["train-corrector", "--data", str(tmp_path / "p"), "--val-data", str(tmp_path / "p"),
            "--cache", str(cache), "--out", str(out), "--cache-shards", "1", "--val-shards",
            "1", "--cache-seed", "2", "--max-steps", "1", "--minutes", "0"]  # fmt: skip
    assert cli.main(args) == 0
    assert {p.name[:3] for p in (cache / "train").glob("*.npz")} == {"s2_"}
    assert {p.name[:3] for p in (cache / "val").glob("*.npz")} == {"s7_"}
    _, meta = load_weights(out / "weights.pt")
    assert meta["corrector_cache_stage"]["steps"] == 1
