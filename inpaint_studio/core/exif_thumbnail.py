"""The EXIF thumbnail redrawn from the repaired photo, every other EXIF byte kept.

Cameras store a small JPEG (typically 160x120) in the EXIF block's second IFD; file browsers
and cameras show it instead of decoding the photo. Copied as it was, it keeps showing the
scratch or the object the user removed. Qt-free.
"""

from __future__ import annotations

import io
import struct

import numpy as np

EXIF_HEADER = b"Exif\x00\x00"
_OFFSET_TAG, _LENGTH_TAG = 0x0201, 0x0202  # JPEGInterchangeFormat(Length)
_APP1_ROOM = 65533 - 2  # an APP1 segment's payload, less its length field


def refreshed(exif: bytes, pixels: np.ndarray) -> bytes:
    """`exif` ("Exif\\0\\0" + TIFF) with its IFD1 JPEG thumbnail redrawn from `pixels`
    ((H, W, 3) uint8 RGB, in the orientation the thumbnail is stored in: the file's stored
    orientation when the EXIF keeps its Orientation tag). The new thumbnail has the old one's
    size (letterboxed in black when the aspect differs, as cameras do). Returns `exif` itself
    when it has no thumbnail, its layout is not understood, or the result would not fit one
    APP1 segment."""
    found = _thumbnail_entries(exif)
    if found is None:
        return exif
    endian, base, offset_at, length_at, start, length = found
    size = _size_of(exif[start : start + length])
    if size is None:
        return exif
    picture = _drawn(pixels, size)
    if start + length == len(exif):  # the usual layout: the thumbnail ends the block
        head = exif[:start]
    else:  # keep whatever follows it; the old bytes stay, unused
        head = exif
    for quality in (90, 80, 70, 60):
        data = _jpeg(picture, quality)
        if len(head) + len(data) <= _APP1_ROOM:
            break
    else:
        return exif
    out = bytearray(head + data)
    struct.pack_into(endian + "I", out, offset_at, len(head) - base)
    struct.pack_into(endian + "I", out, length_at, len(data))
    return bytes(out)


def _thumbnail_entries(exif: bytes) -> tuple[str, int, int, int, int, int] | None:
    """(endian, TIFF start, where the offset and length values sit, thumbnail start and
    length, all as positions in `exif`), or None without a JPEG thumbnail."""
    base = len(EXIF_HEADER) if exif.startswith(EXIF_HEADER) else 0
    endian = {b"II": "<", b"MM": ">"}.get(exif[base : base + 2])
    if endian is None:
        return None
    try:
        magic, ifd0 = struct.unpack_from(endian + "HI", exif, base + 2)
        if magic != 42:
            return None
        (count,) = struct.unpack_from(endian + "H", exif, base + ifd0)
        (ifd1,) = struct.unpack_from(endian + "I", exif, base + ifd0 + 2 + 12 * count)
        if ifd1 == 0:
            return None
        (count,) = struct.unpack_from(endian + "H", exif, base + ifd1)
        values: dict[int, tuple[int, int]] = {}
        for i in range(count):
            entry = base + ifd1 + 2 + 12 * i
            tag, kind, n = struct.unpack_from(endian + "HHI", exif, entry)
            if tag in (_OFFSET_TAG, _LENGTH_TAG) and kind == 4 and n == 1:
                (value,) = struct.unpack_from(endian + "I", exif, entry + 8)
                values[tag] = (entry + 8, value)
    except struct.error:
        return None
    if _OFFSET_TAG not in values or _LENGTH_TAG not in values:
        return None
    (offset_at, offset), (length_at, length) = values[_OFFSET_TAG], values[_LENGTH_TAG]
    start = base + offset
    if length <= 0 or start + length > len(exif) or exif[start : start + 2] != b"\xff\xd8":
        return None
    return endian, base, offset_at, length_at, start, length


def _size_of(jpeg: bytes) -> tuple[int, int] | None:
    """(width, height) of the old thumbnail, None when it does not open."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(jpeg)) as im:
            width, height = im.size
    except Exception:
        return None
    return (width, height) if 0 < width <= 640 and 0 < height <= 640 else None


def _drawn(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(h, w, 3) uint8: `pixels` shrunk to fit `size` = (w, h), centred on black."""
    import cv2  # lazily, as core.imageio does: opening a photo does not need it

    width, height = size
    h, w = pixels.shape[:2]
    scale = min(width / w, height / h)
    fit_w = min(width, max(1, round(w * scale)))
    fit_h = min(height, max(1, round(h * scale)))
    if abs(fit_w - width) <= 2 and abs(fit_h - height) <= 2:  # same aspect: fill it
        fit_w, fit_h = width, height
    step = max(1, int(min(h / fit_h, w / fit_w)) // 4)  # a strided view first: 100 MP is slow
    small = cv2.resize(pixels[::step, ::step], (fit_w, fit_h), interpolation=cv2.INTER_AREA)
    out = np.zeros((height, width, 3), np.uint8)
    y, x = (height - fit_h) // 2, (width - fit_w) // 2
    out[y : y + fit_h, x : x + fit_w] = small
    return out


def _jpeg(picture: np.ndarray, quality: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
