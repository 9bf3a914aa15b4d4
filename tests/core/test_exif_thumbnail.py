"""The EXIF thumbnail is redrawn from the repaired photo (core.exif_thumbnail)."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inpaint_studio.core import exif_thumbnail
from inpaint_studio.core.imageio import load_image, save_image


def _jpeg(pixels: np.ndarray, **params: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", **params)
    return buffer.getvalue()


def exif_with_thumbnail(thumb: bytes, endian: str = "<", trailer: bytes = b"") -> bytes:
    """ "Exif\\0\\0" + TIFF: IFD0 holds Make="Cam"; IFD1 a JPEG thumbnail; `trailer` after it."""
    order = b"II" if endian == "<" else b"MM"
    ifd0, ifd1 = 8, 8 + 2 + 12 + 4
    data_at = ifd1 + 2 + 3 * 12 + 4
    tiff = order + struct.pack(endian + "HI", 42, ifd0)
    tiff += struct.pack(endian + "H", 1) + struct.pack(endian + "HHI", 0x010F, 2, 4) + b"Cam\0"
    tiff += struct.pack(endian + "I", ifd1)
    tiff += struct.pack(endian + "H", 3)
    tiff += struct.pack(endian + "HHIHH", 0x0103, 3, 1, 6, 0)  # Compression: JPEG
    tiff += struct.pack(endian + "HHII", 0x0201, 4, 1, data_at)
    tiff += struct.pack(endian + "HHII", 0x0202, 4, 1, len(thumb))
    tiff += struct.pack(endian + "I", 0)
    assert len(tiff) == data_at
    return exif_thumbnail.EXIF_HEADER + tiff + thumb + trailer


def thumbnail_of(exif: bytes) -> np.ndarray:
    found = exif_thumbnail._thumbnail_entries(exif)
    assert found is not None
    start, length = found[4], found[5]
    with Image.open(io.BytesIO(exif[start : start + length])) as im:
        return np.asarray(im.convert("RGB"))


def changed_bytes(a: bytes, b: bytes, upto: int) -> list[int]:
    return [i for i in range(upto) if a[i] != b[i]]


def value_fields(exif: bytes) -> set[int]:
    """Positions of the thumbnail offset and length values that may change."""
    found = exif_thumbnail._thumbnail_entries(exif)
    offset_at, length_at = found[2], found[3]
    return {*range(offset_at, offset_at + 4), *range(length_at, length_at + 4)}


RED = np.full((120, 160, 3), (200, 30, 30), np.uint8)


@pytest.mark.parametrize("endian", ["<", ">"])
def test_the_thumbnail_shows_the_new_pixels_at_its_old_size(endian: str) -> None:
    exif = exif_with_thumbnail(_jpeg(RED), endian)
    blue = np.full((600, 800, 3), (20, 40, 210), np.uint8)
    out = exif_thumbnail.refreshed(exif, blue)
    thumb = thumbnail_of(out)
    assert thumb.shape == (120, 160, 3)
    assert np.abs(thumb.astype(int) - (20, 40, 210)).max() < 12
    assert set(changed_bytes(exif, out, len(exif) - len(_jpeg(RED)))) <= value_fields(exif)
    assert b"Cam\0" in out  # IFD0 kept


def test_another_aspect_is_letterboxed_and_data_after_the_thumbnail_is_kept() -> None:
    exif = exif_with_thumbnail(_jpeg(RED), trailer=b"MAKERNOTE")
    wide = np.full((400, 1200, 3), 230, np.uint8)  # 3:1 into 4:3
    out = exif_thumbnail.refreshed(exif, wide)
    # appended after the trailer: only the offset and length values changed before it
    assert set(changed_bytes(exif, out, len(exif))) <= value_fields(exif)
    thumb = thumbnail_of(out).astype(int)
    assert thumb.shape == (120, 160, 3)
    assert thumb[60, 80].min() > 215  # the photo in the middle
    assert thumb[2, 80].max() < 20 and thumb[-3, 80].max() < 20  # black bars


def test_without_a_thumbnail_the_block_is_returned_as_it_is() -> None:
    exif = Image.Exif()
    exif[0x010F] = "Cam"
    raw = exif.tobytes()
    assert exif_thumbnail.refreshed(raw, RED) is raw
    assert exif_thumbnail.refreshed(b"Exif\0\0garbage", RED) == b"Exif\0\0garbage"


@pytest.mark.parametrize("quality", [None, 90])  # None: source blocks kept; 90: re-encoded
def test_an_export_carries_a_thumbnail_of_the_repair(tmp_path: Path, quality) -> None:
    photo = np.full((240, 320, 3), (200, 30, 30), np.uint8)
    src = tmp_path / "in.jpg"
    src.write_bytes(_jpeg(photo, quality=90, exif=exif_with_thumbnail(_jpeg(RED))))
    loaded = load_image(src)
    edited = loaded.pixels.copy()
    edited[:, 160:] = (20, 40, 210)  # the right half repaired to blue
    how = save_image(tmp_path / "out.jpg", edited, like=loaded, quality=quality)
    assert ("kept" in how) == (quality is None)
    with Image.open(tmp_path / "out.jpg") as im:
        exif = im.info["exif"]
    thumb = thumbnail_of(exif).astype(int)
    assert np.abs(thumb[60, 40] - (200, 30, 30)).max() < 16
    assert np.abs(thumb[60, 120] - (20, 40, 210)).max() < 16
    assert b"Cam\0" in exif
