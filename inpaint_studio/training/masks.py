"""On-the-fly hole masks: LaMa-style strokes/boxes at three widths plus old-photo damage.

Every generator returns an (H, W) uint8 mask, 0 = keep, 255 = hole, never empty, with
coverage at most `max_coverage` (default 50%; see `enforce_coverage`). Generators take a
numpy Generator so evaluation masks are reproducible from a seed.

The stroke kinds differ by stroke width (thin 5-25 px, medium up to 105 px plus boxes,
thick up to 255 px plus large boxes; LaMa's 512 px settings), not by area: at 512 px all
three cover about 30% on average, and on 256 px crops thin masks often reach the cap.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MASK_KINDS = ("scratch", "thin", "medium", "thick")


@dataclass(frozen=True)
class StrokeSpec:
    """Ranges for one LaMa-style stroke family (lengths and widths in pixels)."""

    strokes: tuple[int, int]
    max_len: int
    width: tuple[int, int]
    boxes: tuple[int, int] | None = None
    box_size: tuple[int, int] | None = None
    box_proba: float = 0.0


SPECS = {
    "thin": StrokeSpec(strokes=(4, 70), max_len=100, width=(5, 25)),
    "medium": StrokeSpec(
        strokes=(4, 10),
        max_len=200,
        width=(5, 105),
        boxes=(1, 5),
        box_size=(30, 150),
        box_proba=0.3,
    ),
    "thick": StrokeSpec(
        strokes=(1, 5),
        max_len=450,
        width=(5, 255),
        boxes=(1, 4),
        box_size=(30, 300),
        box_proba=0.3,
    ),
}


def _draw_stroke(mask: np.ndarray, rng: np.random.Generator, max_len: int, width: int) -> None:
    """Draw one stroke of 1-5 chained segments with round joints into mask (in place)."""
    h, w = mask.shape
    x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
    for _ in range(int(rng.integers(1, 6))):
        angle = rng.uniform(0, 2 * np.pi)
        length = rng.uniform(10, max(11, max_len))
        nx = int(np.clip(x + length * np.cos(angle), 0, w - 1))
        ny = int(np.clip(y + length * np.sin(angle), 0, h - 1))
        cv2.line(mask, (x, y), (nx, ny), 255, int(width))
        cv2.circle(mask, (nx, ny), int(width) // 2, 255, -1)
        x, y = nx, ny


def _draw_box(mask: np.ndarray, rng: np.random.Generator, size: tuple[int, int]) -> None:
    h, w = mask.shape
    bw = int(min(w, rng.integers(size[0], size[1] + 1)))
    bh = int(min(h, rng.integers(size[0], size[1] + 1)))
    x = int(rng.integers(0, max(1, w - bw + 1)))
    y = int(rng.integers(0, max(1, h - bh + 1)))
    mask[y : y + bh, x : x + bw] = 255


def _cap_coverage(mask: np.ndarray, draws: list, max_coverage: float) -> np.ndarray:
    """Apply shape draws one by one, stopping before coverage would pass max_coverage."""
    out = np.zeros_like(mask)
    limit = max_coverage * mask.size
    for draw in draws:
        trial = out.copy()
        draw(trial)
        if np.count_nonzero(trial) > limit:
            if not out.any():  # the first shape alone is too big: thin it until it fits
                kernel = np.ones((9, 9), np.uint8)
                for _ in range(64):
                    if np.count_nonzero(trial) <= limit:
                        break
                    trial = cv2.erode(trial, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)
                out = trial
            break
        out = trial
    return out


def stroke_mask(
    shape: tuple[int, int], kind: str, rng: np.random.Generator, max_coverage: float = 0.5
) -> np.ndarray:
    """LaMa-style mask of `kind` in {"thin","medium","thick"}: (H, W) uint8 in {0, 255}."""
    spec = SPECS[kind]
    canvas = np.zeros(shape, np.uint8)
    draws = []
    if spec.boxes is not None and rng.random() < spec.box_proba:
        for _ in range(int(rng.integers(spec.boxes[0], spec.boxes[1] + 1))):
            seed = int(rng.integers(0, 2**31))
            draws.append(lambda m, s=seed: _draw_box(m, np.random.default_rng(s), spec.box_size))
    else:
        for _ in range(int(rng.integers(spec.strokes[0], spec.strokes[1] + 1))):
            seed = int(rng.integers(0, 2**31))
            width = int(rng.integers(spec.width[0], spec.width[1] + 1))
            draws.append(
                lambda m, s=seed, wd=width: _draw_stroke(
                    m, np.random.default_rng(s), spec.max_len, wd
                )
            )
    out = _cap_coverage(canvas, draws, max_coverage)
    if not out.any():  # never return an empty mask: fall back to one small stroke
        _draw_stroke(out, rng, min(spec.max_len, 60), spec.width[0])
    return enforce_coverage(out, max_coverage)  # the fallback (or a tiny image) may not fit


def _wavy_polyline(rng: np.random.Generator, h: int, w: int, min_frac: float = 0.4) -> np.ndarray:
    """Points of a long, gently wavy line crossing much of an (h, w) image: (N, 1, 2) int32."""
    length = rng.uniform(min_frac, 1.2) * max(h, w)
    angle = rng.uniform(0, np.pi)
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    n = max(8, int(length / 6))
    t = np.linspace(-0.5, 0.5, n) * length
    amp = rng.uniform(0.5, 4.0)
    freq = rng.uniform(0.5, 3.0) * 2 * np.pi / max(length, 1)
    phase = rng.uniform(0, 2 * np.pi)
    wobble = amp * np.sin(freq * t + phase) + np.cumsum(rng.normal(0, 0.3, n))
    dx, dy = np.cos(angle), np.sin(angle)
    xs = cx + t * dx - wobble * dy
    ys = cy + t * dy + wobble * dx
    return np.stack([xs, ys], axis=1).round().astype(np.int32).reshape(-1, 1, 2)


def scratch_mask(
    shape: tuple[int, int], rng: np.random.Generator, max_coverage: float = 0.5
) -> np.ndarray:
    """Old-photo damage: long wavy scratches 1-5 px, creases, dust specks; (H, W) uint8 0/255."""
    h, w = shape
    mask = np.zeros(shape, np.uint8)
    for _ in range(int(rng.integers(1, 7))):  # scratches
        pts = _wavy_polyline(rng, h, w)
        cv2.polylines(mask, [pts], False, 255, int(rng.integers(1, 6)))
    if rng.random() < 0.5:  # a crease: a longer line with a branching crack
        pts = _wavy_polyline(rng, h, w, min_frac=0.8)
        cv2.polylines(mask, [pts], False, 255, int(rng.integers(2, 8)))
        for _ in range(int(rng.integers(0, 4))):
            start = pts[int(rng.integers(0, len(pts)))][0]
            ang = rng.uniform(0, 2 * np.pi)
            ln = rng.uniform(10, 60)
            end = (int(start[0] + ln * np.cos(ang)), int(start[1] + ln * np.sin(ang)))
            cv2.line(mask, (int(start[0]), int(start[1])), end, 255, int(rng.integers(1, 3)))
    n_dust = min(400, int(rng.integers(5, 60) * (h * w) / (256 * 256)))
    for _ in range(n_dust):  # dust specks and small blotches
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        r = int(rng.choice([1, 1, 1, 2, 2, 3, 4, 6]))
        if rng.random() < 0.7:
            cv2.circle(mask, (x, y), r, 255, -1)
        else:
            axes = (r + int(rng.integers(0, 4)), max(1, r - 1))
            cv2.ellipse(mask, (x, y), axes, float(rng.uniform(0, 180)), 0, 360, 255, -1)
    if not mask.any():
        cv2.circle(mask, (w // 2, h // 2), 2, 255, -1)
    return enforce_coverage(mask, max_coverage)


def enforce_coverage(mask: np.ndarray, max_coverage: float) -> np.ndarray:
    """Thin an (H, W) uint8 0/255 mask until at most max_coverage of it (and >= 1 px) is set.

    Erodes by one pixel at a time (image borders erode too); a shape that would vanish
    before fitting (tiny images) keeps its innermost pixels instead. Returns `mask` itself
    when it already fits.
    """
    limit = max(1, int(max_coverage * mask.size))
    if np.count_nonzero(mask) <= limit:
        return mask
    kernel = np.ones((3, 3), np.uint8)
    while True:
        eroded = cv2.erode(mask, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)
        count = np.count_nonzero(eroded)
        if count == 0:
            break
        mask = eroded
        if count <= limit:
            return mask
    dist = cv2.distanceTransform(mask, cv2.DIST_L2, 3)
    keep = np.argsort(-dist, axis=None, kind="stable")[:limit]
    out = np.zeros_like(mask)
    out.flat[keep] = 255
    return out


def make_mask(
    shape: tuple[int, int], kind: str, rng: np.random.Generator, max_coverage: float = 0.5
) -> np.ndarray:
    """Mask of `kind` in MASK_KINDS for an image of shape (H, W): (H, W) uint8 in {0, 255}."""
    if kind == "scratch":
        return scratch_mask(shape, rng, max_coverage)
    if kind in SPECS:
        return stroke_mask(shape, kind, rng, max_coverage)
    raise ValueError(f"unknown mask kind {kind!r}; choose from {', '.join(MASK_KINDS)}")


TRAIN_MIX = {"scratch": 0.25, "thin": 0.25, "medium": 0.3, "thick": 0.2}


def random_training_mask(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A mask drawn from the training mixture TRAIN_MIX: (H, W) uint8 in {0, 255}."""
    kinds = list(TRAIN_MIX)
    kind = kinds[int(rng.choice(len(kinds), p=list(TRAIN_MIX.values())))]
    return make_mask(shape, kind, rng)
