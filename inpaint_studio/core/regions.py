"""Region planning: split a mask into context windows, run an inpainter on each, paste back.

Strategies and when they scale (``working_size`` comes from the backend's ``BackendInfo``):

- ``"crop"`` (default): one region per group of nearby holes. Each connected component of
  the mask (8-connectivity) gets a context window = its bounding box grown on every side
  by ``max(min_margin, ceil(margin_ratio * max(bbox w, bbox h) / 2))`` px, so with the
  default ``margin_ratio=1.0`` the window side is about twice the hole side (the hole fills
  about a quarter of the window) and never less than ``hole + 2 * min_margin``. Windows are
  rounded up to ``pad_multiple``, shifted inward (not clipped) at image borders so they keep
  their size, and windows that overlap are merged into one region. Trigger: a window whose
  longest side is greater than ``working_size`` is downscaled to ``scaled_size`` (default
  and upper bound: ``working_size``); with ``working_size=None`` windows run at full
  resolution. Exception, thin damage: holes are not handed to the model narrower than
  ``min_hole_width`` model px (default 20; width = twice the largest inscribed radius) unless
  they are that thin at full resolution. A region whose downscale would make its holes
  narrower is filled in tiles at the scale ``min(1, min_hole_width / width)`` instead: grid
  cells over the holes, each cell's hole bbox read with a margin of ``max(min_margin,
  margin_ratio * width)`` model px in a window of at most ``working_size`` model px, one
  after another, each seeing the earlier fills as known context (at most ``max_tiles``
  tiles: more halve the tiles' scale, down to the plain downscale).
- ``"resize"``: one region = the whole image. Trigger: downscaled so its longest side is
  ``working_size`` when the image's longest side is greater than ``working_size``.
- ``"whole"``: one region = the whole image at full resolution.

Every strategy also obeys ``max_crop_pixels`` (default 4096 * 4096, about 16.8 MP): a
region whose model input would have more pixels is downscaled further, so memory stays
bounded even for a 100 MP photo with a quarter of it masked.

Downscaling: area averaging, except that cells next to a hole average their known pixels
only (no damage colour in the context the model reads), and a cell is a hole for the model
when less than ``KNOWN_FRACTION`` (half) of its pixels are known, so the model sees the rim
up to the hole's edge (docs/benchmarks.md section 10).

Paste-back: pixels outside the mask are always bit-exact copies of the input. Unscaled
regions paste the backend's output inside the mask. Downscaled regions are upscaled with
bicubic interpolation and seam-corrected: the residual ``original - upscaled`` measured on
known pixels next to the hole (box average, ``2 * feather + 3`` px wide) is added back
inside the hole with weight ``1 - alpha``, where ``alpha = min(1, d / (feather + 1))`` and
``d`` is the Euclidean distance (px) to the nearest known pixel. So the correction is 3/4
at the hole edge (feather 3), fades over ``feather`` px and is zero deeper inside; the
plain upscaled fill is used there. ``feather=0`` disables the correction.

The windows of a plan never overlap, so a region's crop holds only its own mask pixels (no
neighbouring hole is read as content) and context is always read from the input image:
running the regions together, one by one or in any order gives identical arrays. Memory per
region is bounded by ``working_memory_estimate`` (the upscale is pasted in 256 px tiles);
planning itself traces the mask's contours (OpenCV works on a uint8 copy of the mask's
bounding box; no label map).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from inpaint_studio.core.geometry import Rect
from inpaint_studio.errors import BackendError, MaskError

STRATEGIES = ("crop", "resize", "whole")
DEFAULT_MAX_CROP_PIXELS = 4096 * 4096
DEFAULT_FEATHER = 3
# At most this many full-resolution tiles per region (64 x 512^2 = the 16.8 MP crop ceiling);
# a region that would need more is downscaled instead.
DEFAULT_MAX_TILES = 64

# Side of the tiles a downscaled region is pasted back in (bounds the float buffers).
_TILE = 256
# Holes are never handed to the model narrower than this (model px) unless they are that
# thin at full resolution: such regions are tiled instead of downscaled further. 20, about
# the width the fill benchmark's strokes have at 6 MP, keeps a 48 MP fill within 1.5x of
# the 6 MP one; 32 gains 0.6 dB on scratches of 8x-upscaled photos at about 1.9x
# (docs/benchmarks.md section 10).
DEFAULT_MIN_HOLE_WIDTH = 20.0
# The editor's "best quality for thin damage" and `run --min-hole-width 32`: thin scratches
# of very big scans about 0.6 dB better at about 1.25x the time (docs/benchmarks.md, 10).
BEST_MIN_HOLE_WIDTH = 32.0
# A hole's rim is downscaled in chunks of at most _CHUNK cells and about _CHUNK_PX image px
# a side (bounds the float buffers).
_CHUNK = 32
_CHUNK_PX = 1024
# A downscaled cell with less than this fraction of known pixels is a hole for the model.
KNOWN_FRACTION = 0.5
# Thickness of big masks is measured on a reduction to about this many pixels.
_RADIUS_PIXELS = 4_000_000
# Above this many components, per-component Python work costs more than OpenCV's stats pass.
_MAX_CONTOUR_COMPONENTS = 4096

InpaintFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Tile:
    """One model call of a tiled region: window read (image px), scaled by scale (<= 1) for
    the model, result pasted into the hole pixels of core (image px) only."""

    window: Rect
    core: Rect
    scale: float = 1.0

    @property
    def input_size(self) -> tuple[int, int]:
        """(width, height) handed to the inpainter."""
        if self.scale >= 1.0:
            return self.window.w, self.window.h
        return _scaled_size(self.window.w, self.window.h, self.scale)


@dataclass(frozen=True)
class Region:
    """Crop window and hole bbox in image px, scale = model input / crop; with tiles, one
    full-resolution model call per tile instead of one call on the (downscaled) crop."""

    crop: Rect
    hole: Rect
    scale: float = 1.0
    labels: tuple[int, ...] = ()
    tiles: tuple[Tile, ...] = ()

    @property
    def input_size(self) -> tuple[int, int]:
        """(width, height) of the largest array handed to the inpainter, >= 1 each."""
        if self.tiles:
            return max((t.input_size for t in self.tiles), key=lambda size: size[0] * size[1])
        if self.scale >= 1.0:
            return self.crop.w, self.crop.h
        return _scaled_size(self.crop.w, self.crop.h, self.scale)

    @property
    def calls(self) -> int:
        """Model calls this region makes (its tiles, or one)."""
        return max(1, len(self.tiles))

    @property
    def scaled(self) -> bool:
        """Whether the crop is resized before inpainting (never for tiled regions)."""
        return not self.tiles and self.input_size != (self.crop.w, self.crop.h)


def _scaled_size(w: int, h: int, scale: float) -> tuple[int, int]:
    return max(1, int(w * scale + 1e-6)), max(1, int(h * scale + 1e-6))


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def _fit(rect: Rect, width: int, height: int, pad_multiple: int) -> Rect:
    """Round rect's size up to pad_multiple and shift it inside (width, height), clipping last."""
    w = min(width, _round_up(rect.w, pad_multiple))
    h = min(height, _round_up(rect.h, pad_multiple))
    x = rect.x - (w - rect.w) // 2
    y = rect.y - (h - rect.h) // 2
    x = min(max(x, 0), width - w)
    y = min(max(y, 0), height - h)
    return Rect(x, y, w, h)


