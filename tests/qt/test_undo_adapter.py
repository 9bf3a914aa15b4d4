"""BudgetUndoStack: QUndoStack adapter over core Edits, byte-budget eviction, QUndoView jumps."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QUndoView

from inpaint_studio.core.document import Document
from inpaint_studio.core.geometry import Rect
from inpaint_studio.core.history import Edit
from inpaint_studio.qt.undo import BudgetUndoStack, EditCommand


def _doc() -> Document:
    rng = np.random.default_rng(3)
    return Document(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8))


def _image_edit(doc: Document, i: int, side: int = 4) -> Edit:
    """side x side image patch at a position depending on i: 2 * side*side*3 bytes."""
    rect = Rect((i * 3) % (doc.width - side), (i * 5) % (doc.height - side), side, side)
    patch = np.full((side, side, 3), (i * 37) % 256, np.uint8)
    return Edit.capture(f"edit {i}", doc, rect, new_image_patch=patch)


@pytest.fixture
def stack(qapp):
    s = BudgetUndoStack()
    s.reset(_doc())
    return s


def test_push_applies_and_undo_redo_bit_exact(stack):
    doc = stack.document
    states = [doc.image.copy()]
    changed: list[Rect] = []
    stack.region_changed.connect(lambda rect, _img, _msk: changed.append(rect))
    for i in range(6):
        edit = _image_edit(doc, i)
        command = stack.push_edit(edit)  # not applied yet: push() -> redo() applies it
        assert isinstance(command, EditCommand) and changed[-1] == edit.rect
        states.append(doc.image.copy())
    assert stack.count() == 6 and stack.index() == 6 and stack.text(0) == "edit 0"
    for k in range(6, 0, -1):
        stack.undo()
        assert np.array_equal(doc.image, states[k - 1])
    for k in range(1, 7):
        stack.redo()
        assert np.array_equal(doc.image, states[k])
    assert stack.total_bytes == 6 * 2 * 4 * 4 * 3


def test_push_after_undo_drops_redo_branch_and_bytes(stack):
    doc = stack.document
    for i in range(4):
        stack.push_edit(_image_edit(doc, i))
    stack.undo()
    stack.undo()
    stack.push_edit(_image_edit(doc, 10, side=2))
    assert stack.count() == 3
    assert [e.label for e in stack.edits()] == ["edit 0", "edit 1", "edit 10"]
    assert stack.total_bytes == 2 * 96 + 2 * 2 * 2 * 3


def test_byte_budget_evicts_oldest_keeps_newest_and_state(stack):
    doc = stack.document
    start = doc.image.copy()
    stack.set_budget_bytes(3 * 96)  # room for three 96-byte edits
    evicted: list[int] = []
    stack.steps_evicted.connect(evicted.append)
    states = [start]
    for i in range(5):
        stack.push_edit(_image_edit(doc, i))
        states.append(doc.image.copy())
    assert stack.count() == 3 and stack.index() == 3 and sum(evicted) == 2
    assert [stack.text(i) for i in range(3)] == ["edit 2", "edit 3", "edit 4"]
    assert stack.total_bytes == 3 * 96 and stack.evicted == 2
    assert np.array_equal(doc.image, states[5])  # eviction did not touch the document
    while stack.canUndo():
        stack.undo()
    assert np.array_equal(doc.image, states[2])  # oldest kept state
    assert not stack.isClean()  # the opened (clean) state was evicted
    while stack.canRedo():
        stack.redo()
    assert np.array_equal(doc.image, states[5])
    # one step larger than the whole budget is still kept
    big = Edit.capture(
        "big", doc, Rect(0, 0, 20, 20), new_image_patch=np.zeros((20, 20, 3), np.uint8)
    )
    stack.push_edit(big)
    assert stack.count() == 1 and stack.text(0) == "big"
    stack.undo()
    assert np.array_equal(doc.image, states[5])


def test_eviction_keeps_clean_index(stack):
    doc = stack.document
    stack.set_budget_bytes(3 * 96)
    for i in range(2):
        stack.push_edit(_image_edit(doc, i))
    stack.setClean()  # saved after two steps
    saved = doc.image.copy()
    for i in range(2, 4):
        stack.push_edit(_image_edit(doc, i))
    # 4 steps > budget: the first went, the saved state is now index 1
    assert stack.count() == 3 and stack.cleanIndex() == 1 and not stack.isClean()
    stack.undo()
    stack.undo()
    assert stack.isClean() and np.array_equal(doc.image, saved)


def test_lowering_budget_never_evicts_redo_steps(stack):
    doc = stack.document
    for i in range(4):
        stack.push_edit(_image_edit(doc, i))
    stack.undo()
    stack.undo()
    before = doc.image.copy()
    stack.set_budget_bytes(1)
    assert stack.count() == 2 and stack.index() == 0  # two applied steps dropped
    assert np.array_equal(doc.image, before)
    stack.redo()
    stack.redo()
    assert stack.index() == 2 and not stack.canRedo()


def test_undo_view_click_jumps_to_step(qtbot, stack):
    doc = stack.document
    start = doc.image.copy()
    states = [start]
    for i in range(5):
        stack.push_edit(_image_edit(doc, i))
        states.append(doc.image.copy())
    view = QUndoView(stack)
    qtbot.addWidget(view)
    view.show()
    model = view.model()
    assert model.rowCount() == 6  # "empty" row + 5 steps
    view.setCurrentIndex(model.index(2, 0))  # what a click does
    assert stack.index() == 2 and np.array_equal(doc.image, states[2])
    view.setCurrentIndex(model.index(0, 0))
    assert np.array_equal(doc.image, start)
    view.setCurrentIndex(model.index(5, 0))
    assert np.array_equal(doc.image, states[5])


def test_reset_forgets_everything(stack):
    doc = stack.document
    stack.push_edit(_image_edit(doc, 0))
    other = _doc()
    stack.reset(other)
    assert stack.count() == 0 and stack.total_bytes == 0 and stack.isClean()
    assert stack.document is other
    stack.reset(None)
    with pytest.raises(RuntimeError):
        stack.push_edit(_image_edit(other, 1))


def test_load_history_rebuilds_steps_without_touching_the_document(stack):
    doc = stack.document
    start = doc.image.copy()
    edits = []
    for i in range(4):
        edit = _image_edit(doc, i)
        doc.apply(edit)
        edits.append(edit)
    doc.revert(edits[3])  # the document is at step 3 of 4
    at_three = doc.image.copy()
    stack.reset(doc)
    stack.load_history(edits, 3, clean_index=-1, evicted=2)
    assert np.array_equal(doc.image, at_three)  # rebuilding applied nothing
    assert stack.count() == 4 and stack.index() == 3 and not stack.isClean()
    assert stack.evicted == 2 and stack.total_bytes == 4 * 96
    stack.redo()
    while stack.canUndo():
        stack.undo()
    assert np.array_equal(doc.image, start)
    stack.load_history(edits, 0, clean_index=0)
    assert stack.isClean() and stack.index() == 0
    stack.set_budget_bytes(96)
    stack.load_history(edits, 4, clean_index=4)  # the budget applies as after a push
    assert stack.count() == 1 and stack.isClean() and stack.text(0) == "edit 3"
    with pytest.raises(ValueError):
        stack.load_history(edits, 9)
