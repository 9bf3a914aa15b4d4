"""Grow / shrink the mask: same result as whole-image morphology, bbox-only diffs, borders."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inpaint_studio.core.document import Document
from inpaint_studio.core.geometry import Rect
from inpaint_studio.core.maskops import MAX_STEP, grow_mask, grown_mask


def _disc(r: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def _random_mask(seed: int, shape=(70, 90)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mask = np.zeros(shape, np.uint8)
    for _ in range(4):
        x, y = rng.integers(0, shape[1]), rng.integers(0, shape[0])
        cv2.circle(mask, (int(x), int(y)), int(rng.integers(1, 9)), 255, -1)
    cv2.line(mask, (3, 60), (80, 10), 255, 2)
    return mask


@pytest.mark.parametrize("pixels", [1, 2, 3, 7])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_grow_matches_whole_image_dilation_with_the_border_as_outside(seed, pixels):
    mask = _random_mask(seed)
    expected = cv2.dilate(mask, _disc(pixels))  # default border never adds mask
    np.testing.assert_array_equal(grow_mask(mask, pixels), expected)


@pytest.mark.parametrize("pixels", [1, 2, 4])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_shrink_matches_whole_image_erosion_and_spares_the_image_border(seed, pixels):
    mask = _random_mask(seed)
    mask[:, :6] = 255  # damage running off the left edge
    expected = cv2.erode(mask, _disc(pixels), borderType=cv2.BORDER_REPLICATE)
    got = grow_mask(mask, -pixels)
    np.testing.assert_array_equal(got, expected)
    assert got[:, 0].min() == 255  # the frame edge does not eat into the mask


def test_the_patch_covers_the_changed_pixels_only():
    mask = np.zeros((50, 60), np.uint8)
    mask[20:24, 30:33] = 255
    rect, patch = grown_mask(mask, 2)
    assert rect == Rect(28, 18, 7, 8)  # the bbox grown by 2 px
    assert patch.shape == (8, 7) and set(np.unique(patch)) == {0, 255}
    rect, patch = grown_mask(mask, -1)
    assert rect == Rect(30, 20, 3, 4) and patch.sum() == 255 * 2  # a 1x2 core is left


def test_nothing_to_change_gives_none_and_steps_are_bounded():
    empty = np.zeros((10, 10), np.uint8)
    assert grown_mask(empty, 3) is None
    assert grown_mask(np.full((10, 10), 255, np.uint8), 3) is None  # already everything
    assert grown_mask(np.full((10, 10), 255, np.uint8), -3) is None  # border spares it
    with pytest.raises(ValueError):
        grown_mask(empty, MAX_STEP + 1)


def test_document_grow_edit_is_undoable_and_leaves_the_photo_alone():
    rng = np.random.default_rng(3)
    doc = Document(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8))
    doc.mask[10:14, 10:14] = 255
    before_mask, before_img = doc.mask.copy(), doc.image.copy()
    edit = doc.grow_mask_edit(3)
    assert edit.label == "Grow mask 3 px" and edit.image_before is None
    doc.apply(edit)
    assert (doc.mask > 0).sum() > (before_mask > 0).sum()
    np.testing.assert_array_equal(doc.image, before_img)
    doc.revert(edit)
    np.testing.assert_array_equal(doc.mask, before_mask)
    assert doc.grow_mask_edit(-1).label == "Shrink mask 1 px"
    assert Document(before_img).grow_mask_edit(2) is None  # no mask yet
