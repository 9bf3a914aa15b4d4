"""Synthetic scan damage for training the damage detector: a clean crop in, a damaged crop
and its label out (numpy + OpenCV, no torch).

The shapes are the old-photo damage of `training.masks.scratch_mask` (wavy scratches 1-5 px,
creases up to 7 px with cracks, dust specks and blotches). The look is drawn wide, so the
detector learns "narrow, lighter or darker, laid over the photo" and not one exact tone:

- the photo first: 30% turned black-and-white or sepia (many old prints are), film grain of
  0-6 grey levels in half of them (the crops' scale jitter varies the photo's detail size
  against the damage's width);
- the damage: light (60%: paper showing through a print's scratched emulsion, tone 170-255,
  slightly warm or cool) or dark (40%: dust on film, tone 0-80); opacity 0.45-1 per crop,
  varied smoothly along the damage (a scratch fades in and out); edge blur 0.3-1.3 px;
- then JPEG at quality 55-98 (70% of crops) as scans are usually kept;
- 15% of crops get no damage at all (nothing to find is a case to learn).

The label is the damage where it is visible: where it moved the grey value by at least
`VISIBLE` levels (a white scratch over white sky is no damage to repair).
"""

from __future__ import annotations

import cv2
import numpy as np

from inpaint_studio.training.masks import scratch_mask

VISIBLE = 6.0  # grey levels a damaged pixel must differ from the photo to count


def _old_photo_look(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(H,W,3) uint8 -> float32 (H,W,3) 0..255: sometimes grey or sepia, sometimes grainy."""
    out = rgb.astype(np.float32)
    if rng.random() < 0.3:
        grey = out @ np.array([0.299, 0.587, 0.114], np.float32)
        tint = np.array([1.0, 1.0, 1.0], np.float32)
        if rng.random() < 0.5:
            tint = np.array([1.07, 0.95, 0.78], np.float32)
        out = grey[..., None] * tint * rng.uniform(0.75, 1.0) + rng.uniform(0, 30)
    if rng.random() < 0.5:
        sigma = rng.uniform(0, 6)
        out += rng.normal(0, sigma, out.shape[:2])[..., None].astype(np.float32)
    return np.clip(out, 0, 255)


def _smooth_field(shape: tuple[int, int], rng: np.random.Generator, lo: float, hi: float):
    """(H,W) float32 in [lo, hi] varying over tens of px."""
    h, w = shape
    small = rng.uniform(lo, hi, (max(2, h // 48 + 2), max(2, w // 48 + 2))).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC).clip(lo, hi)


def damage_crop(rgb: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(S,S,3) uint8 clean crop -> ((S,S,3) uint8 damaged crop, (S,S) uint8 {0,1} label)."""
    s = rgb.shape[0]
    clean = _old_photo_look(rgb, rng)
    out = clean
    label = np.zeros((s, s), np.uint8)
    if rng.random() >= 0.15:
        damage = scratch_mask((s, s), rng).astype(np.float32) / 255
        blur = rng.uniform(0.3, 1.3)
        soft = cv2.GaussianBlur(damage, (0, 0), blur)
        alpha = soft * _smooth_field((s, s), rng, 0.45, 1.0) * rng.uniform(0.75, 1.0)
        if rng.random() < 0.6:
            tone = rng.uniform(170, 255) + rng.uniform(-8, 8, 3)
        else:
            tone = rng.uniform(0, 80) + rng.uniform(-5, 5, 3)
        out = clean * (1 - alpha[..., None]) + tone.astype(np.float32) * alpha[..., None]
        moved = np.abs((out - clean) @ np.array([0.299, 0.587, 0.114], np.float32))
        label = ((damage > 0.5) & (moved >= VISIBLE)).astype(np.uint8)
    img = np.clip(out, 0, 255).round().astype(np.uint8)
    if rng.random() < 0.7:
        q = int(rng.integers(55, 99))
        ok, data = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, q])
        if ok:
            img = np.ascontiguousarray(cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1])
    return img, label
