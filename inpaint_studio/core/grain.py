"""Grain matching: give a smooth fill the fine texture (film grain, noise) of the hole's rim.

Every model here fills large holes smoother than the photo around them; on a grainy scan the
repair then shows as a smudge. `match_grain` adds band-pass Gaussian noise inside the hole,
as much as the rim's texture has and the fill lacks:

- texture of the rim: the grain energy of the photo (the squared high-pass, pixel minus
  its 1.5 px Gaussian blur over known pixels only, times the isotropy of the local structure
  tensor, so edges and lines, which have a direction, count little and grain counts fully)
  in 4x4 cells of known pixels within `BAND` px of the hole, carried into the hole by
  push-pull interpolation (each hole cell takes the weighted mean of the nearest rim cells
  at the finest scale that has some), per brightness bin: a hole cell takes the texture of
  rim cells about as bright as its fill (`LUMA_STEP`), so a smooth sky inside a hole does
  not get the texture of the roofs beside it;
- minus what the fill already has (the same grain energy of the fill, averaged over 3x3
  cells);
- times `strength` squared on the rim's variance: the noise's standard deviation is
  sqrt(max(strength^2 * rim variance - fill variance, 0)) per channel, at most `HEADROOM`
  times the fill's distance to black or white (clipped noise would leave dark specks in a
  white sky);
- faded in over `RAMP` px from the hole's edge, where the fill carries the rim's own detail,
  so scratches a few px wide get (almost) none.

The noise is white noise blurred by 1 px minus its 1.5 px blur (band-pass, grain-sized),
drawn from a hash of the absolute pixel position and `seed`: the same pixel gets the same
noise whatever crop or tile it is computed in. Work runs in 128 px tiles over the holes'
bounding box (tiles without a hole pixel are skipped), so memory stays bounded on any photo.
Qt-free, numpy + OpenCV.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from inpaint_studio.core.geometry import Rect

# Strength of the editor's Match grain and of NAME+grain in `evaluate` (grain is off unless
# asked for); chosen on held-out training photos (resources/models/README.md).
DEFAULT_STRENGTH = 0.9
BAND = 4  # rim width (px) whose texture is measured
RAMP = 4  # the noise fades in over this many px from the hole's edge
CELL = 4  # statistics are kept per CELL x CELL block
HIGH_PASS_SIGMA = 1.5
NOISE_SIGMA = 1.0
LUMA_STEP = 24.0  # grey levels between brightness bins of the rim (0: no guidance)
_LUMA_WEIGHTS = np.array([[0.299, 0.587, 0.114]], np.float32)
_TILE = 128
_NOISE_MARGIN = 12  # > the reach of the two noise blurs (4 + 6 px), so tiles agree
_STAT_MARGIN = 12  # > the grain energy's reach (Sobel 1 + erosion 1 + window 8 px), BAND
HEADROOM = 0.5  # the added noise's std is at most this times the distance to black/white
STRUCTURE_SIGMA = 2.0  # window (px) of the structure tensor that tells grain from edges


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


def _isotropy(x: np.ndarray, known: np.ndarray | None = None) -> np.ndarray:
    """(h,w,3) in [0,1]: 2 lambda2 / (lambda1 + lambda2) of the structure tensor of each
    channel of (h,w,3) float32 x (Sobel gradients, Gaussian window STRUCTURE_SIGMA): 0 on a
    clean edge or line however strong, high on grain, which has no direction. With known
    (h,w) float32 only gradients whose 3x3 neighbourhood is known count."""
    gx = cv2.Sobel(x, cv2.CV_32F, 1, 0, borderType=cv2.BORDER_REFLECT_101)
    gy = cv2.Sobel(x, cv2.CV_32F, 0, 1, borderType=cv2.BORDER_REFLECT_101)
    products = (gx * gx, gy * gy, gx * gy)
    if known is not None:
        valid = cv2.erode(known, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_REPLICATE)
        products = tuple(p * valid[..., None] for p in products)
    jxx, jyy, jxy = (_blur(p, STRUCTURE_SIGMA) for p in products)
    trace = jxx + jyy
    spread = np.sqrt(np.square(jxx - jyy) + 4 * np.square(jxy))
    return np.clip((trace - spread) / np.maximum(trace, 1e-6), 0, 1)


def _grain_energy(x: np.ndarray, known: np.ndarray | None = None) -> np.ndarray:
    """(h,w,3) float32 grain energy of (h,w,3) float32 x: the squared high-pass (as
    _high_pass_sq) times the isotropy over its mean on grain noise, so grain keeps its
    high-pass variance and edges and lines count little. With known, hole pixels are never
    read and the result is 0 off known pixels."""
    iso = _isotropy(x, known) * np.float32(1 / _noise_isotropy())
    return _high_pass_sq(x, known) * iso


def _cell_sums(x: np.ndarray) -> np.ndarray:
    """(h,w) or (h,w,3) float32, h, w multiples of CELL -> (h/CELL, w/CELL[, 3]) block sums."""
    h, w = x.shape[:2]
    return cv2.resize(x, (w // CELL, h // CELL), interpolation=cv2.INTER_AREA) * CELL**2


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
    squared = _high_pass_sq(np.repeat(_band_pass(impulse)[..., None], 3, axis=2))
    return float(np.sqrt(squared[..., 0].sum()))


@functools.cache
def _noise_isotropy() -> float:
    """Mean isotropy of the grain noise weighted by its squared high-pass (a 256 px patch):
    about 0.7, as a finite window never sees noise as perfectly direction-free."""
    noise = np.repeat(grain_noise(Rect(0, 0, 256, 256), seed=12345)[..., None], 3, axis=2)
    hp = _high_pass_sq(noise)[16:-16, 16:-16, 0]
    iso = _isotropy(noise)[16:-16, 16:-16, 0]
    return float((hp * iso).sum() / hp.sum())


@functools.cache
def _noise_std() -> float:
    """Standard deviation of the grain noise itself (its high-pass has unit std): about 1.26."""
    return float(grain_noise(Rect(0, 0, 256, 256), seed=12345).std())


def grain_noise(rect: Rect, seed: int = 0) -> np.ndarray:
    """(rect.h, rect.w) float32 band-pass noise at rect's absolute pixel positions whose
    high-pass has unit standard deviation; a pixel's value is the same whatever rect holds
    it."""
    m = _NOISE_MARGIN
    ys = np.arange(rect.y - m, rect.y2 + m)[:, None]
    xs = np.arange(rect.x - m, rect.x2 + m)[None, :]
    scale = np.float32(2.0**-32)
    u1 = (_hash(xs, ys, 2 * seed + 1) >> np.uint32(8)).astype(
        np.float32
    ) * scale * 256 + scale * 128
    u2 = _hash(xs, ys, 2 * seed + 2).astype(np.float32) * scale
    white = np.sqrt(-2 * np.log(u1)) * np.cos(np.float32(2 * np.pi) * u2)
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


def _has_hole(mask: np.ndarray, rect: Rect) -> bool:
    return cv2.countNonZero(mask[rect.slices]) > 0


def _pad_to_cells(x: np.ndarray) -> np.ndarray:
    """Zero-pad (h,w,...) at the bottom and right to multiples of CELL."""
    pad = [(0, -x.shape[0] % CELL), (0, -x.shape[1] % CELL)] + [(0, 0)] * (x.ndim - 2)
    return np.pad(x, pad) if any(p[1] for p in pad) else x


def _luma(x: np.ndarray) -> np.ndarray:
    """(h,w,3) RGB -> (h,w) float32 Rec. 601 luma."""
    return cv2.transform(x.astype(np.float32), _LUMA_WEIGHTS).reshape(x.shape[:2])


def _rim_texture(
    image: np.ndarray, out: np.ndarray, mask: np.ndarray, area: Rect, within: Rect
) -> tuple[np.ndarray, ...]:
    """Per-cell sums over area (cells from its origin, the last ones partly outside it):
    (rim grain energy (h,w,3), rim weight (h,w), fill grain energy (h,w,3), rim luma (h,w),
    fill luma (h,w)), h, w = area's size / CELL rounded up. Reads pixels inside within only."""
    ch, cw = -(-area.h // CELL), -(-area.w // CELL)
    rim_sq = np.zeros((ch, cw, 3), np.float32)
    rim_w = np.zeros((ch, cw), np.float32)
    fill_sq = np.zeros((ch, cw, 3), np.float32)
    rim_l = np.zeros((ch, cw), np.float32)
    fill_l = np.zeros((ch, cw), np.float32)
    for tile in _tiles(area):
        win = _grow(tile, _STAT_MARGIN, within)
        if not _has_hole(mask, win):
            continue
        core = tile.relative_to(win)
        known = mask[win.slices] == 0
        near = cv2.distanceTransform(known.view(np.uint8), cv2.DIST_L2, 3)
        weight = known.astype(np.float32)
        rim = (weight * (near <= BAND))[core.slices]
        sq = _grain_energy(image[win.slices].astype(np.float32), weight)[core.slices]
        fsq = _grain_energy(out[win.slices].astype(np.float32))[core.slices]
        y, x = (tile.y - area.y) // CELL, (tile.x - area.x) // CELL
        sums = _cell_sums(_pad_to_cells(sq * rim[..., None]))
        at = (slice(y, y + sums.shape[0]), slice(x, x + sums.shape[1]))
        rim_sq[at] = sums
        rim_w[at] = _cell_sums(_pad_to_cells(rim))
        fill_sq[at] = _cell_sums(_pad_to_cells(fsq))
        rim_l[at] = _cell_sums(_pad_to_cells(_luma(image[tile.slices]) * rim))
        fill_l[at] = _cell_sums(_pad_to_cells(_luma(out[tile.slices])))
    return rim_sq, rim_w, fill_sq, rim_l, fill_l


def _luma_guided(
    cell_var: np.ndarray,
    rim_w: np.ndarray,
    rim_luma: np.ndarray,
    fill_luma: np.ndarray,
    plain: np.ndarray,
) -> np.ndarray:
    """Rim grain carried into the hole from rim cells as bright as the fill.

    cell_var (h,w,3): per-cell rim grain energy where rim_w (h,w) > 0; rim_luma, fill_luma
    (h,w): cell means 0..255; plain (h,w,3): the push-pull over all rim cells. For each
    brightness bin (tents LUMA_STEP apart, at fixed grey levels) the push-pull over the rim
    cells in that bin; a hole cell blends the bins by its fill's luma, so a smooth sky inside
    a hole takes the sky's grain, not that of the roofs next to it. Cells whose brightness
    no rim cell shares keep plain. -> (h,w,3)."""
    num = np.zeros_like(cell_var)
    den = np.zeros(rim_w.shape, np.float32)
    lo = min(float(fill_luma.min()), float(rim_luma[rim_w > 0].min()))
    hi = max(float(fill_luma.max()), float(rim_luma[rim_w > 0].max()))
    for centre in np.arange(lo // LUMA_STEP * LUMA_STEP, hi + LUMA_STEP, LUMA_STEP):
        at_fill = np.maximum(1 - np.abs(fill_luma - centre) / LUMA_STEP, 0)
        at_rim = rim_w * np.maximum(1 - np.abs(rim_luma - centre) / LUMA_STEP, 0)
        if at_fill.max() <= 0 or at_rim.max() <= 0:
            continue
        num += at_fill[..., None] * _push_pull(cell_var, np.minimum(at_rim / 4, 1))
        den += at_fill
    guided = num / np.maximum(den, 1e-6)[..., None]
    return np.where((den > 1e-3)[..., None], guided, plain)


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
    x, y, w, h = cv2.boundingRect(np.ascontiguousarray(mask[within.slices]))
    if w == 0:
        return
    holes = Rect(within.x + x, within.y + y, w, h)
    area = _grow(holes, BAND + _STAT_MARGIN, within)
    rim_sq, rim_w, fill_sq, rim_l, fill_l = _rim_texture(image, out, mask, area, within)
    cell_var = rim_sq / np.maximum(rim_w, 1e-6)[..., None]
    rim_var = _push_pull(cell_var, np.minimum(rim_w / 4, 1))
    if LUMA_STEP and rim_w.max() > 0:
        rim_luma = rim_l / np.maximum(rim_w, 1e-6)
        rim_var = _luma_guided(cell_var, rim_w, rim_luma, fill_l / CELL**2, rim_var)
    fill_var = cv2.blur(fill_sq, (3, 3), borderType=cv2.BORDER_REPLICATE) / CELL**2
    std = np.sqrt(np.maximum(strength**2 * rim_var - fill_var, 0)).astype(np.float32)
    for tile in _tiles(area):
        if not _has_hole(mask, tile):
            continue
        win = _grow(tile, RAMP + 1, within)
        holes_win = mask[win.slices] != 0
        core = tile.relative_to(win)
        sel = holes_win[core.slices]
        depth = cv2.distanceTransform(holes_win.view(np.uint8), cv2.DIST_L2, 3)[core.slices]
        fade = np.clip((depth - 0.5) / RAMP, 0, 1)
        rows = np.arange(tile.y - area.y, tile.y2 - area.y)
        add = _bilinear(std, rows, np.arange(tile.x - area.x, tile.x2 - area.x))
        target = out[tile.slices]
        # near black or white the grain is squeezed, as a photo's is: clipped noise would
        # leave only dark specks in a white sky
        limit = np.float32(HEADROOM / _noise_std())
        np.minimum(add, np.minimum(target, 255 - target) * limit, out=add)
        add *= (fade * grain_noise(tile, seed))[..., None]
        add += target
        add += 0.5
        np.copyto(target, np.clip(add, 0, 255).astype(np.uint8), where=sel[..., None])
