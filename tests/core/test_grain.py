"""Grain matching: only hole pixels change, as much texture as the rim has, tile-independent."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inpaint_studio.core.geometry import Rect
from inpaint_studio.core.grain import DEFAULT_STRENGTH, RAMP, grain_noise, match_grain


def _grainy(h: int, w: int, sigma: float, seed: int = 0) -> np.ndarray:
    """(h,w,3) uint8 mid-grey photo with Gaussian grain of `sigma` grey levels per pixel."""
    rng = np.random.default_rng(seed)
    grain = rng.normal(0, sigma, (h, w, 1))
    return np.clip(128 + grain + np.zeros((1, 1, 3)), 0, 255).round().astype(np.uint8)


def _box_filled(h: int, w: int, box: tuple[int, int, int, int], sigma: float):
    """(grainy photo, mask with the box (y0, y1, x0, x1) as hole, photo with a flat fill)."""
    image = _grainy(h, w, sigma)
    mask = np.zeros((h, w), np.uint8)
    y0, y1, x0, x1 = box
    mask[y0:y1, x0:x1] = 255
    filled = image.copy()
    filled[mask != 0] = 128
    return image, mask, filled


def _high_pass_std(x: np.ndarray, where: np.ndarray) -> float:
    f = x.astype(np.float32)
    hp = f - cv2.GaussianBlur(f, (0, 0), 1.5)
    return float(hp[where].std())


def _box_case(h: int = 160, w: int = 200):
    mask = np.zeros((h, w), np.uint8)
    mask[40:120, 50:150] = 255
    return mask


def test_only_hole_pixels_change_and_strength_zero_is_a_no_op():
    image = _grainy(160, 200, 12)
    mask = _box_case()
    filled = image.copy()
    filled[mask != 0] = 128  # a smooth fill
    out = filled.copy()
    match_grain(out, image, mask, strength=0)
    assert np.array_equal(out, filled)
    match_grain(out, image, mask)
    assert np.array_equal(out[mask == 0], filled[mask == 0])
    assert not np.array_equal(out[mask != 0], filled[mask != 0])


def test_a_flat_rim_adds_no_grain():
    image = np.full((120, 160, 3), 90, np.uint8)
    mask = _box_case(120, 160)
    out = image.copy()
    match_grain(out, image, mask)
    assert np.array_equal(out, image)


def test_deep_hole_gets_about_strength_times_the_rim_texture():
    image, mask, out = _box_filled(200, 240, (50, 150, 60, 180), 14)
    match_grain(out, image, mask)
    deep = np.zeros_like(mask, bool)
    deep[50 + RAMP + 4 : 150 - RAMP - 4, 60 + RAMP + 4 : 180 - RAMP - 4] = True
    ring = cv2.dilate(mask, np.ones((9, 9), np.uint8)) != 0
    ring &= mask == 0
    ratio = _high_pass_std(out, deep) / _high_pass_std(image, ring)
    assert ratio == pytest.approx(DEFAULT_STRENGTH, rel=0.15)


def test_fill_that_already_has_the_texture_gets_little_more():
    image = _grainy(160, 200, 10)
    mask = _box_case()
    out = image.copy()  # "fill" = the true grainy pixels
    match_grain(out, image, mask)
    hole = mask != 0
    assert _high_pass_std(out, hole) < 1.1 * _high_pass_std(image, hole)


def test_thin_scratch_gets_almost_no_grain():
    image = _grainy(120, 160, 14)
    mask = np.zeros((120, 160), np.uint8)
    mask[60:63, 10:150] = 255  # 3 px wide
    out = image.copy()
    out[mask != 0] = 128
    before = out.copy()
    match_grain(out, image, mask)
    change = (out.astype(int) - before.astype(int))[mask != 0]
    assert change.std() < 0.2 * DEFAULT_STRENGTH * 14  # a deep hole gets about 1.0x that


def test_within_limits_what_changes():
    image = _grainy(160, 200, 12)
    mask = np.zeros((160, 200), np.uint8)
    mask[20:70, 20:80] = 255
    mask[90:150, 120:190] = 255
    filled = image.copy()
    filled[mask != 0] = 128
    out = filled.copy()
    match_grain(out, image, mask, within=Rect(0, 0, 100, 80))
    assert not np.array_equal(out[20:70, 20:80], filled[20:70, 20:80])
    assert np.array_equal(out[80:], filled[80:])


def test_noise_is_the_same_whatever_rect_holds_a_pixel():
    big = grain_noise(Rect(10, 20, 300, 200), seed=3)
    part = grain_noise(Rect(110, 70, 40, 30), seed=3)
    assert np.array_equal(big[50:80, 100:140], part)
    hp = big - cv2.GaussianBlur(big, (0, 0), 1.5)  # the texture measure: unit std
    assert float(hp[8:-8, 8:-8].std()) == pytest.approx(1.0, rel=0.05)
    assert not np.array_equal(
        grain_noise(Rect(0, 0, 16, 16), 1), grain_noise(Rect(0, 0, 16, 16), 2)
    )


def test_result_is_independent_of_the_tiling():
    """Holes wider than a tile: the result does not depend on where tiles fall."""
    image, mask, filled = _box_filled(300, 700, (40, 260, 30, 650), 12)
    a = filled.copy()
    match_grain(a, image, mask)
    b = filled.copy()
    match_grain(b, image, mask, within=Rect(10, 20, 680, 270))
    assert np.array_equal(a, b)


def test_pipeline_adds_grain_per_region_and_regions_do_not_interact():
    from inpaint_studio.backends.opencv_backend import TeleaInpainter
    from inpaint_studio.core.pipeline import inpaint_image
    from inpaint_studio.core.regions import plan_regions

    image = _grainy(200, 800, 12)
    mask = np.zeros((200, 800), np.uint8)
    mask[30:90, 30:110] = 255
    mask[110:180, 600:720] = 255
    plan = plan_regions(mask, image_size=(800, 200), working_size=None)
    assert len(plan) == 2  # two separate regions
    telea = TeleaInpainter()
    telea.load()
    plain = inpaint_image(image, mask, telea)
    both = inpaint_image(image, mask, telea, grain=DEFAULT_STRENGTH)
    np.testing.assert_array_equal(both[mask == 0], image[mask == 0])
    assert _high_pass_std(both, mask != 0) > 2 * _high_pass_std(plain, mask != 0)
    one = mask.copy()
    one[:, 400:] = 0  # the left hole alone: its pixels come out the same
    left = inpaint_image(image, one, telea, grain=DEFAULT_STRENGTH)
    np.testing.assert_array_equal(left[one != 0], both[one != 0])


@pytest.mark.parametrize("shape", [(1, 1), (3, 7), (9, 600)])
def test_tiny_or_all_hole_images_are_handled(shape):
    image = _grainy(*shape, 12)
    all_hole = np.full(shape, 255, np.uint8)
    out = image.copy()
    match_grain(out, image, all_hole)  # no rim to read grain from: nothing is added
    assert np.array_equal(out, image)
    mask = np.zeros(shape, np.uint8)
    mask[shape[0] // 2, shape[1] // 2] = 255
    out = image.copy()
    match_grain(out, image, mask, within=Rect(-5, -5, 10_000, 10_000))
    assert np.array_equal(out[mask == 0], image[mask == 0])


def test_grain_follows_the_brightness_of_the_fill_not_just_the_nearest_rim():
    """A hole over smooth bright sky and grainy dark roofs: the sky part stays smooth."""
    h, w = 200, 240
    image = np.full((h, w, 3), 200, np.uint8)
    roofs = _grainy(h, w, 14, seed=2).astype(int) - 128 + 70
    image[h // 2 :] = np.clip(roofs[h // 2 :], 0, 255).astype(np.uint8)
    mask = np.zeros((h, w), np.uint8)
    mask[30:170, 50:190] = 255  # deep into both
    filled = image.copy()
    filled[30 : h // 2, 50:190] = 200
    filled[h // 2 : 170, 50:190] = 70
    out = filled.copy()
    match_grain(out, image, mask)
    sky = np.zeros_like(mask, bool)
    sky[30 + RAMP : h // 2 - 6, 50 + RAMP : 190 - RAMP] = True
    roof = np.zeros_like(mask, bool)
    roof[h // 2 + 6 : 170 - RAMP, 50 + RAMP : 190 - RAMP] = True
    ring = (cv2.dilate(mask, np.ones((9, 9), np.uint8)) != 0) & (mask == 0)
    ring[: h // 2 + 6] = False  # the roofs' rim
    assert _high_pass_std(out, sky) < 0.15 * DEFAULT_STRENGTH * 14
    expected = DEFAULT_STRENGTH * _high_pass_std(image, ring)
    assert _high_pass_std(out, roof) == pytest.approx(expected, rel=0.2)


def test_edges_in_the_rim_are_not_taken_for_grain():
    """A clean step edge through the hole: high-pass energy, but no grain to copy."""
    image = np.full((160, 200, 3), 60, np.uint8)
    image[:, 100:] = 190
    mask = _box_case()
    out = image.copy()  # the fill continues the edge exactly
    match_grain(out, image, mask)
    change = out.astype(int) - image.astype(int)
    assert np.abs(change).max() <= 3 and change[mask != 0].std() < 0.5


def test_grain_is_squeezed_near_white_so_clipping_leaves_no_dark_specks():
    image = _grainy(160, 200, 12).astype(int) + 100  # a grainy bright rim around 228
    image = np.clip(image, 0, 255).astype(np.uint8)
    mask = _box_case()
    out = image.copy()
    out[mask != 0] = 252  # the fill is nearly white: 3 levels of headroom
    match_grain(out, image, mask)
    hole = out[mask != 0].astype(int)
    assert (hole < 247).mean() < 1e-3 and hole.std() < 1.6  # noise of 1.5 levels at most
