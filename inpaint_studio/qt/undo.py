"""QUndoStack adapter over core `Edit`s with a byte budget.

`EditCommand` wraps one immutable `core.history.Edit`: redo() = `Document.apply`, undo() =
`Document.revert`, then the stack emits `region_changed(rect, image_changed, mask_changed)` so the
canvas repaints just that rectangle. `QUndoStack.push()` calls redo() on a command the canvas has
already applied live (a brush stroke): that is harmless because applying an edit is idempotent.

Byte budget. QUndoStack can cap the number of steps (setUndoLimit) but cannot drop its oldest
command, and a step count says nothing about memory. `BudgetUndoStack` therefore keeps, next to
the commands, a list of their `Edit`s and a running total of `Edit.nbytes`. After each push (and
when the budget changes) it asks `core.history.evict_count` -- the same rule `core.History` uses:
drop the oldest *applied* steps until the total fits, never the newest -- and, if steps must go,
rebuilds the stack: `clear()` (which neither undoes nor redoes anything), then re-push commands
for the kept edits with `replaying` set, so their redo()/undo() do not touch the document, then
restore the index and the clean index (or `resetClean()` when the saved state was evicted).
Commands are thin wrappers around shared immutable edits, so the rebuild costs O(steps), no
pixel copies. QUndoView works unchanged on this stack: clicking a row calls setIndex(), which
undoes/redoes the commands in between.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from inpaint_studio.core.document import Document
from inpaint_studio.core.history import DEFAULT_BUDGET_BYTES, Edit, evict_count
from inpaint_studio.qt.signals import emit


class EditCommand(QUndoCommand):
    """One undo step applying/reverting a core `Edit` on the stack's Document."""

    def __init__(self, stack: BudgetUndoStack, edit: Edit) -> None:
        super().__init__(edit.label)
        self.edit = edit
        self._stack = stack

    def redo(self) -> None:  # Qt override
        self._stack._run(self.edit, forward=True)

    def undo(self) -> None:  # Qt override
        self._stack._run(self.edit, forward=False)


class BudgetUndoStack(QUndoStack):
    """QUndoStack of EditCommands on one Document, bounded by the bytes its diffs hold."""

    region_changed = Signal(object, bool, bool)  # Rect, image changed, mask changed
    steps_evicted = Signal(int)  # how many oldest steps the budget just dropped

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES, parent=None) -> None:
        super().__init__(parent)
        self._document: Document | None = None
        self._edits: list[Edit] = []  # parallel to the commands 0..count()-1
        self._total = 0
        self._budget = int(budget_bytes)
        self._replaying = False
        self.evicted = 0  # steps dropped by the budget since the last reset

    # --- document -------------------------------------------------------------------------
    @property
    def document(self) -> Document | None:
        return self._document

    def reset(self, document: Document | None) -> None:
        """Forget every step and edit `document` from now on (its current state = clean)."""
        self._replaying = True
        try:
            self.clear()
        finally:
            self._replaying = False
        self._document = document
        self._edits = []
        self._total = 0
        self.evicted = 0
        self.setClean()

    def _run(self, edit: Edit, forward: bool) -> None:
        if self._replaying or self._document is None:
            return  # the document already is in this state (stack rebuild)
        doc = self._document
        rect = doc.apply(edit) if forward else doc.revert(edit)
        emit(self.region_changed, rect, edit.changes_image, edit.changes_mask)

    # --- pushing with a budget ------------------------------------------------------------
    def push_edit(self, edit: Edit) -> EditCommand:
        """Push (and apply, idempotently) one Edit as one undo step; evicts oldest past budget."""
        if self._document is None:
            raise RuntimeError("no document to edit")
        redo_branch = self._edits[self.index() :]  # QUndoStack.push drops it too
        self._total -= sum(e.nbytes for e in redo_branch)
        del self._edits[self.index() :]
        self._edits.append(edit)
        self._total += edit.nbytes
        command = EditCommand(self, edit)
        self.push(command)
        self._evict()
        return command

    @property
    def total_bytes(self) -> int:
        """Bytes held by the diffs of every step on the stack (undo and redo side)."""
        return self._total

    @property
    def budget_bytes(self) -> int:
        return self._budget

    def set_budget_bytes(self, budget_bytes: int) -> None:
        """Change the byte budget; evicts the oldest applied steps if now over it."""
        self._budget = int(budget_bytes)
        self._evict()

    def edits(self) -> list[Edit]:
        """The Edits on the stack, oldest first (index() of them are applied)."""
        return list(self._edits)

    def load_history(
        self, edits: Sequence[Edit], index: int, clean_index: int = -1, evicted: int = 0
    ) -> None:
        """Replace every step with `edits` already made on the document (reopened project):
        the document is in the state after the first `index`; `clean_index` -1 = never saved.
        Nothing is applied or reverted; the byte budget then applies as after a push."""
        if not 0 <= index <= len(edits):
            raise ValueError(f"history index {index} is outside 0..{len(edits)}")
        self._rebuild(list(edits), index, clean_index if 0 <= clean_index <= len(edits) else -1)
        self.evicted = max(0, int(evicted))
        self._evict()

    def _rebuild(self, edits: list[Edit], index: int, clean: int) -> None:
        """clear() and re-push commands for `edits` without touching the document."""
        self._replaying = True
        try:
            self.clear()
            self._edits = list(edits)
            for edit in edits:
                self.push(EditCommand(self, edit))
            if clean >= 0:
                self.setIndex(clean)
                self.setClean()
            else:
                self.resetClean()
            self.setIndex(index)
        finally:
            self._replaying = False
        self._total = sum(e.nbytes for e in edits)

    def _evict(self) -> None:
        sizes = [e.nbytes for e in self._edits]
        n = evict_count(sizes, self._budget, max_evict=self.index())
        if n == 0:
            return
        clean = self.cleanIndex()
        self._rebuild(self._edits[n:], self.index() - n, clean - n if clean >= n else -1)
        self.evicted += n
        emit(self.steps_evicted, n)
