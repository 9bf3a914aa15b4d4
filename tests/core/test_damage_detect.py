"""core.damage_detect: the residual feature and the probability map -> proposed mask step."""

from __future__ import annotations

import numpy as np
import pytest

from inpaint_studio.core.damage_detect import Detection, propose_mask, residual, threshold


def test_residual_keeps_a_thin_line_and_drops_smooth_shading_and_edges():
    h, w = 64, 96
    grey = np.tile(np.linspace(40, 200, w), (h, 1)).astype(np.uint8)  # smooth ramp
    grey[:, 70:] = 230  # a step edge
    grey[30:32, 5:60] = 250  # a 2 px light scratch
    res = residual(grey)
    assert res.dtype == np.int16
    assert res[30:32, 15:50].min() > 120  # the scratch stands out by its contrast
    away = np.ones((h, w), bool)
    away[26:36, :] = False
    assert np.abs(res[away]).max() <= 2  # ramp and edge are their own median


def _map(shape=(60, 80)) -> np.ndarray:
    prob = np.zeros(shape, np.float32)
    prob[10, 5:40] = 0.4  # a faint line ...
    prob[10, 20] = 0.95  # ... with one clear seed: kept whole (hysteresis)
    prob[40, 5:40] = 0.4  # a faint line without a seed: dropped at medium sensitivity
    prob[50:53, 60:63] = 0.9  # a speck
    return prob


def test_regions_over_half_the_threshold_are_kept_only_with_a_seed():
    found = propose_mask(_map(), sensitivity=0.5, grow=0)
    assert isinstance(found, Detection) and found.mask.dtype == np.uint8
    assert set(np.unique(found.mask)) == {0, 255}
    assert found.regions == 2
    assert (found.mask[10, 5:40] == 255).all()
    assert not found.mask[40].any()
    assert (found.mask[50:53, 60:63] == 255).all()
    assert found.fraction == pytest.approx((35 + 9) / (60 * 80))


def test_grow_adds_that_many_pixels_around_what_is_found():
    tight = propose_mask(_map(), 0.5, grow=0).mask
    grown = propose_mask(_map(), 0.5, grow=2).mask
    assert (grown >= tight).all()
    assert grown[12, 20] == 255 and grown[13, 20] == 0  # 2 px below the line, not 3
    assert grown[50:53, 58].all() and not grown[50:53, 57].any()


def test_higher_sensitivity_finds_a_superset():
    prob = np.random.default_rng(0).random((50, 50)).astype(np.float32) ** 3
    masks = [propose_mask(prob, s, grow=0).mask for s in (0.0, 0.25, 0.5, 0.75, 1.0)]
    for low, high in zip(masks, masks[1:], strict=False):
        assert (high >= low).all()
    assert masks[-1].sum() > masks[0].sum()
    assert threshold(0.0) > threshold(0.5) > threshold(1.0) > 0
    assert threshold(-3) == threshold(0.0) and threshold(7) == threshold(1.0)


def test_nothing_found_is_an_empty_mask():
    found = propose_mask(np.full((20, 30), 0.1, np.float32))
    assert found.regions == 0 and not found.mask.any() and found.fraction == 0.0


@pytest.mark.parametrize("bad", [{"grow": -1}, {"grow": 11}])
def test_bad_arguments_raise(bad):
    with pytest.raises(ValueError):
        propose_mask(np.zeros((4, 4), np.float32), **bad)
    with pytest.raises(ValueError):
        propose_mask(np.zeros((4, 4, 3), np.float32))


def test_polarity_keeps_regions_lighter_or_darker_than_around_them():
    grey = np.full((60, 80), 120, np.uint8)
    grey[10:13, 5:70] = 230  # a light scratch
    grey[40:44, 30:34] = 20  # a dark speck
    prob = np.zeros((60, 80), np.float32)
    prob[10:13, 5:70] = 0.9
    prob[40:44, 30:34] = 0.9
    both = propose_mask(prob, grow=0)
    light = propose_mask(prob, grow=0, grey=grey, polarity="light")
    dark = propose_mask(prob, grow=0, grey=grey, polarity="dark")
    assert (both.regions, light.regions, dark.regions) == (2, 1, 1)
    assert light.mask[11, 30] == 255 and light.mask[41, 31] == 0
    assert dark.mask[41, 31] == 255 and dark.mask[11, 30] == 0


def test_polarity_needs_the_grey_photo_and_a_known_name():
    prob = np.zeros((8, 8), np.float32)
    with pytest.raises(ValueError, match="grey"):
        propose_mask(prob, polarity="light")
    with pytest.raises(ValueError, match="polarity"):
        propose_mask(prob, grey=np.zeros((8, 8), np.uint8), polarity="bright")
