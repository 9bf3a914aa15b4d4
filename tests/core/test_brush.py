"""Brush rasterisation: values, dirty rects, one Edit per gesture."""

from __future__ import annotations

import numpy as np
import pytest

from inpaint_studio.core.brush import StrokeRecorder, paint_stroke, stroke_bounds
from inpaint_studio.core.document import Document
from inpaint_studio.core.geometry import Rect


def test_dab_values_and_dirty_rect_bounds():
    mask = np.zeros((100, 120), np.uint8)
    rect = paint_stroke(mask, [(50.0, 40.0)], 10)
    assert set(np.unique(mask)) == {0, 255}
    painted = Rect.of_mask(mask)
    assert rect.intersect(painted) == painted  # everything painted lies in the dirty rect
    assert abs(painted.w - 21) <= 1 and abs(painted.h - 21) <= 1
    assert rect.w <= 21 + 6 and rect.h <= 21 + 6  # and the rect is tight
    assert mask[40, 50] == 255 and mask[40, 50 + 12] == 0


def test_line_is_continuous_and_erase():
    mask = np.zeros((100, 200), np.uint8)
    rect = paint_stroke(mask, [(10, 50), (190, 50)], 3)
    assert (mask[50, 10:191] == 255).all()
    assert (mask[50 - 3 : 50 + 4, 100] == 255).all() and mask[50 + 6, 100] == 0
    assert rect.intersect(Rect.of_mask(mask)) == Rect.of_mask(mask)
    paint_stroke(mask, [(100, 50)], 8, erase=True)
    assert mask[50, 100] == 0 and mask[50, 20] == 255


def test_clipping_at_edges_and_outside():
    mask = np.zeros((30, 30), np.uint8)
    rect = paint_stroke(mask, [(-5, -5), (2, 2)], 6)
    assert rect.x == 0 and rect.y == 0 and mask[0, 0] == 255
    assert paint_stroke(mask, [(500, 500)], 3).is_empty()
    assert stroke_bounds([], 3, 30, 30).is_empty()


def test_cost_proportional_to_stroke():
    """Only the stroke's bbox is touched: a poisoned pixel far away stays as it was."""
    mask = np.zeros((3000, 4000), np.uint8)
    mask[2999, 3999] = 7  # not a valid mask value: a full-mask rewrite would not keep it
    rect = paint_stroke(mask, [(10, 10), (20, 15)], 5)
    assert rect.w < 40 and rect.h < 40
    assert mask[2999, 3999] == 7


def test_rejects_bad_mask():
    with pytest.raises(ValueError):
        paint_stroke(np.zeros((5, 5, 3), np.uint8), [(1, 1)], 1)


def test_recorder_one_edit_restores_bit_exact():
    doc = Document(np.zeros((300, 400, 3), np.uint8))
    doc.mask[100:150, 100:300] = 255  # existing mask, partly erased below
    original = doc.mask.copy()
    rec = StrokeRecorder(doc.mask, radius=12, erase=True)
    dirty = Rect(0, 0, 0, 0)
    for x in range(50, 350, 7):
        r = rec.add_point(float(x), 120.0 + (x % 20))
        assert r.w <= 2 * 12 + 20 and r.h <= 2 * 12 + 30  # per-move cost is local
        dirty = dirty.union(r)
    edit = rec.finish("Erase")
    assert edit is not None and edit.image_after is None
    assert dirty.intersect(edit.rect) == edit.rect
    after = doc.mask.copy()
    assert np.array_equal(edit.mask_after, after[edit.rect.slices])
    doc.revert(edit)
    assert np.array_equal(doc.mask, original)
    doc.apply(edit)
    assert np.array_equal(doc.mask, after)


def test_recorder_no_change_gives_no_edit():
    mask = np.full((50, 50), 255, np.uint8)
    rec = StrokeRecorder(mask, radius=5)
    rec.add_point(10, 10)
    rec.add_point(20, 20)
    assert rec.finish("Brush") is None
    assert StrokeRecorder(mask, 5).finish("Brush") is None
