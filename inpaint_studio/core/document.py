"""The edited photo: image + alpha + mask + source metadata, changed only through `Edit`s."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from inpaint_studio.core.geometry import Rect
from inpaint_studio.core.history import Edit
from inpaint_studio.core.maskops import grown_mask

if TYPE_CHECKING:  # pragma: no cover
    from inpaint_studio.core.imageio import LoadedImage


class Document:
    """(H,W,3) uint8 RGB image, (H,W) uint8 alpha or None, (H,W) uint8 mask in {0, 255}."""

    def __init__(
        self,
        image: np.ndarray,
        *,
        alpha: np.ndarray | None = None,
        mask: np.ndarray | None = None,
        original: LoadedImage | None = None,
        path: str | Path | None = None,
        source_bytes: bytes | None = None,
    ) -> None:
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"image must be (H, W, 3) uint8, got {image.dtype} {image.shape}")
        h, w = image.shape[:2]
        if alpha is not None and (alpha.dtype != np.uint8 or alpha.shape != (h, w)):
            raise ValueError(f"alpha must be ({h}, {w}) uint8, got {alpha.dtype} {alpha.shape}")
        self.image = np.array(image, order="C", copy=True)
        self.alpha = None if alpha is None else np.array(alpha, order="C", copy=True)
        if mask is None:
            self.mask = np.zeros((h, w), np.uint8)
        else:
            if mask.shape != (h, w):
                raise ValueError(f"mask must be ({h}, {w}), got {mask.shape}")
            self.mask = np.where(mask >= 128, 255, 0).astype(np.uint8)
        self.original = original
        self.path = Path(path) if path is not None else None
        self.source_bytes = source_bytes  # the opened file, unchanged (kept in project files)
        self.revision = 0  # bumped by every apply/revert that changes something
        self._saved_revision = 0

    @classmethod
    def from_loaded(cls, loaded: LoadedImage, source_bytes: bytes | None = None) -> Document:
        """Document for a `core.imageio.LoadedImage` (kept as `original` for metadata) and the
        file's raw bytes if the caller read them."""
        return cls(
            loaded.pixels,
            alpha=loaded.alpha,
            original=loaded,
            path=loaded.source_path,
            source_bytes=source_bytes,
        )

    # --- geometry -------------------------------------------------------------------------
    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def bounds(self) -> Rect:
        return Rect(0, 0, self.width, self.height)

    # --- dirty state ----------------------------------------------------------------------
    @property
    def dirty(self) -> bool:
        """True when the document changed since creation or the last `mark_saved()`."""
        return self.revision != self._saved_revision

    def mark_saved(self, path: str | Path | None = None, revision: int | None = None) -> None:
        """The document as of `revision` (default: now) is what `path` holds."""
        if path is not None:
            self.path = Path(path)
        self._saved_revision = self.revision if revision is None else revision

    # --- frozen copies for the worker / undo ----------------------------------------------
    def image_copy(self, rect: Rect | None = None) -> np.ndarray:
        """C-contiguous (h,w,3) uint8 copy of the image inside `rect` (whole image if None)."""
        rect = self._check(rect or self.bounds)
        return self.image[rect.slices].copy()

    def mask_copy(self, rect: Rect | None = None) -> np.ndarray:
        """C-contiguous (h,w) uint8 {0,255} copy of the mask inside `rect` (whole if None)."""
        rect = self._check(rect or self.bounds)
        return self.mask[rect.slices].copy()

    def mask_rect(self) -> Rect:
        """Bounding box of the painted mask (empty Rect when nothing is painted)."""
        return Rect.of_mask(self.mask)

    def _check(self, rect: Rect) -> Rect:
        if rect.clip(self.width, self.height) != rect:
            raise ValueError(f"rect {rect} is outside the {self.width}x{self.height} document")
        return rect

    # --- applying edits -------------------------------------------------------------------
    def apply(self, edit: Edit) -> Rect:
        """Write the edit's *after* patches; idempotent; returns the changed Rect."""
        return self._write(edit, edit.image_after, edit.mask_after)

    def revert(self, edit: Edit) -> Rect:
        """Write the edit's *before* patches; idempotent; returns the changed Rect."""
        return self._write(edit, edit.image_before, edit.mask_before)

    def _write(self, edit: Edit, image: np.ndarray | None, mask: np.ndarray | None) -> Rect:
        rect = self._check(edit.rect)
        if rect.is_empty():
            return rect
        if image is not None:
            self.image[rect.slices] = image
        if mask is not None:
            self.mask[rect.slices] = mask
        self.revision += 1
        return rect

    # --- edit builders (the document is not changed until the edit is applied) -----------
    def clear_mask_edit(self, label: str = "Clear mask") -> Edit | None:
        """Edit that sets the whole mask to 0, or None if the mask is already empty."""
        rect = self.mask_rect()
        if rect.is_empty():
            return None
        return Edit.capture(label, self, rect, new_mask_patch=np.zeros((rect.h, rect.w), np.uint8))

    def mask_union_edit(self, mask: np.ndarray, label: str = "Load mask") -> Edit | None:
        """Edit adding (H,W) uint8 `mask` (non-zero = fill) to the mask; None if nothing new."""
        if mask.shape != self.mask.shape:
            raise ValueError(f"mask shape {mask.shape} != document {self.mask.shape}")
        rect = Rect.of_mask(mask)
        if rect.is_empty():
            return None
        before = self.mask[rect.y : rect.y2, rect.x : rect.x2]
        added = mask[rect.y : rect.y2, rect.x : rect.x2] != 0
        if not (added & (before == 0)).any():
            return None
        after = np.where(added, np.uint8(255), before).astype(np.uint8)
        return Edit.capture(label, self, rect, new_mask_patch=after)

    def mask_intersect_edit(
        self, origin: Rect, keep: np.ndarray, label: str = "Keep part of mask"
    ) -> Edit | None:
        """Edit keeping the painted mask only where the (h,w) `keep` (at `origin`, covering
        the whole painted mask) is non-zero; None if nothing is painted or nothing changes."""
        origin = self._check(origin)
        if keep.shape != (origin.h, origin.w):
            raise ValueError(f"keep shape {keep.shape} != origin {origin.h}x{origin.w}")
        rect = self.mask_rect()
        if rect.is_empty():
            return None
        if rect.intersect(origin) != rect:
            raise ValueError(f"keep at {origin} does not cover the painted mask {rect}")
        before = self.mask[rect.slices]
        kept = keep[rect.relative_to(origin).slices] != 0
        if not (before[~kept] != 0).any():
            return None
        after = np.where(kept, before, np.uint8(0)).astype(np.uint8)
        return Edit.capture(label, self, rect, new_mask_patch=after)

    def grow_mask_edit(self, pixels: int, label: str | None = None) -> Edit | None:
        """Edit growing (pixels > 0) or shrinking (< 0) the mask by a disc of |pixels| px;
        diff covers the changed bbox only; None if nothing changes (`core.maskops`)."""
        change = grown_mask(self.mask, pixels)
        if change is None:
            return None
        rect, patch = change
        if label is None:
            label = f"{'Grow' if pixels > 0 else 'Shrink'} mask {abs(pixels)} px"
        return Edit.capture(label, self, rect, new_mask_patch=patch)

    def fill_edit(
        self, origin: Rect, fill_mask: np.ndarray, filled: np.ndarray, label: str
    ) -> Edit | None:
        """Edit pasting (h,w,3) uint8 `filled` only where the (h,w) `fill_mask` != 0 (crop at
        `origin`), and clearing those mask pixels; diff covers the hole's bbox only."""
        origin = self._check(origin)
        if filled.shape != (origin.h, origin.w, 3) or fill_mask.shape != (origin.h, origin.w):
            raise ValueError(
                f"fill of {filled.shape} / mask {fill_mask.shape} does not match {origin}"
            )
        local = Rect.of_mask(fill_mask)
        if local.is_empty():
            return None
        hole = Rect(origin.x + local.x, origin.y + local.y, local.w, local.h)
        sel = fill_mask[local.slices] != 0
        image_after = self.image_copy(hole)
        image_after[sel] = filled[local.slices][sel]
        mask_after = self.mask_copy(hole)
        mask_after[sel] = 0
        return Edit.capture(
            label, self, hole, new_image_patch=image_after, new_mask_patch=mask_after
        )
