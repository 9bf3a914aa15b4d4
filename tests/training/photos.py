"""Tiny synthetic "photos" for training and evaluation tests (no dependence on shared data)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def synthetic_photo(h: int, w: int, seed: int) -> np.ndarray:
    """(h, w, 3) uint8 RGB: smooth colour gradients with a few filled shapes and lines."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    ramp = (np.cos(angle) * xx / w + np.sin(angle) * yy / h + 1) / 3
    base = np.stack([ramp * c for c in rng.uniform(120, 255, 3)], axis=-1)
    img = np.ascontiguousarray(np.clip(base + 30, 0, 255).astype(np.uint8))
    for _ in range(3):
        color = tuple(int(v) for v in rng.integers(0, 256, 3))
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        if rng.random() < 0.5:
            cv2.circle(img, (x, y), int(rng.integers(w // 10, w // 4)), color, -1, cv2.LINE_AA)
        else:
            x2, y2 = int(rng.integers(0, w)), int(rng.integers(0, h))
            cv2.rectangle(img, (x, y), (x2, y2), color, -1)
    for _ in range(2):
        p1 = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        p2 = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        color = tuple(int(v) for v in rng.integers(0, 256, 3))
        cv2.line(img, p1, p2, color, int(rng.integers(1, 4)), cv2.LINE_AA)
    return img


def write_photos(folder: Path, n: int = 3, size: tuple[int, int] = (96, 96)) -> list[np.ndarray]:
    """Write n synthetic PNG photos (h, w) = size into folder; returns them as RGB arrays."""
    folder.mkdir(parents=True, exist_ok=True)
    photos = []
    for i in range(n):
        img = synthetic_photo(size[0], size[1], seed=i)
        assert cv2.imwrite(str(folder / f"photo_{i:02d}.png"), img[:, :, ::-1])
        photos.append(img)
    return photos