def _limit_scale(w: int, h: int, scale: float, max_crop_pixels: int) -> float:
    """Lower scale until the model input of a (w, h) crop has at most max_crop_pixels."""
    if max_crop_pixels < 1:
        raise ValueError("max_crop_pixels must be >= 1")
    iw, ih = (w, h) if scale >= 1.0 else _scaled_size(w, h, scale)
    if iw * ih <= max_crop_pixels:
        return scale
    scale = min(scale, math.sqrt(max_crop_pixels / (w * h)))
    while math.prod(_scaled_size(w, h, scale)) > max_crop_pixels:
        scale *= 0.999
    return scale


def _sorted_boxes(boxes: np.ndarray) -> np.ndarray:
    """(n, 4) int64 x, y, w, h -> the same rows sorted by y, then x, w, h."""
    return boxes[np.lexsort((boxes[:, 3], boxes[:, 2], boxes[:, 0], boxes[:, 1]))]


def _stats_boxes(mask: np.ndarray) -> np.ndarray:
    """component_boxes through OpenCV's labelling + per-pixel statistics pass (the reference)."""
    _n, _labels, stats, _centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
    return _sorted_boxes(stats[1:, :4].astype(np.int64))


def component_boxes(mask: np.ndarray) -> np.ndarray:
    """(h,w) uint8 mask (non-zero = fill) -> (n, 4) int64 x, y, w, h of its 8-connected
    components, sorted by y, then x (then w, h): component k of a plan is row k - 1.

    A component's bbox is the bbox of its outer border, which ``cv2.findContours`` traces
    (RETR_CCOMP puts the outer border of every component on the top level, islands inside
    holes included): no label image is needed, about half the cost of labelling alone and a
    fraction of labels + statistics on a big sparse mask. Masks with very many components
    go through the statistics pass instead (per-contour Python work would cost more)."""
    contours, hierarchy = cv2.findContours(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return np.zeros((0, 4), np.int64)
    outer = [c for c, info in zip(contours, hierarchy[0], strict=True) if info[3] == -1]
    if len(outer) > _MAX_CONTOUR_COMPONENTS:
        return _stats_boxes(mask)
    return _sorted_boxes(np.array([cv2.boundingRect(c) for c in outer], np.int64).reshape(-1, 4))


def plan_regions(
    mask: np.ndarray,
    *,
    image_size: tuple[int, int] | None = None,
    strategy: str = "crop",
    working_size: int | None = None,
    scaled_size: int | None = None,
    margin_ratio: float = 1.0,
    min_margin: int = 64,
    pad_multiple: int = 8,
    max_crop_pixels: int = DEFAULT_MAX_CROP_PIXELS,
    max_tiles: int = DEFAULT_MAX_TILES,
    min_hole_width: float = DEFAULT_MIN_HOLE_WIDTH,
) -> list[Region]:
    """(H,W) uint8 mask (non-zero = fill), image_size (W, H) -> disjoint regions, top to bottom."""
    if mask.ndim != 2:
        raise MaskError(f"The mask must be a single-channel image, got shape {mask.shape}.")
    height, width = mask.shape
    if image_size is not None and tuple(image_size) != (width, height):
        raise MaskError(
            f"The mask is {width}x{height} but the image is {image_size[0]}x{image_size[1]}."
        )
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; expected one of {STRATEGIES}")
    if working_size is not None and working_size < 1:
        raise ValueError("working_size must be >= 1 or None")
    pad_multiple = max(1, int(pad_multiple))

    bbox = Rect.of_mask(mask)
    if bbox.is_empty():
        return []
    boxes = component_boxes(mask[bbox.slices])
    n = len(boxes) + 1
    all_labels = tuple(range(1, n))
    full = Rect(0, 0, width, height)

    if strategy != "crop":
        scale = 1.0
        longest = max(width, height)
        if strategy == "resize" and working_size is not None and longest > working_size:
            scale = working_size / longest
        scale = _limit_scale(width, height, scale, max_crop_pixels)
        return [Region(crop=full, hole=bbox, scale=scale, labels=all_labels)]

    # one window per component, then merge overlapping windows
    crops: list[Rect] = []
    holes: list[Rect] = []
    members: list[tuple[int, ...]] = []
    coords = np.zeros((max(n - 1, 1), 4), np.int64)  # x1, y1, x2, y2 of live windows
    alive = np.zeros(len(coords), bool)
    for label in range(1, n):
        x, y, w, h = (int(v) for v in boxes[label - 1])
        hole = Rect(bbox.x + x, bbox.y + y, w, h)
        margin = max(int(min_margin), math.ceil(margin_ratio * max(w, h) / 2))
        crop = _fit(hole.expand(margin), width, height, pad_multiple)
        group = (label,)
        while True:
            hits = np.flatnonzero(
                alive
                & (coords[:, 0] < crop.x2)
                & (crop.x < coords[:, 2])
                & (coords[:, 1] < crop.y2)
                & (crop.y < coords[:, 3])
            )
            if hits.size == 0:
                break
            for i in hits:
                alive[i] = False
                crop = crop.union(crops[i])
                hole = hole.union(holes[i])
                group = group + members[i]
            crop = _fit(crop, width, height, pad_multiple)
        crops.append(crop)
        holes.append(hole)
        members.append(group)
        slot = len(crops) - 1
        coords[slot] = (crop.x, crop.y, crop.x2, crop.y2)
        alive[slot] = True

    regions = []
    for i in np.flatnonzero(alive):
        crop, hole, labels = crops[i], holes[i], tuple(sorted(members[i]))
        scale = 1.0
        longest = max(crop.w, crop.h)
        if working_size is not None and longest > working_size:
            scale = min(working_size, scaled_size or working_size) / longest
            tiles = _thin_tiles(
                mask,
                crop,
                hole,
                working_size,
                (margin_ratio, min_margin, pad_multiple),
                min_scale=scale,
                min_width=min_hole_width,
                max_tiles=max_tiles,
            )
            if tiles:
                regions.append(Region(crop=crop, hole=hole, labels=labels, tiles=tiles))
                continue
        scale = _limit_scale(crop.w, crop.h, scale, max_crop_pixels)
        regions.append(Region(crop=crop, hole=hole, scale=scale, labels=labels))
    regions.sort(key=lambda r: (r.crop.y, r.crop.x))
    return regions


def _fit_in(rect: Rect, bounds: Rect, pad_multiple: int) -> Rect:
    """_fit with bounds (an image-px rect) in place of the image."""
    local = rect.relative_to(bounds)
    fitted = _fit(local, bounds.w, bounds.h, pad_multiple)
    return Rect(fitted.x + bounds.x, fitted.y + bounds.y, fitted.w, fitted.h)


def _thin_tiles(
    mask: np.ndarray,
    crop: Rect,
    hole: Rect,
    working_size: int,
    margins: tuple[float, int, int],
    *,
    min_scale: float,
    min_width: float,
    max_tiles: int,
) -> tuple[Tile, ...]:
    """Tiles that fill a region's holes at a scale keeping them min_width model px wide, or
    () when the plain downscale (min_scale) already does.

    Width = hole_width (full-resolution px); the tiles' scale
    is ``min(1, min_width / width)``. Thin damage (scratches, creases, strokes) needs context
    in proportion to its width, not its length: each tile's window is its core grown by
    ``max(min_margin, margin_ratio * width * scale)`` model px and holds at most
    ``working_size`` model px a side. Cores are the bboxes of the hole pixels in each cell
    of a grid over the hole bbox, in raster order; a tile reads the tiles before it as
    filled context. ``margins`` = (margin_ratio, min_margin, pad_multiple) of the plan;
    holes too wide for cores of half the working size give (); more than max_tiles tiles
    halve the scale until they fit, () once that reaches min_scale."""
    margin_ratio, min_margin, pad_multiple = margins
    if max_tiles < 1 or min_width <= 0:
        return ()
    width = hole_width(mask[hole.slices])
    scale = min(1.0, min_width / max(width, 1e-6))
    if scale <= min_scale:
        return ()
    margin = max(int(min_margin), math.ceil(margin_ratio * width * scale))  # model px
    core = (working_size - 2 * margin) // pad_multiple * pad_multiple  # model px
    if core < working_size // 2:
        return ()
    while scale > min_scale:  # too many tiles: halve the scale, down to the plain downscale
        tiles = _grid_tiles(mask, crop, hole, scale, core, margin, pad_multiple, max_tiles)
        if tiles:
            return tiles
        scale /= 2
    return ()


def _grid_tiles(
    mask: np.ndarray,
    crop: Rect,
    hole: Rect,
    scale: float,
    core: int,
    margin: int,
    pad_multiple: int,
    max_tiles: int,
) -> tuple[Tile, ...]:
    """Tiles over the cells (core / scale image px) of hole holding hole pixels; () if more
    than max_tiles."""
    cell = max(1, int(core / scale))  # image px
    grow = math.ceil(margin / scale)
    working_size = core + 2 * margin
    tiles = []
    for y in range(hole.y, hole.y2, cell):
        for x in range(hole.x, hole.x2, cell):
            box = Rect(x, y, min(cell, hole.x2 - x), min(cell, hole.y2 - y))
            bx, by, bw, bh = cv2.boundingRect(mask[box.slices])
            if bw:
                if len(tiles) == max_tiles:
                    return ()
                tight = Rect(x + bx, y + by, bw, bh)  # a stroke crossing a cell: a band
                window = _fit_in(tight.expand(grow), crop, pad_multiple)
                window_scale = min(scale, working_size / max(window.w, window.h))
                tiles.append(Tile(window=window, core=tight, scale=window_scale))
    return tuple(tiles)


def hole_width(holes: np.ndarray) -> float:
    """(h,w) uint8 mask (non-zero = hole) -> twice the largest distance (px) from a hole pixel
    to a known one or the border: the width of the widest stroke or blob, 0 for no hole.

    Masks over _RADIUS_PIXELS are measured on a block-any reduction by an integer step, which
    over-estimates by less than two steps (so thin holes are never taken for thinner)."""
    h, w = holes.shape
    step = max(1, math.ceil(math.sqrt(h * w / _RADIUS_PIXELS)))
    if step > 1:
        holes = _block_max_mask(holes, -(-w // step), -(-h // step), dilate=False)
    # OpenCV ignores the image border; a zero frame makes it count as known
    framed = cv2.copyMakeBorder(holes, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    return 2 * float(cv2.distanceTransform(framed, cv2.DIST_L2, 3).max()) * step


def _halo(feather: int) -> int:
    """Context px the seam correction reads around a tile: distance cap and box radius."""
    return feather + 1 if feather > 0 else 0


def working_memory_estimate(region: Region, channels: int = 3) -> int:
    """Peak bytes of temporary arrays run_regions allocates for region (not the model's own)."""
    w, h = region.crop.w, region.crop.h
    if region.tiles:
        w, h = region.input_size  # one tile at a time: window copy, mask, filled window
    if not region.scaled:
        # crop copy, 0/255 mask, filled crop, boolean selection
        return w * h * (2 * channels + 2)
    iw, ih = region.input_size
    small = iw * ih * (2 * channels + 1)  # small image, mask, filled small image
    # one chunk of the rim's known-pixel means: float32 pixels and known map, their area
    # averages, bool and uint8 temporaries
    chunk = (_CHUNK_PX + math.ceil(max(w / iw, h / ih)) + 2) ** 2 * (4 * channels + 8)
    tile = (_TILE + 2 * _halo(DEFAULT_FEATHER)) ** 2
    per_px = 24 * channels + 24  # uint8 upscale, float32 residual/sums/result, maps, temps
    return small + max(chunk, tile * per_px)


def _call(inpaint_fn: InpaintFn, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    filled = np.asarray(inpaint_fn(image, mask))
    if filled.shape != image.shape or filled.dtype != np.uint8:
        raise BackendError(
            f"The model returned a {filled.dtype} image of shape {filled.shape}; "
            f"expected uint8 {image.shape}."
        )
    return filled


def _block_edges(full: int, small: int) -> np.ndarray:
    """Block i of a full-px axis reduced to small cells covers edges[i] .. edges[i + 1] - 1."""
    return (np.arange(small + 1, dtype=np.int64) * full) // small


def _downscale(
    crop: np.ndarray, mask_crop: np.ndarray, iw: int, ih: int, within: Rect
) -> tuple[np.ndarray, np.ndarray]:
    """(h,w,3) uint8 crop and its (h,w) uint8 mask (non-zero = hole, all inside within) ->
    the model's (ih,iw,3) uint8 input and (ih,iw) uint8 0/255 mask.

    Area-averaged, but cells next to a hole average their known pixels only, so no damage
    colour leaks into the context the model reads; cells with less than KNOWN_FRACTION
    known pixels are the model's holes. (Before 2026-12-04 every cell touching a hole and
    its 8 neighbours were holes: 2-3 known px of rim lost on each side of a stroke.) The
    hole's cells are redone in chunks (_CHUNK, _CHUNK_PX) whose edges are cell edges."""
    h, w = mask_crop.shape
    small = cv2.resize(crop, (iw, ih), interpolation=cv2.INTER_AREA)
    small_mask = np.zeros((ih, iw), np.uint8)
    within = within.clip(w, h)
    if within.is_empty():
        return small, small_mask
    rows, cols = _block_edges(h, ih), _block_edges(w, iw)
    step = max(1, min(_CHUNK, int(_CHUNK_PX / max(h / ih, w / iw))))  # cells per chunk
    # cells whose area filter can reach within (INTER_AREA reads fractional neighbours)
    r0 = max(int(np.searchsorted(rows, within.y, side="right")) - 2, 0)
    r1 = min(int(np.searchsorted(rows, within.y2, side="left")) + 1, ih)
    c0 = max(int(np.searchsorted(cols, within.x, side="right")) - 2, 0)
    c1 = min(int(np.searchsorted(cols, within.x2, side="left")) + 1, iw)
    for i0 in range(r0, r1, step):
        for j0 in range(c0, c1, step):
            i1, j1 = min(i0 + step, r1), min(j0 + step, c1)
            y0, y1, x0, x1 = int(rows[i0]), int(rows[i1]), int(cols[j0]), int(cols[j1])
            # the whole-crop area filter reads up to 1 px past a cell: chunks next to a
            # hole are redone from their known pixels only
            if not mask_crop[max(y0 - 1, 0) : y1 + 1, max(x0 - 1, 0) : x1 + 1].any():
                continue
            holes = mask_crop[y0:y1, x0:x1]
            if holes.all():  # deep inside a big hole: the model ignores what is there
                small_mask[i0:i1, j0:j1] = 255
                continue
            known = (holes == 0).astype(np.float32)
            pixels = crop[y0:y1, x0:x1].astype(np.float32)
            pixels *= known[..., None]
            size = (j1 - j0, i1 - i0)
            frac = cv2.resize(known, size, interpolation=cv2.INTER_AREA)
            mean = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
            mean /= np.maximum(frac, 1e-6)[..., None]
            small[i0:i1, j0:j1] = np.clip(np.rint(mean), 0, 255).astype(np.uint8)
            small_mask[i0:i1, j0:j1][frac < KNOWN_FRACTION] = 255
    return small, small_mask


def _call_scaled(inpaint_fn: InpaintFn, small: np.ndarray, small_mask: np.ndarray) -> np.ndarray:
    """_call on a downscaled crop; holes too thin to hold a whole cell need no model call
    (the upscale of their cells' known means fills them)."""
    if not small_mask.any():
        return small
    return _call(inpaint_fn, np.ascontiguousarray(small), small_mask)


def _block_max_axis(part: np.ndarray, starts: np.ndarray, axis: int) -> np.ndarray:
    """(h,w) uint8 -> max over blocks along axis that start at starts (increasing, from 0;
    the last one runs to the end), blocks sizes differing by at most 1: a running max over
    the smaller size (cv2.dilate, ~10x faster than np.maximum.reduceat) read at the starts,
    plus the one more pixel of the longer blocks."""
    n = part.shape[axis]
    sizes = np.diff(np.append(starts, n))
    small = int(sizes.min())
    if small > 1:
        kernel = np.ones((1, small) if axis == 1 else (small, 1), np.uint8)
        run = cv2.dilate(part, kernel, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT, borderValue=0)
    else:
        run = part
    out = np.take(run, starts, axis=axis)
    longer = np.flatnonzero(sizes > small)
    if longer.size:
        extra = np.take(part, starts[longer] + small, axis=axis)
        if axis == 1:
            out[:, longer] = np.maximum(out[:, longer], extra)
        else:
            out[longer] = np.maximum(out[longer], extra)
    return out


def _block_max_mask(
    mask_crop: np.ndarray,
    out_w: int,
    out_h: int,
    within: Rect | None = None,
    *,
    dilate: bool = True,
) -> np.ndarray:
    """(h,w) uint8 mask view -> (out_h,out_w) uint8, 255 where any pixel of its block is set
    (and, with dilate, next to such a block).

    ``within`` (crop coordinates) promises that every non-zero pixel lies inside it: only the
    blocks it touches are read, the result is the same."""
    h, w = mask_crop.shape
    rows, cols = _block_edges(h, out_h)[:-1], _block_edges(w, out_w)[:-1]  # block starts
    r0, r1, c0, c1 = 0, out_h, 0, out_w
    if within is not None:
        within = within.clip(w, h)
        if within.is_empty():
            return np.zeros((out_h, out_w), np.uint8)
        # blocks i cover rows[i] .. rows[i + 1] - 1: keep those overlapping the rect
        r0 = int(np.searchsorted(rows, within.y, side="right")) - 1
        r1 = int(np.searchsorted(rows, within.y2, side="left"))
        c0 = int(np.searchsorted(cols, within.x, side="right")) - 1
        c1 = int(np.searchsorted(cols, within.x2, side="left"))
    y_end = int(rows[r1]) if r1 < out_h else h
    x_end = int(cols[c1]) if c1 < out_w else w
    part = mask_crop[int(rows[r0]) : y_end, int(cols[c0]) : x_end]
    reduced = _block_max_axis(part, cols[c0:c1] - cols[c0], axis=1)
    reduced = _block_max_axis(reduced, rows[r0:r1] - rows[r0], axis=0)
    small = np.zeros((out_h, out_w), np.uint8)
    small[r0:r1, c0:c1] = (reduced != 0).view(np.uint8) * np.uint8(255)
    if not dilate:
        return small
    # partial overlaps of the area filter and the bicubic upscale reach one pixel further
    return cv2.dilate(small, np.ones((3, 3), np.uint8))


def _upscale_rect(small: np.ndarray, crop_w: int, crop_h: int, rect: Rect) -> np.ndarray:
    """Bicubic upscale of small to (crop_h, crop_w), evaluated only inside rect -> (h,w,3) uint8."""
    sh, sw = small.shape[:2]
    fx, fy = sw / crop_w, sh / crop_h
    matrix = np.array(
        [[fx, 0.0, (rect.x + 0.5) * fx - 0.5], [0.0, fy, (rect.y + 0.5) * fy - 0.5]], np.float64
    )
    return cv2.warpAffine(
        small,
        matrix,
        (rect.w, rect.h),
        flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )


def _paste_scaled(
    out: np.ndarray,
    image: np.ndarray,
    mask: np.ndarray,
    region: Region,
    small_filled: np.ndarray,
    feather: int,
) -> None:
    """Upscale small_filled into out inside region's mask pixels, seam-corrected, tile by tile."""
    crop = region.crop
    hole = region.hole.intersect(crop)
    halo = _halo(feather)
    box = 2 * halo + 1
    for y0 in range(hole.y, hole.y2, _TILE):
        for x0 in range(hole.x, hole.x2, _TILE):
            tile = Rect(x0, y0, min(_TILE, hole.x2 - x0), min(_TILE, hole.y2 - y0))
            # work on the bbox of the tile's hole pixels only: a thin stroke crossing a
            # tile touches a fraction of it (the result per pixel does not depend on it)
            bx, by, bw, bh = cv2.boundingRect(mask[tile.slices])
            if bw == 0:
                continue
            core = Rect(tile.x + bx, tile.y + by, bw, bh)
            ext = core.expand(halo).intersect(crop)
            inner = core.relative_to(ext)
            holes = mask[ext.slices] != 0
            core_holes = holes[inner.slices]
            weight = None
            if feather > 0:
                dist = cv2.distanceTransform(
                    holes.view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE
                )
                weight = np.maximum(1.0 - dist / np.float32(feather + 1), 0.0)
                weight[~holes] = 0.0
                if not weight[inner.slices].any():
                    weight = None  # the tile is deep inside the hole: plain upscale
            if weight is None:
                local = core.relative_to(crop)
                result = _upscale_rect(small_filled, crop.w, crop.h, local)
            else:
                local = ext.relative_to(crop)
                up = _upscale_rect(small_filled, crop.w, crop.h, local)
                known = (~holes).astype(np.float32)
                residual = image[ext.slices].astype(np.float32)
                residual -= up
                residual *= known[..., None]
                border = cv2.BORDER_CONSTANT
                total = cv2.boxFilter(residual, -1, (box, box), normalize=False, borderType=border)
                count = cv2.boxFilter(known, -1, (box, box), normalize=False, borderType=border)
                weight /= np.maximum(count, 1.0)
                total *= weight[..., None]
                total += up
                result = np.clip(np.rint(total[inner.slices]), 0, 255).astype(np.uint8)
            target = out[core.slices]
            if cv2.copyTo(result, core_holes.view(np.uint8), target) is not target:
                np.copyto(target, result, where=core_holes[..., None])  # not an OpenCV view


def inpaint_region(
    out: np.ndarray,
    image: np.ndarray,
    mask: np.ndarray,
    inpaint_fn: InpaintFn,
    region: Region,
    *,
    feather: int = DEFAULT_FEATHER,
    before_call: Callable[[], None] | None = None,
) -> None:
    """Fill region's mask pixels of out (H,W,3) uint8 in place, reading context from image
    (a tiled region also reads its earlier tiles' fills from out); before_call() runs before
    every model call (it may raise to stop)."""
    if region.tiles:
        _inpaint_tiles(out, mask, inpaint_fn, region.tiles, feather, before_call)
        return
    if before_call is not None:
        before_call()
    crop = region.crop
    mask_crop = mask[crop.slices]
    if not region.scaled:
        sel = mask_crop != 0
        crop_mask = sel.astype(np.uint8) * 255
        filled = _call(inpaint_fn, np.ascontiguousarray(image[crop.slices]), crop_mask)
        out[crop.slices][sel] = filled[sel]
        return
    iw, ih = region.input_size
    hole = region.hole.intersect(crop)  # a plan's crop has no mask pixels outside its holes
    small, small_mask = _downscale(image[crop.slices], mask_crop, iw, ih, hole.relative_to(crop))
    small_filled = _call_scaled(inpaint_fn, small, small_mask)
    _paste_scaled(out, image, mask, region, small_filled, max(0, int(feather)))


def _inpaint_tiles(
    out: np.ndarray,
    mask: np.ndarray,
    inpaint_fn: InpaintFn,
    tiles: Sequence[Tile],
    feather: int,
    before_call: Callable[[], None] | None,
) -> None:
    """Fill each tile's core in turn; a window's holes in earlier cores are already filled in
    out and given to the model as known pixels (and as known context for the seam)."""
    for i, tile in enumerate(tiles):
        if before_call is not None:
            before_call()
        win = tile.window
        holes = mask[win.slices] != 0
        for earlier in tiles[:i]:
            done = earlier.core.intersect(win)
            if not done.is_empty():
                holes[done.relative_to(win).slices] = False
        view = out[win.slices]
        core = tile.core.relative_to(win)
        local = Region(crop=Rect(0, 0, win.w, win.h), hole=core, scale=tile.scale)
        tile_mask = holes.view(np.uint8) * np.uint8(255)
        if not local.scaled:
            filled = _call(inpaint_fn, view.copy(), tile_mask)
            sel = holes[core.slices]
            view[core.slices][sel] = filled[core.slices][sel]
            continue
        iw, ih = local.input_size
        small, small_mask = _downscale(view, tile_mask, iw, ih, Rect(0, 0, win.w, win.h))
        small_filled = _call_scaled(inpaint_fn, small, small_mask)
        # reads known pixels of view (earlier fills included), writes the core's holes only
        _paste_scaled(view, view, tile_mask, local, small_filled, max(0, int(feather)))


def check_inputs(image: np.ndarray, mask: np.ndarray) -> None:
    """Raise ValueError/MaskError unless image is (H,W,3) uint8 and mask is (H,W) uint8."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an (H,W,3) uint8 image, got {image.dtype} {image.shape}")
    if mask.dtype != np.uint8 or mask.shape != image.shape[:2]:
        raise MaskError(
            f"The mask ({mask.shape[1] if mask.ndim > 1 else '?'}x{mask.shape[0]}) does not "
            f"match the image ({image.shape[1]}x{image.shape[0]})."
        )


def run_regions(
    image: np.ndarray,
    mask: np.ndarray,
    inpaint_fn: InpaintFn,
    regions: Sequence[Region],
    *,
    feather: int = DEFAULT_FEATHER,
) -> np.ndarray:
    """(H,W,3) uint8 + (H,W) uint8 mask -> new (H,W,3) uint8; outside the mask bit-exact."""
    check_inputs(image, mask)
    out = image.copy()
    for region in regions:
        inpaint_region(out, image, mask, inpaint_fn, region, feather=feather)
    return out
