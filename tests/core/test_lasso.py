"""The lasso: a freehand outline filled into the mask as one Edit (core.lasso)."""

from __future__ import annotations

import numpy as np
import pytest

from inpaint_studio.core.lasso import lasso_edit

SQUARE = [(10.0, 10.0), (29.0, 10.0), (29.0, 29.0), (10.0, 29.0)]


def test_the_outline_and_its_inside_are_filled_without_touching_the_mask() -> None:
    mask = np.zeros((60, 80), np.uint8)
    edit = lasso_edit(mask, SQUARE)
    assert edit is not None and edit.label == "Lasso"
    assert (edit.rect.x, edit.rect.y, edit.rect.w, edit.rect.h) == (10, 10, 20, 20)
    assert (edit.mask_after == 255).all() and (edit.mask_before == 0).all()
    assert edit.image_before is None and edit.image_after is None  # a mask-only step
    assert not mask.any()  # applying it is the caller's (undo stack's) job


def test_erase_takes_the_inside_out_and_only_changed_pixels_are_stored() -> None:
    mask = np.zeros((60, 80), np.uint8)
    mask[20:40, 20:40] = 255
    edit = lasso_edit(mask, SQUARE, erase=True)
    assert edit is not None and edit.label == "Lasso erase"
    assert (edit.rect.x, edit.rect.y, edit.rect.w, edit.rect.h) == (20, 20, 10, 10)
    assert not edit.mask_after.any()


def test_a_triangle_has_a_triangles_area() -> None:
    mask = np.zeros((200, 200), np.uint8)
    edit = lasso_edit(mask, [(20.0, 20.0), (180.0, 20.0), (20.0, 180.0)])
    area = np.count_nonzero(edit.mask_after)
    assert abs(area - 160 * 160 / 2) < 0.03 * 160 * 160 / 2
    assert edit.mask_after[-1, -1] == 0 and edit.mask_after[-1, 0] == 255  # hypotenuse side


def test_outlines_past_the_edges_are_clipped_and_empty_ones_give_nothing() -> None:
    mask = np.zeros((30, 40), np.uint8)
    edit = lasso_edit(mask, [(-50.0, -50.0), (100.0, -50.0), (100.0, 100.0), (-50.0, 100.0)])
    assert edit is not None and (edit.rect.w, edit.rect.h) == (40, 30)
    assert (edit.mask_after == 255).all()
    assert lasso_edit(mask, [(1.0, 1.0), (5.0, 5.0)]) is None  # not an area
    assert lasso_edit(mask, [(-20.0, -20.0), (-10.0, -20.0), (-10.0, -10.0)]) is None  # outside
    full = np.full((30, 40), 255, np.uint8)
    assert lasso_edit(full, SQUARE) is None  # nothing would change
    with pytest.raises(ValueError):
        lasso_edit(np.zeros((30, 40, 3), np.uint8), SQUARE)
