"""The damage detector network: shapes, tiling, weights files, and the shipped weights."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from inpaint_studio.backends import damage_net
from inpaint_studio.backends.damage_net import (
    DamageDetector,
    DamageNet,
    default_weights,
    features,
    save_detector,
)
from inpaint_studio.errors import BackendError
from inpaint_studio.paths import resources_dir


def _photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (h // 16 + 2, w // 16 + 2, 3)).astype(np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def test_features_and_net_shapes():
    x = features(_photo(40, 56))
    assert x.shape == (4, 40, 56) and x.dtype == np.float32
    assert 0 <= x[:3].min() and x[:3].max() <= 1
    net = DamageNet()
    assert 150_000 < sum(p.numel() for p in net.parameters()) < 400_000
    assert net(torch.from_numpy(x[:, :40, :56][None])[..., :40, :56]).shape == (1, 1, 40, 56)


@pytest.fixture
def random_weights(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "det.pt"
    save_detector(DamageNet(), path, {"note": "random"})
    return path


def test_odd_sizes_and_tiles_agree_with_one_pass(random_weights, monkeypatch):
    photo = _photo(150, 203)
    detector = DamageDetector(random_weights)
    assert detector.meta == {"note": "random"}
    whole = detector.probability(photo)
    assert whole.shape == (150, 203) and whole.dtype == np.float32
    assert 0 <= whole.min() and whole.max() <= 1
    monkeypatch.setattr(damage_net, "TILE", 64)
    calls = []
    tiled = detector.probability(photo, progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (12, 12)  # 3 x 4 tiles of 64 px
    # 64 px of context each side: the tiles see nearly what one pass sees
    assert np.abs(tiled - whole).max() < 0.02


def test_missing_or_damaged_weights_are_one_clear_error(tmp_path):
    with pytest.raises(BackendError, match="missing"):
        DamageDetector(tmp_path / "none.pt")
    (tmp_path / "bad.pt").write_bytes(b"not a weights file")
    with pytest.raises(BackendError, match="cannot read"):
        DamageDetector(tmp_path / "bad.pt")


def test_shipped_weights_find_the_sample_photos_damage():
    """The built-in sample is an old print aged with the project's damage generator
    (tools/make_sample.py): the shipped detector finds most of its damage, and little else."""
    from inpaint_studio.core.imageio import load_image, load_mask
    from inpaint_studio.core.maskops import grow_mask

    assert default_weights() == resources_dir() / "models" / "damage_detect.pt"
    sample = load_image(resources_dir() / "samples" / "sample.jpg")
    truth = load_mask(resources_dir() / "samples" / "sample_mask.png", sample.size) != 0
    found = DamageDetector().detect(sample.pixels).mask != 0
    core = grow_mask(truth.view(np.uint8) * np.uint8(255), -2) != 0  # the damage itself
    near = grow_mask(truth.view(np.uint8) * np.uint8(255), 2) != 0
    assert found[core].mean() > 0.7
    assert near[found].mean() > 0.8
