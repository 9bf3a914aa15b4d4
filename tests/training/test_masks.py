"""Hole-mask generators: format, coverage cap, stroke widths per kind, determinism."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inpaint_studio.training.masks import (
    MASK_KINDS,
    enforce_coverage,
    make_mask,
    random_training_mask,
)

SHAPE = (384, 384)
SAMPLES = 50


def _samples(kind: str, shape=SHAPE, n=SAMPLES, **kwargs) -> list[np.ndarray]:
    return [make_mask(shape, kind, np.random.default_rng([7, i]), **kwargs) for i in range(n)]


def _half_width(mask: np.ndarray) -> float:
    """Median distance (px) of hole pixels to the nearest kept pixel: about half a stroke."""
    dist = cv2.distanceTransform(mask, cv2.DIST_L2, 5)
    return float(np.median(dist[mask > 0]))


@pytest.fixture(scope="module")
def stats() -> dict[str, dict[str, np.ndarray]]:
    out = {}
    for kind in MASK_KINDS:
        masks = _samples(kind)
        out[kind] = {
            "coverage": np.array([np.count_nonzero(m) / m.size for m in masks]),
            "half_width": np.array([_half_width(m) for m in masks]),
            "masks": masks,
        }
    return out


@pytest.mark.parametrize("kind", MASK_KINDS)
def test_masks_are_binary_nonempty_and_at_most_half(stats, kind):
    for mask in stats[kind]["masks"]:
        assert mask.shape == SHAPE and mask.dtype == np.uint8
        assert set(np.unique(mask)) == {0, 255}
    coverage = stats[kind]["coverage"]
    assert coverage.min() > 0
    assert coverage.max() <= 0.5


def test_stroke_width_grows_scratch_thin_medium_thick(stats):
    means = [stats[kind]["half_width"].mean() for kind in ("scratch", "thin", "medium", "thick")]
    for narrower, wider in zip(means, means[1:], strict=False):
        assert wider > 1.5 * narrower, means
    # scratches are hairlines (<= 5 px), thin strokes at most 25 px wide
    assert stats["scratch"]["half_width"].max() <= 2.5
    assert stats["thin"]["half_width"].max() <= 12.5


def test_scratch_damage_covers_little(stats):
    scratch = stats["scratch"]["coverage"].mean()
    assert 0.01 < scratch < 0.15
    for kind in ("thin", "medium", "thick"):
        # stroke kinds differ by width, not area: each covers far more than old-photo damage
        assert stats[kind]["coverage"].mean() > 2 * scratch


@pytest.mark.parametrize("kind", MASK_KINDS)
def test_same_seed_same_mask_other_seed_other_mask(kind):
    a = make_mask((200, 300), kind, np.random.default_rng(42))
    b = make_mask((200, 300), kind, np.random.default_rng(42))
    c = make_mask((200, 300), kind, np.random.default_rng(43))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_training_mixture_is_deterministic_and_capped():
    a = [random_training_mask((128, 128), np.random.default_rng(s)) for s in range(20)]
    b = [random_training_mask((128, 128), np.random.default_rng(s)) for s in range(20)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert all(0 < np.count_nonzero(m) <= 0.5 * m.size for m in a)


@pytest.mark.parametrize("kind", MASK_KINDS)
@pytest.mark.parametrize("shape", [(8, 8), (16, 16), (3, 200), (1, 1)])
def test_cap_holds_on_tiny_images(kind, shape):
    """Small images used to get the uncapped fallback stroke (up to 100% coverage)."""
    for seed in range(30):
        mask = make_mask(shape, kind, np.random.default_rng(seed))
        n = np.count_nonzero(mask)
        assert 1 <= n <= max(1, int(0.5 * mask.size)), (shape, seed, n)


@pytest.mark.parametrize("kind", MASK_KINDS)
def test_custom_max_coverage(kind):
    for mask in _samples(kind, shape=(128, 128), n=15, max_coverage=0.05):
        assert 0 < np.count_nonzero(mask) <= 0.05 * mask.size


def test_enforce_coverage_keeps_fitting_masks_and_thins_others():
    small = np.zeros((20, 20), np.uint8)
    small[5:8, 5:8] = 255
    assert enforce_coverage(small, 0.5) is small
    full = np.full((20, 20), 255, np.uint8)
    thinned = enforce_coverage(full, 0.25)
    assert 0 < np.count_nonzero(thinned) <= 100
    assert thinned[10, 10] == 255 and thinned[0, 0] == 0  # shrinks from the edges inward


def test_unknown_kind_is_rejected():
    with pytest.raises(ValueError, match="unknown mask kind 'huge'"):
        make_mask((64, 64), "huge", np.random.default_rng(0))
