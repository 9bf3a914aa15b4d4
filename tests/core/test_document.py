"""Document: apply/revert idempotence, copies, edit builders."""

from __future__ import annotations

import numpy as np
import pytest

from inpaint_studio.core.document import Document
from inpaint_studio.core.geometry import Rect
from inpaint_studio.core.history import Edit


@pytest.fixture
def doc() -> Document:
    rng = np.random.default_rng(1)
    return Document(rng.integers(0, 256, (40, 60, 3), dtype=np.uint8))


def test_construction_validates_and_binarises():
    with pytest.raises(ValueError):
        Document(np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError):
        Document(np.zeros((4, 4, 3), np.uint8), alpha=np.zeros((3, 4), np.uint8))
    mask = np.array([[0, 127], [128, 255]], np.uint8)
    d = Document(np.zeros((2, 2, 3), np.uint8), mask=mask)
    assert d.mask.tolist() == [[0, 0], [255, 255]]
    assert d.width == 2 and d.height == 2 and not d.dirty


def test_document_owns_its_pixels():
    src = np.zeros((3, 3, 3), np.uint8)
    d = Document(src)
    src[:] = 5
    assert d.image.max() == 0


def test_apply_revert_idempotent(doc):
    before_img, before_mask = doc.image.copy(), doc.mask.copy()
    rect = Rect(10, 5, 20, 12)
    patch = np.full((12, 20, 3), 200, np.uint8)
    mpatch = np.full((12, 20), 255, np.uint8)
    edit = Edit.capture("e", doc, rect, new_image_patch=patch, new_mask_patch=mpatch)
    assert doc.apply(edit) == rect
    after_img, after_mask = doc.image.copy(), doc.mask.copy()
    assert doc.apply(edit) == rect  # twice = once
    assert np.array_equal(doc.image, after_img) and np.array_equal(doc.mask, after_mask)
    assert doc.dirty
    assert doc.revert(edit) == rect
    assert doc.revert(edit) == rect
    assert np.array_equal(doc.image, before_img) and np.array_equal(doc.mask, before_mask)
    # pixels outside the rect never changed
    outside = np.ones(doc.mask.shape, bool)
    outside[rect.slices] = False
    assert np.array_equal(after_img[outside], before_img[outside])


def test_copies_are_independent(doc):
    rect = Rect(1, 2, 3, 4)
    img = doc.image_copy(rect)
    msk = doc.mask_copy(rect)
    assert img.shape == (4, 3, 3) and msk.shape == (4, 3)
    assert img.flags.c_contiguous and msk.flags.c_contiguous
    img[:] = 0
    msk[:] = 255
    assert not np.array_equal(doc.image[rect.slices], img)
    assert doc.mask.max() == 0
    with pytest.raises(ValueError):
        doc.image_copy(Rect(50, 30, 20, 20))


def test_mark_saved_and_dirty(doc, tmp_path):
    edit = Edit.capture("e", doc, Rect(0, 0, 2, 2), new_mask_patch=np.full((2, 2), 255, np.uint8))
    doc.apply(edit)
    assert doc.dirty
    doc.mark_saved(tmp_path / "x.png")
    assert not doc.dirty and doc.path == tmp_path / "x.png"


def test_clear_mask_edit(doc):
    assert doc.clear_mask_edit() is None
    doc.mask[5:9, 7:20] = 255
    edit = doc.clear_mask_edit()
    assert edit.rect == Rect(7, 5, 13, 4) and edit.image_after is None
    doc.apply(edit)
    assert doc.mask.max() == 0
    doc.revert(edit)
    assert doc.mask[5:9, 7:20].min() == 255


def test_fill_edit_pastes_only_inside_mask(doc):
    doc.mask[10:20, 10:30] = 255
    doc.mask[0:2, 0:2] = 255  # painted elsewhere, not part of this fill
    origin = Rect(5, 5, 40, 30)
    fill_mask = doc.mask_copy(origin)
    fill_mask[:5, :5] = 0  # the (0..2, 0..2) blob is outside the origin anyway
    filled = np.full((30, 40, 3), 77, np.uint8)
    before = doc.image.copy()
    edit = doc.fill_edit(origin, fill_mask, filled, "Inpaint (x)")
    assert edit.rect == Rect(10, 10, 20, 10)
    assert edit.changes_image and edit.changes_mask
    doc.apply(edit)
    inside = np.zeros(doc.mask.shape, bool)
    inside[10:20, 10:30] = True
    assert (doc.image[inside] == 77).all()
    assert np.array_equal(doc.image[~inside], before[~inside])
    assert doc.mask[10:20, 10:30].max() == 0
    assert doc.mask[0:2, 0:2].min() == 255
    doc.revert(edit)
    assert np.array_equal(doc.image, before)
    assert doc.mask[10:20, 10:30].min() == 255
    with pytest.raises(ValueError):
        doc.fill_edit(origin, fill_mask[:-1], filled, "bad")
    assert doc.fill_edit(origin, np.zeros_like(fill_mask), filled, "none") is None


def test_from_loaded():
    class Loaded:  # duck-typed stand-in for core.imageio.LoadedImage
        pixels = np.ones((3, 4, 3), np.uint8)
        alpha = np.full((3, 4), 9, np.uint8)
        source_path = "photo.png"

    d = Document.from_loaded(Loaded())
    assert d.width == 4 and d.height == 3 and d.alpha[0, 0] == 9
    assert str(d.path) == "photo.png" and d.original is not None


def test_mask_union_edit_is_a_bounding_box_diff(doc):
    doc.mask[5:8, 5:8] = 255
    extra = np.zeros_like(doc.mask)
    extra[10:14, 20:30] = 255
    extra[6, 6] = 255  # already painted
    edit = doc.mask_union_edit(extra)
    assert edit is not None and edit.rect == Rect(6, 6, 24, 8)
    assert edit.image_before is None  # the photo is untouched
    before = doc.mask.copy()
    doc.apply(edit)
    np.testing.assert_array_equal(doc.mask, np.maximum(before, extra))
    doc.revert(edit)
    np.testing.assert_array_equal(doc.mask, before)
    assert doc.mask_union_edit(np.zeros_like(doc.mask)) is None
    with pytest.raises(ValueError):
        doc.mask_union_edit(np.zeros((3, 3), np.uint8))


def test_mask_intersect_edit_keeps_the_painted_mask_where_told(doc):
    assert doc.mask_intersect_edit(Rect(0, 0, 4, 4), np.ones((4, 4), np.uint8)) is None
    doc.mask[10:20, 10:30] = 255
    origin = Rect(8, 8, 30, 20)
    keep = np.zeros((20, 30), np.uint8)
    keep[5:7, :] = 255  # rows 13-14 of the photo
    edit = doc.mask_intersect_edit(origin, keep)
    assert edit is not None and edit.rect == Rect(10, 10, 20, 10)  # the painted bbox only
    before = doc.mask.copy()
    doc.apply(edit)
    assert (doc.mask != 0).sum() == 2 * 20 and doc.mask[13:15, 10:30].all()
    doc.revert(edit)
    np.testing.assert_array_equal(doc.mask, before)
    everything = np.full((20, 30), 255, np.uint8)
    assert doc.mask_intersect_edit(origin, everything) is None  # nothing would change
    with pytest.raises(ValueError, match="cover"):
        doc.mask_intersect_edit(Rect(12, 12, 4, 4), np.ones((4, 4), np.uint8))
