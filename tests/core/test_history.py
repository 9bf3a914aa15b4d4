"""Edit diffs and the byte-budgeted History."""

from __future__ import annotations

import numpy as np
import pytest

from inpaint_studio.core.document import Document
from inpaint_studio.core.geometry import Rect
from inpaint_studio.core.history import Edit, History, evict_count


def _random_edit(doc: Document, rng: np.random.Generator, i: int) -> Edit:
    x, y = int(rng.integers(0, doc.width - 1)), int(rng.integers(0, doc.height - 1))
    w = int(rng.integers(1, doc.width - x + 1))
    h = int(rng.integers(1, doc.height - y + 1))
    rect = Rect(x, y, w, h)
    kind = i % 3
    image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8) if kind != 1 else None
    mask = (rng.integers(0, 2, (h, w), dtype=np.uint8) * 255) if kind != 0 else None
    return Edit.capture(f"edit {i}", doc, rect, new_image_patch=image, new_mask_patch=mask)


def _mask_edit(nbytes_side: int, label: str = "m") -> Edit:
    before = np.zeros((nbytes_side, nbytes_side), np.uint8)
    return Edit(label, Rect(0, 0, nbytes_side, nbytes_side), mask_before=before, mask_after=before)


def test_edit_nbytes_and_frozen():
    doc = Document(np.zeros((10, 12, 3), np.uint8))
    patch = np.full((4, 5, 3), 7, np.uint8)
    edit = Edit.capture("x", doc, Rect(2, 3, 5, 4), new_image_patch=patch)
    assert edit.nbytes == 2 * 4 * 5 * 3
    assert edit.mask_before is None and edit.mask_after is None
    patch[:] = 9  # the edit holds its own copy
    assert int(edit.image_after.max()) == 7
    with pytest.raises(ValueError):
        edit.image_after[0, 0, 0] = 1  # read-only
    assert doc.image.max() == 0  # capture does not change the document


def test_edit_rejects_bad_shapes():
    with pytest.raises(ValueError):
        Edit("bad", Rect(0, 0, 2, 2), mask_before=np.zeros((2, 2), np.uint8))
    with pytest.raises(ValueError):
        z = np.zeros((3, 2), np.uint8)
        Edit("bad", Rect(0, 0, 2, 2), mask_before=z, mask_after=z)
    doc = Document(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError):
        Edit.capture("out", doc, Rect(2, 2, 4, 4), new_mask_patch=np.zeros((4, 4), np.uint8))


def test_undo_redo_bit_exact_on_random_edits():
    rng = np.random.default_rng(0)
    start = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    doc = Document(start)
    hist = History()
    states = [(doc.image.copy(), doc.mask.copy())]
    for i in range(30):
        edit = _random_edit(doc, rng, i)
        doc.apply(edit)
        hist.push(edit)
        states.append((doc.image.copy(), doc.mask.copy()))
    assert hist.index == 30 and len(hist) == 30
    for k in range(30, 0, -1):
        edit = hist.undo()
        doc.revert(edit)
        img, msk = states[k - 1]
        assert np.array_equal(doc.image, img) and np.array_equal(doc.mask, msk)
    assert hist.undo() is None and not hist.can_undo()
    assert np.array_equal(doc.image, start)
    for k in range(1, 31):
        doc.apply(hist.redo())
        img, msk = states[k]
        assert np.array_equal(doc.image, img) and np.array_equal(doc.mask, msk)
    assert hist.redo() is None and not hist.can_redo()


def test_push_drops_redo_branch_and_bytes():
    hist = History()
    edits = [_mask_edit(4, str(i)) for i in range(5)]
    for e in edits:
        hist.push(e)
    assert hist.total_bytes == 5 * 32
    hist.undo()
    hist.undo()
    assert hist.can_redo() and hist.index == 3
    new = _mask_edit(2, "new")
    hist.push(new)
    assert not hist.can_redo()
    assert [e.label for e in hist.edits] == ["0", "1", "2", "new"]
    assert hist.total_bytes == 3 * 32 + 8
    hist.clear()
    assert len(hist) == 0 and hist.total_bytes == 0 and hist.index == 0


def test_eviction_by_bytes_keeps_newest():
    hist = History(budget_bytes=100)
    evicted = [hist.push(_mask_edit(4, str(i))) for i in range(4)]  # 32 bytes each
    assert evicted == [0, 0, 0, 1]
    # 4 * 32 = 128 > 100 -> the oldest is dropped
    assert [e.label for e in hist.edits] == ["1", "2", "3"]
    assert hist.total_bytes == 96 and hist.index == 3 and hist.evicted == 1
    # a single step bigger than the budget is still kept (never evict the newest)
    assert hist.push(_mask_edit(20, "huge")) == 3
    assert [e.label for e in hist.edits] == ["huge"]
    assert hist.total_bytes == 800
    assert hist.undo().label == "huge" and not hist.can_undo()


def test_set_budget_evicts_only_applied_steps():
    hist = History(budget_bytes=10_000)
    for i in range(5):
        hist.push(_mask_edit(4, str(i)))
    hist.undo()
    hist.undo()  # index 3: steps 3 and 4 are redo steps
    assert hist.set_budget(40) == 3  # only the 3 applied ones may go
    assert [e.label for e in hist.edits] == ["3", "4"]
    assert hist.index == 0 and hist.can_redo()


@pytest.mark.parametrize(
    ("sizes", "budget", "cap", "expected"),
    [
        ([], 10, None, 0),
        ([50], 10, None, 0),
        ([5, 5, 5], 15, None, 0),
        ([5, 5, 5], 14, None, 1),
        ([5, 5, 20], 14, None, 2),
        ([5, 5, 20], 14, 1, 1),
    ],
)
def test_evict_count(sizes, budget, cap, expected):
    assert evict_count(sizes, budget, cap) == expected


def test_from_edits_restores_index_and_bytes_without_evicting():
    edits = [_mask_edit(4, str(i)) for i in range(4)]
    hist = History.from_edits(edits, 3, budget_bytes=1)  # over budget: nothing dropped yet
    assert hist.index == 3 and len(hist) == 4 and hist.total_bytes == 4 * 32
    assert hist.redo().label == "3" and not hist.can_redo()
    assert hist.undo().label == "3"
    with pytest.raises(ValueError):
        History.from_edits(edits, 5)
