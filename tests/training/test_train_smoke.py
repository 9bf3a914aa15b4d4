"""Train loop smoke tests on tiny synthetic photos: outputs, resume, interrupt, learning."""

from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest
import torch

from inpaint_studio.backends.ffc_net import InpaintNet, NetConfig
from inpaint_studio.backends.neural import NeuralInpainter
from inpaint_studio.backends.weights import load_weights
from inpaint_studio.training import train as train_mod
from inpaint_studio.training.data import PhotoCrops
from inpaint_studio.training.train import (
    TrainConfig,
    net_input,
    reconstruction_loss,
    reconstruction_losses,
    train,
)
from tests.training.photos import synthetic_photo, write_photos


def _config(tmp_path, **overrides) -> TrainConfig:
    values = dict(
        data=str(tmp_path / "photos"),
        out=str(tmp_path / "run"),
        minutes=30.0,
        max_steps=3,
        batch=2,
        crop=64,
        base=8,
        blocks=1,
        device="cpu",
        gan_start=1,  # exercise the adversarial + R1 path too
        r1_every=2,
        checkpoint_minutes=30.0,
    )
    values.update(overrides)
    return TrainConfig(**values)


def _log_rows(run) -> list[dict]:
    with (run / "log.csv").open() as f:
        return list(csv.DictReader(f))


@pytest.fixture
def photos(tmp_path):
    return write_photos(tmp_path / "photos", n=3, size=(80, 96))


def test_short_run_writes_checkpoint_log_and_weights_then_resumes(tmp_path, photos):
    messages: list[str] = []
    weights = train(_config(tmp_path), log=messages.append)
    run = tmp_path / "run"
    assert weights == run / "weights.pt"
    state = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=False)
    assert state["step"] == 3 and state["elapsed"] > 0
    assert state["net_config"] == NetConfig(base=8, blocks=1, prior="multigrid").to_dict()
    net, meta = load_weights(weights)
    assert net.config == NetConfig(base=8, blocks=1, prior="multigrid") and meta["step"] == 3
    rows = _log_rows(run)
    assert [r["step"] for r in rows] == ["3"]  # the last partial window is logged too
    for key in ("l1_hole", "l1_known", "grad", "fft", "adv", "fm", "d", "r1"):
        assert np.isfinite(float(rows[0][key])), key
    assert any("params" in m and "device=cpu" in m for m in messages)

    # resume: the step count continues, the log grows, the network is the checkpoint's
    messages.clear()
    train(_config(tmp_path, max_steps=5, base=16), resume=True, log=messages.append)
    state = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=False)
    assert state["step"] == 5
    assert any("resumed" in m and "step 3" in m for m in messages)
    assert any("checkpoint's network" in m for m in messages)
    assert [r["step"] for r in _log_rows(run)] == ["3", "5"]
    assert load_weights(run / "weights.pt")[1]["step"] == 5
    plot = cv2.imread(str(run / "loss.png"))
    assert plot is not None and plot.shape[0] > 100

    # the exported weights drive the product's backend
    model = NeuralInpainter(run / "weights.pt", precision="fp32")
    model.load("cpu")
    image = photos[0]
    mask = np.zeros(image.shape[:2], np.uint8)
    mask[20:40, 30:60] = 255
    out = model.inpaint(image, mask)
    assert out.shape == image.shape and np.array_equal(out[mask == 0], image[mask == 0])


def test_interrupt_saves_a_resumable_checkpoint(tmp_path, photos, monkeypatch):
    real_make_batch = train_mod.make_batch
    calls = []

    def make_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_make_batch(*args, **kwargs)

    monkeypatch.setattr(train_mod, "make_batch", make_batch)
    messages: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        train(_config(tmp_path, max_steps=10), log=messages.append)
    run = tmp_path / "run"
    state = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=False)
    assert state["step"] == 2
    assert (run / "weights.pt").is_file()
    assert [r["step"] for r in _log_rows(run)] == ["2"]
    assert any("interrupted at step 2" in m for m in messages)


def test_overfitting_one_batch_lowers_the_loss():
    """The generator and the training losses can fit a fixed batch (20 Adam steps)."""
    torch.manual_seed(0)
    img = torch.from_numpy(np.stack([synthetic_photo(64, 64, s) for s in (0, 1)]))
    img = img.permute(0, 3, 1, 2).float() / 255
    mask = torch.zeros(2, 1, 64, 64)
    mask[0, :, 16:40, 20:44] = 1
    mask[1, :, 30:50, 8:30] = 1
    cfg = TrainConfig(data="", out="")
    net = InpaintNet(NetConfig(base=8, blocks=1)).train()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    history = []
    for _ in range(20):
        loss = reconstruction_loss(cfg, reconstruction_losses(net(net_input(img, mask)), img, mask))
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(float(loss.detach()))
    assert all(np.isfinite(history))
    first, last = np.mean(history[:3]), np.mean(history[-3:])
    assert last < 0.75 * first, history


def test_photos_smaller_than_the_crop_are_upscaled(tmp_path):
    """A photo a hair smaller than the crop (scale factor ~1.0008) used to skip the resize."""
    folder = tmp_path / "small"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.full((1199, 1210, 3), 90, np.uint8))
    crops = PhotoCrops(folder, crop=1200, scale=(0.6, 1.0))
    for seed in range(3):
        crop = crops.sample(np.random.default_rng(seed))
        assert crop.shape == (1200, 1200, 3) and crop.dtype == np.uint8


