"""Grow or shrink a mask by whole pixels, on the mask's bounding box only (no Qt, no torch).

Scanned damage rarely ends where a tight mask does: dust and scratches carry a light halo and,
in JPEG files, ringing and bled colour a few px beyond their edge. A fill computed from those
pixels inherits them (a pale disc where a dust speck was); growing the mask by 1-2 px takes
them out of the fill's rim (benchmarks/study_mask_fringe.py).
"""

from __future__ import annotations

import cv2
import numpy as np

from inpaint_studio.core.geometry import Rect

MAX_STEP = 100  # px per grow/shrink
EDITOR_STEP = 1  # px per Grow / Shrink mask in the editor


def _disc(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def grown_mask(mask: np.ndarray, pixels: int) -> tuple[Rect, np.ndarray] | None:
    """(H,W) uint8 mask {0,255}, grow by `pixels` (> 0) or shrink (< 0) with a disc ->
    (rect, new (h,w) {0,255} patch for rect), or None when nothing would change. The image
    border counts as outside when growing and does not eat into the mask when shrinking."""
    if not -MAX_STEP <= pixels <= MAX_STEP:
        raise ValueError(f"grow by at most {MAX_STEP} px at a time, got {pixels}")
    h, w = mask.shape
    box = Rect.of_mask(mask)
    if pixels == 0 or box.is_empty():
        return None
    r = abs(pixels)
    rect = box.expand(r if pixels > 0 else 0).clip(w, h)
    read = rect.expand(r).clip(w, h)  # enough neighbours for every pixel of rect
    src = mask[read.slices]
    op = cv2.dilate if pixels > 0 else cv2.erode
    out = op(src, _disc(r), borderType=cv2.BORDER_CONSTANT, borderValue=0 if pixels > 0 else 255)
    patch = np.ascontiguousarray(out[rect.relative_to(read).slices])
    if np.array_equal(patch, mask[rect.slices]):
        return None
    return rect, patch


def grow_mask(mask: np.ndarray, pixels: int) -> np.ndarray:
    """(H,W) uint8 mask {0,255} grown (pixels > 0) or shrunk (< 0) by |pixels| px: a new array
    (`grown_mask` applied to a copy)."""
    out = mask.copy()
    change = grown_mask(mask, pixels)
    if change is not None:
        rect, patch = change
        out[rect.slices] = patch
    return out
