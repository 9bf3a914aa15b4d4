"""Photo folder -> random training crops (uint8 RGB) with scale jitter and flips."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

PHOTO_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


def list_photos(folder: str | Path) -> list[Path]:
    """Sorted photo files directly inside `folder` (raises FileNotFoundError if none)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder of photos")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in PHOTO_EXTENSIONS)
    if not files:
        raise FileNotFoundError(f"no photos ({', '.join(sorted(PHOTO_EXTENSIONS))}) in {folder}")
    return files


def read_rgb(path: Path) -> np.ndarray:
    """Decode a photo to (H, W, 3) uint8 RGB (raises ValueError if unreadable)."""
    data = np.fromfile(str(path), np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"cannot decode {path}")
    return np.ascontiguousarray(bgr[:, :, ::-1])


class PhotoCrops:
    """All photos of a folder held in memory; `sample(rng)` gives one (S, S, 3) uint8 crop."""

    def __init__(
        self, folder: str | Path, crop: int = 256, scale: tuple[float, float] = (0.6, 1.2)
    ):
        self.paths = list_photos(folder)
        self.images = [read_rgb(p) for p in self.paths]
        self.crop = crop
        self.scale = scale

    def __len__(self) -> int:
        return len(self.images)

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """A random crop: scale jitter (never below crop size), random position, h/v flip."""
        img = self.images[int(rng.integers(len(self.images)))]
        h, w = img.shape[:2]
        s = self.crop
        lo = max(self.scale[0], s / min(h, w))
        hi = max(lo, self.scale[1])
        f = float(rng.uniform(lo, hi))
        if abs(f - 1.0) > 1e-3 or min(h, w) < s:  # photos smaller than a crop are upscaled
            nh, nw = max(s, round(h * f)), max(s, round(w * f))
            interp = cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC
            img = cv2.resize(img, (nw, nh), interpolation=interp)
            h, w = nh, nw
        y = int(rng.integers(0, h - s + 1))
        x = int(rng.integers(0, w - s + 1))
        out = img[y : y + s, x : x + s]
        if rng.random() < 0.5:
            out = out[:, ::-1]
        return np.ascontiguousarray(out)
