"""Grain matching: give a smooth fill the fine texture (film grain, noise) of the hole's rim.

Every model here fills large holes smoother than the photo around them; on a grainy scan the
repair then shows as a smudge. `match_grain` adds band-pass Gaussian noise inside the hole,
as much as the rim's texture has and the fill lacks:

- texture of the rim: the variance of the photo's high-pass (pixel minus its 1.5 px
  Gaussian blur, over known pixels only) in 4x4 cells of known pixels within `BAND` px of
  the hole, carried into the hole by push-pull interpolation (each hole cell takes the
  weighted mean of the nearest rim cells at the finest scale that has some);
- minus what the fill already has (the same high-pass variance of the fill, per cell);
- times `strength` squared on the rim's variance: the noise's standard deviation is
  sqrt(max(strength^2 * rim variance - fill variance, 0)) per channel (grain that is
  lighter than the rim's, since the rim's high-pass also holds edges);
- faded in over `RAMP` px from the hole's edge, where the fill carries the rim's own detail,
  so scratches a few px wide get (almost) none.

The noise is white noise blurred by 1 px minus its 1.5 px blur (band-pass, grain-sized),
drawn from a hash of the absolute pixel position and `seed`: the same pixel gets the same
noise whatever crop or tile it is computed in. Work runs in 256 px tiles over the holes'
bounding box, so memory stays bounded on any photo. Qt-free, numpy + OpenCV.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from inpaint_studio.core.geometry import Rect

DEFAULT_STRENGTH = 0.65  # chosen on held-out training photos (resources/models/README.md)
BAND = 4  # rim width (px) whose texture is measured
RAMP = 8  # the noise fades in over this many px from the hole's edge
CELL = 4  # statistics are kept per CELL x CELL block
HIGH_PASS_SIGMA = 1.5
NOISE_SIGMA = 1.0
_TILE = 256
_NOISE_MARGIN = 12  # > the reach of the two noise blurs (4 + 6 px), so tiles agree
_STAT_MARGIN = 8  # > the high-pass blur's reach (6 px) and BAND


def _blur(x: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(x, (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101)


def _high_pass_sq(x: np.ndarray, known: np.ndarray | None = None) -> np.ndarray:
    """Squared high-pass (x minus its blur) of (h,w,3) float32; with known (h,w) float32 the
    blur is normalised over known pixels and the result is 0 off them."""
    if known is None:
        return np.square(x - _blur(x, HIGH_PASS_SIGMA))
    weight = np.maximum(_blur(known, HIGH_PASS_SIGMA), 1e-6)[..., None]
    low = _blur(x * known[..., None], HIGH_PASS_SIGMA) / weight
    return np.square(x - low) * known[..., None]


def _cell_sums(x: np.ndarray) -> np.ndarray:
    """(h,w,...) with h, w multiples of CELL -> (h/CELL, w/CELL, ...) block sums."""
    h, w = x.shape[:2]
    return x.reshape(h // CELL, CELL, w // CELL, CELL, *x.shape[2:]).sum(axis=(1, 3))


def _push_pull(values: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """(h,w,C) float32 values known where weight (h,w) in [0,1] > 0 -> (h,w,C): weight-1
    cells kept, the others blended with the next coarser scale's weighted mean."""
    if weight.max() <= 0:
        return np.zeros_like(values)
    if min(weight.shape) < 4:
        mean = (values * weight[..., None]).sum(axis=(0, 1)) / weight.sum()
        return np.broadcast_to(mean, values.shape).astype(np.float32)
    h, w = weight.shape
    sums = cv2.pyrDown(values * weight[..., None])
    wsum = cv2.pyrDown(weight)
    coarse = _push_pull(sums / np.maximum(wsum, 1e-6)[..., None], np.minimum(wsum * 4, 1))
    up = cv2.pyrUp(coarse, dstsize=(w, h)).reshape(values.shape)
    a = weight[..., None]
    return a * values + (1 - a) * up