def test_init_starts_from_a_weights_file_with_its_network(tmp_path, photos):
    first = train(_config(tmp_path, out=str(tmp_path / "a"), base=16, max_steps=1), log=str)
    start, _ = load_weights(first)
    messages: list[str] = []
    # the config asks for base 8 without a GAN; the weights file's network (base 16) wins
    second = train(
        _config(tmp_path, out=str(tmp_path / "b"), init=str(first), max_steps=1, w_adv=0.0),
        log=messages.append,
    )
    tuned, _ = load_weights(second)
    assert tuned.config == start.config
    assert any("starting from the weights" in m for m in messages)
    assert "adv" not in _log_rows(tmp_path / "b")[0] or not _log_rows(tmp_path / "b")[0]["adv"]
    # one step from the start point moves the weights a little, not to a fresh init
    a, b = dict(start.named_parameters()), dict(tuned.named_parameters())
    diffs = [float((a[k] - b[k]).detach().abs().max()) for k in a]
    assert 0 < max(diffs) < 0.05


def test_batches_depend_on_seed_and_step_only(tmp_path, photos):
    """Worker processes make the same batches as the train loop itself, from any start step."""
    from inpaint_studio.training.batches import BatchStream, numpy_batch

    data = PhotoCrops(tmp_path / "photos", crop=64)
    inline = [numpy_batch(data, 7, step, 2) for step in range(3, 8)]
    with BatchStream(data, tmp_path / "photos", 7, 3, 2, workers=2) as stream:
        made = [next(stream) for _ in range(5)]
    for (a_img, a_mask), (b_img, b_mask) in zip(inline, made, strict=True):
        assert a_img.shape == (2, 64, 64, 3) and a_mask.shape == (2, 64, 64)
        np.testing.assert_array_equal(a_img, b_img)
        np.testing.assert_array_equal(a_mask, b_mask)
    assert not np.array_equal(inline[0][0], inline[1][0])  # steps differ
    # a worker that cannot start raises instead of leaving the train loop waiting forever
    from concurrent.futures.process import BrokenProcessPool

    with pytest.raises(BrokenProcessPool), BatchStream(data, tmp_path / "nope", 7, 0, 2, 1) as s:
        next(s)
    # the train loop with loader processes runs and logs them
    messages: list[str] = []
    train(_config(tmp_path, max_steps=2, loader_workers=1), log=messages.append)
    assert any("loader workers=1" in m for m in messages)


def test_hole_loss_mse_replaces_the_l1_hole_term():
    """hole_loss="mse" weighs the mean squared hole error instead of the mean absolute one."""
    img = torch.zeros(1, 3, 8, 8)
    pred = img.clone()
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., :4, :] = 1
    pred[..., :4, :] = 0.5  # every hole value off by 0.5; known pixels exact
    vals = reconstruction_losses(pred, img, mask)
    assert float(vals["l1_hole"]) == pytest.approx(0.5)
    assert float(vals["mse_hole"]) == pytest.approx(0.25)
    l1_cfg = TrainConfig(data="", out="", w_grad=0.0, w_fft=0.0)
    mse_cfg = TrainConfig(data="", out="", w_grad=0.0, w_fft=0.0, hole_loss="mse")
    assert float(reconstruction_loss(l1_cfg, vals)) == pytest.approx(0.5)
    assert float(reconstruction_loss(mse_cfg, vals)) == pytest.approx(0.25)


def test_coarse_stage_adds_a_corrector_and_trains_only_it(tmp_path, photos):
    first = train(_config(tmp_path, out=str(tmp_path / "a"), prior="multigrid", max_steps=1))
    start, _ = load_weights(first)
    assert start.coarse is None
    messages: list[str] = []
    cfg = _config(
        tmp_path, out=str(tmp_path / "b"), init=str(first), stage="coarse", coarse=8, max_steps=3
    )
    tuned, _ = load_weights(train(cfg, log=messages.append))
    assert tuned.config.coarse == 8
    assert any("added a coarse corrector" in m for m in messages)
    before, after = start.state_dict(), tuned.state_dict()
    for key, value in after.items():
        if key.startswith("coarse."):
            continue
        assert torch.equal(before[key].half().float(), value), key  # frozen (stored as fp16)
    assert float(tuned.coarse.head.weight.detach().abs().amax()) > 0  # zero at the start
    rows = _log_rows(tmp_path / "b")
    assert rows[-1]["mse_ratio"] and not rows[-1]["l1_hole"] and not rows[-1]["adv"]


def test_coarse_stage_needs_a_corrector(tmp_path, photos):
    with pytest.raises(ValueError, match="coarse corrector"):
        train(_config(tmp_path, prior="multigrid", stage="coarse"))


def test_net_stage_keeps_the_corrector_and_trains_the_rest(tmp_path, photos):
    """--stage net: the GAN fine-tune of the FFC network leaves the coarse corrector (the
    whole fill of holes that skip the network) bit-identical."""
    first = train(_config(tmp_path, out=str(tmp_path / "a"), prior="multigrid", coarse=8))
    cfg = _config(tmp_path, out=str(tmp_path / "b"), init=str(first), stage="net", w_fm=1.0)
    start, _ = load_weights(first)
    tuned, _ = load_weights(train(cfg))
    before, after = start.state_dict(), tuned.state_dict()
    changed = [k for k in after if not torch.equal(before[k], after[k])]
    assert changed and not any(k.startswith("coarse.") for k in changed)
    assert any(k.startswith("coarse.") for k in after)
    rows = _log_rows(tmp_path / "b")
    assert rows[-1]["adv"] and rows[-1]["fm"]  # the GAN losses ran (gan_start=1)
