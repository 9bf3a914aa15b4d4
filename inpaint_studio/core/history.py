"""Undo steps as bounding-box diffs, and a byte-budgeted undo/redo history (no Qt, no torch).

An `Edit` stores only the rectangle that changed plus the image and/or mask pixels before and
after, never a full image copy. `History` keeps a list of edits and a cursor; when the bytes held
in diffs exceed the budget it drops the *oldest* steps (never the newest one). The eviction rule
lives in `evict_count` so the Qt adapter (`qt/undo.py`) applies exactly the same policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from inpaint_studio.core.geometry import Rect

if TYPE_CHECKING:  # pragma: no cover
    from inpaint_studio.core.document import Document

DEFAULT_BUDGET_BYTES = 512 * 2**20


def _frozen(array: np.ndarray | None, shape: tuple[int, ...], what: str) -> np.ndarray | None:
    if array is None:
        return None
    if array.dtype != np.uint8 or array.shape != shape:
        raise ValueError(f"{what}: expected uint8 {shape}, got {array.dtype} {array.shape}")
    if not array.flags.writeable and array.flags.c_contiguous:
        return array  # already frozen (e.g. shared between an Edit and its copy)
    out = np.array(array, order="C", copy=True)
    out.setflags(write=False)
    return out


@dataclass(frozen=True)
class Edit:
    """One undo step: `rect` plus (h,w,3)/(h,w) uint8 before/after patches (None = unchanged)."""

    label: str
    rect: Rect
    image_before: np.ndarray | None = None
    image_after: np.ndarray | None = None
    mask_before: np.ndarray | None = None
    mask_after: np.ndarray | None = None
    nbytes: int = field(default=-1, compare=False)

    def __post_init__(self) -> None:
        if self.rect.w < 0 or self.rect.h < 0:
            raise ValueError(f"negative rect size: {self.rect}")
        h, w = self.rect.h, self.rect.w
        if (self.image_before is None) != (self.image_after is None):
            raise ValueError("image_before and image_after must both be set or both be None")
        if (self.mask_before is None) != (self.mask_after is None):
            raise ValueError("mask_before and mask_after must both be set or both be None")
        for name, shape in (
            ("image_before", (h, w, 3)),
            ("image_after", (h, w, 3)),
            ("mask_before", (h, w)),
            ("mask_after", (h, w)),
        ):
            object.__setattr__(self, name, _frozen(getattr(self, name), shape, name))
        if self.nbytes < 0:
            total = sum(
                a.nbytes
                for a in (self.image_before, self.image_after, self.mask_before, self.mask_after)
                if a is not None
            )
            object.__setattr__(self, "nbytes", int(total))

    @property
    def changes_image(self) -> bool:
        return self.image_after is not None

    @property
    def changes_mask(self) -> bool:
        return self.mask_after is not None

    @classmethod
    def capture(
        cls,
        label: str,
        doc: Document,
        rect: Rect,
        new_image_patch: np.ndarray | None = None,
        new_mask_patch: np.ndarray | None = None,
    ) -> Edit:
        """Edit from doc's current pixels in `rect` (before) to the given (h,w,3)/(h,w) patches."""
        if rect.clip(doc.width, doc.height) != rect:
            raise ValueError(f"rect {rect} is outside the {doc.width}x{doc.height} document")
        image_before = doc.image_copy(rect) if new_image_patch is not None else None
        mask_before = doc.mask_copy(rect) if new_mask_patch is not None else None
        for fresh in (image_before, mask_before):
            if fresh is not None:
                fresh.setflags(write=False)  # a private copy: freeze it instead of copying again
        return cls(
            label,
            rect,
            image_before=image_before,
            image_after=new_image_patch,
            mask_before=mask_before,
            mask_after=new_mask_patch,
        )


def evict_count(sizes: Sequence[int], budget_bytes: int, max_evict: int | None = None) -> int:
    """How many oldest steps to drop so sum(sizes) <= budget; never drops the newest step."""
    limit = len(sizes) - 1 if max_evict is None else min(max_evict, len(sizes) - 1)
    total = sum(sizes)
    n = 0
    while n < limit and total > budget_bytes:
        total -= sizes[n]
        n += 1
    return n


class History:
    """Linear undo/redo list of `Edit`s bounded by the bytes their diffs hold."""

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self._edits: list[Edit] = []
        self._index = 0  # number of edits currently applied
        self._total = 0
        self._budget = int(budget_bytes)
        self.evicted = 0  # steps dropped by the budget since creation / clear()

    @classmethod
    def from_edits(
        cls, edits: Sequence[Edit], index: int, budget_bytes: int = DEFAULT_BUDGET_BYTES
    ) -> History:
        """History of `edits` (oldest first) whose first `index` are applied; evicts nothing."""
        if not 0 <= index <= len(edits):
            raise ValueError(f"index {index} is outside 0..{len(edits)}")
        history = cls(budget_bytes)
        history._edits = list(edits)
        history._index = int(index)
        history._total = sum(e.nbytes for e in edits)
        return history

    @property
    def budget_bytes(self) -> int:
        return self._budget

    def set_budget(self, budget_bytes: int) -> int:
        """Change the byte budget; returns how many oldest (applied) steps were dropped."""
        self._budget = int(budget_bytes)
        return self._evict()

    def push(self, edit: Edit) -> int:
        """Add an already-applied edit, drop the redo branch; returns how many steps got evicted."""
        for dropped in self._edits[self._index :]:
            self._total -= dropped.nbytes
        del self._edits[self._index :]
        self._edits.append(edit)
        self._total += edit.nbytes
        self._index = len(self._edits)
        return self._evict()

    def _evict(self) -> int:
        n = evict_count([e.nbytes for e in self._edits], self._budget, max_evict=self._index)
        if n:
            self._total -= sum(e.nbytes for e in self._edits[:n])
            del self._edits[:n]
            self._index -= n
            self.evicted += n
        return n

    def undo(self) -> Edit | None:
        """Step back: the edit the caller must revert, or None at the start."""
        if not self.can_undo():
            return None
        self._index -= 1
        return self._edits[self._index]

    def redo(self) -> Edit | None:
        """Step forward: the edit the caller must apply, or None at the end."""
        if not self.can_redo():
            return None
        self._index += 1
        return self._edits[self._index - 1]

    def can_undo(self) -> bool:
        return self._index > 0

    def can_redo(self) -> bool:
        return self._index < len(self._edits)

    @property
    def index(self) -> int:
        """Number of edits currently applied (0 = initial state)."""
        return self._index

    @property
    def edits(self) -> tuple[Edit, ...]:
        return tuple(self._edits)

    def __len__(self) -> int:
        return len(self._edits)

    @property
    def total_bytes(self) -> int:
        return self._total

    def clear(self) -> None:
        self._edits.clear()
        self._index = 0
        self._total = 0
        self.evicted = 0