def _bilinear(small: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Sample (h,w,C) cell values at full-res pixel rows/cols (cell centres at CELL*i + 1.5,
    edges clamped, as cv2.resize INTER_LINEAR would upsample by CELL) -> (len(rows),
    len(cols), C)."""

    def axis(pos: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        f = np.clip((pos + 0.5) / CELL - 0.5, 0, n - 1)
        i0 = np.minimum(f.astype(np.int64), n - 1)
        i1 = np.minimum(i0 + 1, n - 1)
        return i0, i1, (f - i0).astype(np.float32)

    r0, r1, fr = axis(rows, small.shape[0])
    c0, c1, fc = axis(cols, small.shape[1])
    top = small[r0] * (1 - fr)[:, None, None] + small[r1] * fr[:, None, None]
    return top[:, c0] * (1 - fc)[None, :, None] + top[:, c1] * fc[None, :, None]


def _hash(x: np.ndarray, y: np.ndarray, salt: int) -> np.ndarray:
    """uint32 hash of integer positions (murmur3 finaliser)."""
    h = (x.astype(np.uint32) * np.uint32(0x9E3779B1)) ^ (
        y.astype(np.uint32) * np.uint32(0x85EBCA77)
    )
    h ^= np.uint32(salt & 0xFFFFFFFF)
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h


def _band_pass(white: np.ndarray) -> np.ndarray:
    """The grain filter: blur by NOISE_SIGMA minus that blurred by HIGH_PASS_SIGMA."""
    smooth = _blur(white, NOISE_SIGMA)
    return smooth - _blur(smooth, HIGH_PASS_SIGMA)


@functools.cache
def _noise_scale() -> float:
    """Standard deviation of the high-pass (as the rim's texture is measured) of unit white
    noise after the grain filter: the filters' impulse response, squared and summed."""
    impulse = np.zeros((65, 65), np.float32)
    impulse[32, 32] = 1
    response = np.sqrt(_high_pass_sq(_band_pass(impulse)[..., None].repeat(3, axis=2)))
    return float(np.sqrt(np.square(response[..., 0]).sum()))


def grain_noise(rect: Rect, seed: int = 0) -> np.ndarray:
    """(rect.h, rect.w) float32 band-pass noise at rect's absolute pixel positions whose
    high-pass has unit standard deviation; a pixel's value is the same whatever rect holds
    it."""
    m = _NOISE_MARGIN
    ys = np.arange(rect.y - m, rect.y2 + m)[:, None]
    xs = np.arange(rect.x - m, rect.x2 + m)[None, :]
    u1 = (_hash(xs, ys, 2 * seed + 1).astype(np.float64) + 0.5) / 2.0**32
    u2 = (_hash(xs, ys, 2 * seed + 2).astype(np.float64) + 0.5) / 2.0**32
    white = (np.sqrt(-2 * np.log(u1)) * np.cos(2 * np.pi * u2)).astype(np.float32)
    return _band_pass(white)[m:-m, m:-m] / np.float32(_noise_scale())


def _tiles(area: Rect) -> list[Rect]:
    """area cut into _TILE-px tiles (multiples of CELL from area's origin)."""
    return [
        Rect(x, y, min(_TILE, area.x2 - x), min(_TILE, area.y2 - y))
        for y in range(area.y, area.y2, _TILE)
        for x in range(area.x, area.x2, _TILE)
    ]


def _grow(rect: Rect, margin: int, bounds: Rect) -> Rect:
    return Rect(
        rect.x - margin, rect.y - margin, rect.w + 2 * margin, rect.h + 2 * margin
    ).intersect(bounds)


def _rim_texture(
    image: np.ndarray, out: np.ndarray, hole: np.ndarray, known: np.ndarray, tiles: list[Rect]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-cell sums over the arrays' area (h, w multiples of CELL): (rim high-pass^2
    (h/CELL, w/CELL, 3), rim weight (h/CELL, w/CELL), fill high-pass^2 (h/CELL, w/CELL, 3)).
    known (h,w) bool: pixels whose texture counts (off the hole and inside the crop)."""
    bounds = Rect(0, 0, hole.shape[1], hole.shape[0])
    ch, cw = hole.shape[0] // CELL, hole.shape[1] // CELL
    rim_sq = np.zeros((ch, cw, 3), np.float32)
    rim_w = np.zeros((ch, cw), np.float32)
    fill_sq = np.zeros((ch, cw, 3), np.float32)
    for tile in tiles:
        win = _grow(tile, _STAT_MARGIN, bounds)
        if not hole[win.slices].any():
            continue
        core = tile.relative_to(win)
        near = cv2.distanceTransform((~hole[win.slices]).view(np.uint8), cv2.DIST_L2, 3)
        weight = known[win.slices].astype(np.float32)
        rim = (weight * (near <= BAND))[core.slices]
        sq = _high_pass_sq(image[win.slices].astype(np.float32), weight)[core.slices]
        fsq = _high_pass_sq(out[win.slices].astype(np.float32))[core.slices]
        at = (slice(tile.y // CELL, tile.y2 // CELL), slice(tile.x // CELL, tile.x2 // CELL))
        rim_sq[at] = _cell_sums(sq * rim[..., None])
        rim_w[at] = _cell_sums(rim)
        fill_sq[at] = _cell_sums(fsq)
    return rim_sq, rim_w, fill_sq


def match_grain(
    out: np.ndarray,
    image: np.ndarray,
    mask: np.ndarray,
    within: Rect | None = None,
    strength: float = DEFAULT_STRENGTH,
    seed: int = 0,
) -> None:
    """Add rim-matched grain to out's hole pixels in place.

    out (H,W,3) uint8: the filled photo; image (H,W,3) uint8: the photo the texture is read
    from (its hole pixels are ignored); mask (H,W) uint8, non-zero = hole; within: only holes
    inside this rectangle (a region's crop; default the whole photo) are changed, and only
    pixels inside it are read. strength 0 leaves out as it is. Pixels off the hole never
    change."""
    bounds = Rect(0, 0, mask.shape[1], mask.shape[0])
    within = bounds if within is None else within.intersect(bounds)
    if strength <= 0 or within.is_empty():
        return
    hole = mask[within.slices] != 0
    ys, xs = np.nonzero(hole.any(axis=1))[0], np.nonzero(hole.any(axis=0))[0]
    if len(ys) == 0:
        return
    holes = Rect(int(xs[0]), int(ys[0]), int(xs[-1] - xs[0] + 1), int(ys[-1] - ys[0] + 1))
    local = _grow(holes, BAND + _STAT_MARGIN, Rect(0, 0, within.w, within.h))
    # whole cells from local's origin: pad to multiples of CELL (the padding is not known)
    pad = ((0, -local.h % CELL), (0, -local.w % CELL))
    hole_p = np.pad(hole[local.slices], pad)
    known = np.pad(~hole[local.slices], pad)
    image_p = np.pad(image[within.slices][local.slices], (*pad, (0, 0)), mode="edge")
    out_c = out[within.slices][local.slices]
    tiles = _tiles(Rect(0, 0, hole_p.shape[1], hole_p.shape[0]))
    rim_sq, rim_w, fill_sq = _rim_texture(
        image_p, np.pad(out_c, (*pad, (0, 0)), mode="edge"), hole_p, known, tiles
    )
    rim_var = _push_pull(rim_sq / np.maximum(rim_w, 1e-6)[..., None], np.minimum(rim_w / 4, 1))
    fill_var = cv2.blur(fill_sq, (3, 3), borderType=cv2.BORDER_REPLICATE) / CELL**2
    deficit = strength**2 * rim_var - fill_var
    std = np.sqrt(np.maximum(deficit, 0)).astype(np.float32)
    inside = Rect(0, 0, local.w, local.h)
    for tile in tiles:
        tile = tile.intersect(inside)
        if tile.is_empty():
            continue
        win = _grow(tile, RAMP + 1, inside)
        holes_win = hole_p[win.slices]
        core = tile.relative_to(win)
        sel = holes_win[core.slices]
        if not sel.any():
            continue
        depth = cv2.distanceTransform(holes_win.view(np.uint8), cv2.DIST_L2, 3)[core.slices]
        fade = np.clip((depth - 0.5) / RAMP, 0, 1)
        at = Rect(within.x + local.x + tile.x, within.y + local.y + tile.y, tile.w, tile.h)
        noise = grain_noise(at, seed)
        add = _bilinear(std, np.arange(tile.y, tile.y2), np.arange(tile.x, tile.x2))
        add *= (fade * noise)[..., None]
        target = out_c[tile.slices]
        target[sel] = np.clip(target[sel] + add[sel] + 0.5, 0, 255).astype(np.uint8)
