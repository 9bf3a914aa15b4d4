"""Rasterise brush strokes into a mask, touching only the stroke's bounding box (no Qt).

`paint_stroke` draws round dabs at each point joined by thick lines (no antialiasing, values
exactly 0/255) on a copy of the sub-rectangle the stroke covers, then writes it back: the cost is
proportional to the stroke, not to the (possibly 24 MP) mask. `StrokeRecorder` collects one
press -> release gesture, saving the *before* pixels of every tile it touches, and turns it into a
single `Edit` at the end. Points are (x, y) floats in pixel-index coordinates: (0, 0) is the
centre of the top-left pixel, so a canvas position p maps to p - 0.5.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import cv2
import numpy as np

from inpaint_studio.core.geometry import Rect
from inpaint_studio.core.history import Edit

MIN_RADIUS = 0.5
MAX_BRUSH_SIZE = 500  # diameter in image pixels
_SHIFT = 4  # cv2 fixed-point bits for sub-pixel centres
_ONE = 1 << _SHIFT

Point = tuple[float, float]


def stroke_bounds(points: Sequence[Point], radius: float, width: int, height: int) -> Rect:
    """Bounding Rect (clipped to width x height) of dabs of `radius` px at `points`."""
    if not points:
        return Rect(0, 0, 0, 0)
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    r = max(radius, MIN_RADIUS) + 1
    x0, y0 = math.floor(min(xs) - r), math.floor(min(ys) - r)
    x1, y1 = math.ceil(max(xs) + r) + 1, math.ceil(max(ys) + r) + 1
    return Rect(x0, y0, x1 - x0, y1 - y0).clip(width, height)


def paint_stroke(
    mask: np.ndarray, points: Sequence[Point], radius: float, erase: bool = False
) -> Rect:
    """Draw into (H,W) uint8 `mask` in place: 255 (paint) or 0 (erase); returns the dirty Rect."""
    if mask.dtype != np.uint8 or mask.ndim != 2:
        raise ValueError(f"mask must be (H, W) uint8, got {mask.dtype} {mask.shape}")
    h, w = mask.shape
    rect = stroke_bounds(points, radius, w, h)
    if rect.is_empty():
        return rect
    value = 0 if erase else 255
    sub = mask[rect.slices].copy()  # cv2 needs a contiguous buffer; copy only the stroke's box
    r_fixed = max(1, round(max(radius, MIN_RADIUS) * _ONE))
    thickness = max(1, round(2 * max(radius, MIN_RADIUS)))
    fixed = [(round((x - rect.x) * _ONE), round((y - rect.y) * _ONE)) for x, y in points]
    for c in fixed:
        cv2.circle(sub, c, r_fixed, value, thickness=-1, lineType=cv2.LINE_8, shift=_SHIFT)
    for a, b in zip(fixed[:-1], fixed[1:], strict=True):
        if a != b:
            cv2.line(sub, a, b, value, thickness=thickness, lineType=cv2.LINE_8, shift=_SHIFT)
    mask[rect.slices] = sub
    return rect


class StrokeRecorder:
    """One press -> release gesture on a live (H,W) uint8 mask, undoable as one `Edit`."""

    TILE = 64

    def __init__(self, mask: np.ndarray, radius: float, erase: bool = False) -> None:
        self.mask = mask
        self.radius = float(radius)
        self.erase = erase
        self.rect = Rect(0, 0, 0, 0)  # union of everything drawn so far
        self._last: Point | None = None
        self._tiles: dict[tuple[int, int], np.ndarray] = {}  # (ty, tx) -> before pixels

    def add_point(self, x: float, y: float) -> Rect:
        """Extend the stroke to image point (x, y); draws live and returns the dirty Rect."""
        pts = [(x, y)] if self._last is None else [self._last, (x, y)]
        self._last = (x, y)
        h, w = self.mask.shape
        dirty = stroke_bounds(pts, self.radius, w, h)
        if dirty.is_empty():
            return dirty
        self._save_tiles(dirty)
        paint_stroke(self.mask, pts, self.radius, self.erase)
        self.rect = self.rect.union(dirty)
        return dirty

    def _tile_keys(self, rect: Rect) -> Iterable[tuple[int, int]]:
        t = self.TILE
        for ty in range(rect.y // t, (rect.y2 - 1) // t + 1):
            for tx in range(rect.x // t, (rect.x2 - 1) // t + 1):
                yield ty, tx

    def _save_tiles(self, rect: Rect) -> None:
        t = self.TILE
        for key in self._tile_keys(rect):
            if key not in self._tiles:
                ty, tx = key
                self._tiles[key] = self.mask[ty * t : (ty + 1) * t, tx * t : (tx + 1) * t].copy()

    def finish(self, label: str) -> Edit | None:
        """The gesture as one mask-only Edit over its bbox (None if nothing changed)."""
        rect = self.rect
        if rect.is_empty():
            return None
        after = self.mask[rect.slices].copy()
        before = after.copy()
        t = self.TILE
        for ty, tx in self._tile_keys(rect):
            tile = self._tiles.get((ty, tx))
            if tile is None:
                continue
            tile_rect = Rect(tx * t, ty * t, tile.shape[1], tile.shape[0])
            part = tile_rect.intersect(rect)
            if part.is_empty():
                continue
            src = tile[part.y - tile_rect.y : part.y2 - tile_rect.y,
                       part.x - tile_rect.x : part.x2 - tile_rect.x]  # fmt: skip
            before[part.y - rect.y : part.y2 - rect.y, part.x - rect.x : part.x2 - rect.x] = src
        self._tiles.clear()
        changed = Rect.of_mask(before != after)  # keep only what really changed
        if changed.is_empty():
            return None
        return Edit(
            label,
            Rect(rect.x + changed.x, rect.y + changed.y, changed.w, changed.h),
            mask_before=before[changed.slices],
            mask_after=after[changed.slices],
        )
