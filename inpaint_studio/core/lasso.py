"""Freehand outlines (the lasso) filled into a mask as one undoable Edit (no Qt)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from inpaint_studio.core.geometry import Rect
from inpaint_studio.core.history import Edit

_SHIFT = 4  # cv2 fixed-point bits for sub-pixel vertices


def lasso_edit(
    mask: np.ndarray, points: Sequence[tuple[float, float]], erase: bool = False
) -> Edit | None:
    """The Edit filling the closed outline through `points` in (H, W) uint8 `mask`: 255, or 0
    when `erase`. Points are (x, y) image coordinates (pixel centres at integers; they may lie
    outside the image, the fill is clipped). The mask is not changed here; None with fewer
    than three points or when the fill changes nothing."""
    if mask.dtype != np.uint8 or mask.ndim != 2:
        raise ValueError(f"mask must be (H, W) uint8, got {mask.dtype} {mask.shape}")
    if len(points) < 3:
        return None
    h, w = mask.shape
    xy = np.asarray(points, dtype=np.float64)
    x0, y0 = math.floor(xy[:, 0].min()), math.floor(xy[:, 1].min())
    x1, y1 = math.ceil(xy[:, 0].max()) + 1, math.ceil(xy[:, 1].max()) + 1
    rect = Rect(x0, y0, x1 - x0, y1 - y0).clip(w, h)
    if rect.is_empty():
        return None
    before = mask[rect.slices].copy()
    after = before.copy()
    fixed = np.round((xy - (rect.x, rect.y)) * (1 << _SHIFT)).astype(np.int32)
    cv2.fillPoly(after, [fixed], 0 if erase else 255, lineType=cv2.LINE_8, shift=_SHIFT)
    changed = Rect.of_mask(before != after)
    if changed.is_empty():
        return None
    return Edit(
        "Lasso erase" if erase else "Lasso",
        Rect(rect.x + changed.x, rect.y + changed.y, changed.w, changed.h),
        mask_before=before[changed.slices],
        mask_after=after[changed.slices],
    )
