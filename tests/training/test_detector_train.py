"""Damage detector training: synthetic damage, the loss, and a smoke run with resume."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

from inpaint_studio.backends.damage_net import load_detector
from inpaint_studio.training.damage_synth import VISIBLE, damage_crop
from inpaint_studio.training.data import PhotoCrops
from inpaint_studio.training.detector_train import (
    DetectorConfig,
    detector_loss,
    make_batch,
    train_detector,
)
from tests.training.photos import synthetic_photo, write_photos


def test_damage_crop_marks_visible_damage_only_and_sometimes_none():
    rng = np.random.default_rng(3)
    clean = synthetic_photo(96, 96, 1)
    empty = 0
    for _ in range(40):
        img, label = damage_crop(clean, rng)
        assert img.shape == (96, 96, 3) and img.dtype == np.uint8
        assert label.shape == (96, 96) and set(np.unique(label)) <= {0, 1}
        if not label.any():
            empty += 1
            continue
        # labelled pixels moved (JPEG and the old-photo look move the rest a little too)
        moved = np.abs(img.astype(int) - clean.astype(int)).max(axis=2)
        assert np.median(moved[label == 1]) >= VISIBLE
    assert 1 <= empty <= 20  # about 15% of crops have no damage by design


def test_batches_depend_only_on_seed_and_step(tmp_path):
    write_photos(tmp_path / "photos", 3, (80, 80))
    crops = PhotoCrops(tmp_path / "photos", crop=64, scale=(0.5, 1.5))
    cfg = DetectorConfig(data="", out="", batch=3, crop=64)
    x1, y1 = make_batch(crops, cfg, 5)
    x2, y2 = make_batch(crops, cfg, 5)
    x3, _ = make_batch(crops, cfg, 6)
    assert x1.shape == (3, 4, 64, 64) and y1.shape == (3, 1, 64, 64)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(x1, x3)
    assert 0 <= x1[:, :3].min() and x1[:, :3].max() <= 1


def test_loss_prefers_the_right_answer():
    labels = torch.zeros(1, 1, 16, 16)
    labels[..., 4:6, :] = 1
    right = (labels * 2 - 1) * 6
    wrong = -right
    assert detector_loss(right, labels, 3.0)[0] < detector_loss(wrong, labels, 3.0)[0]


def test_smoke_run_writes_weights_log_and_resumes(tmp_path):
    write_photos(tmp_path / "photos", 3, (80, 80))
    cfg = DetectorConfig(
        data=str(tmp_path / "photos"), out=str(tmp_path / "run"), minutes=0, max_steps=4,
        batch=2, crop=64, log_every=2, save_every=2,
    )  # fmt: skip
    weights = train_detector(cfg, log=lambda _m: None)
    net, meta = load_detector(weights)
    assert meta["steps"] == 4
    x = torch.rand(1, 4, 64, 64)
    assert net(x).shape == (1, 1, 64, 64)
    cfg.max_steps = 6
    train_detector(cfg, resume=True, log=lambda _m: None)
    with (tmp_path / "run" / "log.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [2, 4, 6]
    assert all(np.isfinite(float(r["loss"])) for r in rows)
    assert (tmp_path / "run" / "loss.png").stat().st_size > 0


def test_no_budget_is_refused(tmp_path):
    with pytest.raises(ValueError):
        train_detector(DetectorConfig(data=str(tmp_path), out=str(tmp_path / "r"), minutes=0))


def test_init_starts_from_given_weights_and_refuses_a_damaged_file(tmp_path):
    from inpaint_studio.backends.damage_net import default_weights

    write_photos(tmp_path / "photos", 3, (80, 80))
    cfg = DetectorConfig(
        data=str(tmp_path / "photos"), out=str(tmp_path / "run"), minutes=0, max_steps=1,
        batch=2, crop=64, lr=1e-9, init=str(default_weights()),
    )  # fmt: skip
    net, _ = load_detector(train_detector(cfg, log=lambda _m: None))
    shipped, _ = load_detector(default_weights())
    want = shipped.state_dict()
    for name, a in net.state_dict().items():
        assert torch.allclose(a, want[name], atol=1e-3), name  # one step at lr 1e-9
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not weights")
    cfg.init, cfg.out = str(bad), str(tmp_path / "run2")
    with pytest.raises(ValueError, match="cannot read"):
        train_detector(cfg, log=lambda _m: None)
