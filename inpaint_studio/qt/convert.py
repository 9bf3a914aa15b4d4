"""numpy <-> QImage through qimage2ndarray, with in-place updates of a sub-rectangle."""

from __future__ import annotations

import os

os.environ.setdefault("QT_API", "pyside6")

import numpy as np  # noqa: E402
import qimage2ndarray  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402

from inpaint_studio.core.geometry import Rect  # noqa: E402

MASK_RGBA = (255, 40, 40, 128)  # translucent red overlay for the mask


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """(H,W,3) uint8 RGB -> new QImage Format_RGB32 owning its pixels."""
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected (H, W, 3) uint8, got {rgb.dtype} {rgb.shape}")
    return qimage2ndarray.array2qimage(rgb)


def qimage_to_rgb(image: QImage) -> np.ndarray:
    """QImage (any format) -> new (H,W,3) uint8 RGB array."""
    if image.format() not in (QImage.Format.Format_RGB32, QImage.Format.Format_ARGB32):
        image = image.convertToFormat(QImage.Format.Format_RGB32)
    return np.array(qimage2ndarray.rgb_view(image), copy=True)


def write_rgb(image: QImage, tile: np.ndarray, rect: Rect) -> None:
    """Copy a (rect.h, rect.w, 3) uint8 RGB `tile` into `rect` of an RGB32 `image`, in place."""
    if rect.is_empty():
        return
    qimage2ndarray.rgb_view(image)[rect.slices] = tile


def mask_to_qimage(mask: np.ndarray, rgba: tuple[int, int, int, int] = MASK_RGBA) -> QImage:
    """(H,W) uint8 {0,255} mask -> new ARGB32_Premultiplied overlay (transparent where 0)."""
    h, w = mask.shape
    image = QImage(w, h, QImage.Format.Format_ARGB32_Premultiplied)
    write_mask(image, mask, Rect(0, 0, w, h), rgba)
    return image


def write_mask(
    image: QImage, mask: np.ndarray, rect: Rect, rgba: tuple[int, int, int, int] = MASK_RGBA
) -> None:
    """Redraw the overlay `image` from (H,W) uint8 `mask` inside `rect` only."""
    if rect.is_empty():
        return
    r, g, b, a = rgba
    sel = mask[rect.slices] != 0
    view = qimage2ndarray.byte_view(image)[rect.slices]  # (h, w, 4) native ARGB32 words
    premultiplied = np.array([b * a // 255, g * a // 255, r * a // 255, a], np.uint8)
    if np.little_endian:
        pixel = premultiplied
    else:  # pragma: no cover - big-endian hosts store ARGB32 as A, R, G, B
        pixel = premultiplied[::-1]
    view[...] = 0
    view[sel] = pixel
