"""16-bit exports: a 16-bit source's own samples wherever an edit left its 8-bit value as
opened, the edited 8-bit value x 257 where it changed.

Editing runs in 8 bits (the canvas, the model, the undo history); an archival master scanned
at 16 bits per channel keeps its depth in every pixel the repair did not touch. PNG goes
through OpenCV's encoder (grey, RGB or RGBA) with the source's ICC profile (iCCP), DPI
(pHYs) and EXIF (eXIf) chunks added; TIFF through tifffile (deflate with a horizontal
predictor) with the ICC profile, DPI, the EXIF's main-IFD text tags (make, model, artist,
copyright, date, description, software) and its camera sub-IFD (exposure, lens, dates
taken) and GPS sub-IFD, appended as IFDs that the main IFD points to. Qt-free.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# EXIF main-IFD text tags written into a 16-bit TIFF (the ones scanners and editors set):
# ImageDescription, Make, Model, DateTime, Artist, Copyright (Software goes separately)
_TIFF_TEXT_TAGS = (270, 271, 272, 306, 315, 33432)
_SOFTWARE = 305


def reduce_16(values: np.ndarray) -> np.ndarray:
    """uint16 0..65535 -> uint8 0..255, rounded (v / 257); 8-bit data stored as v * 257 is exact."""
    return ((values.astype(np.uint32) + 128) // 257).astype(np.uint8)


def _merge(source: np.ndarray, edited: np.ndarray, whole_pixels: bool) -> np.ndarray:
    changed = reduce_16(source) != edited
    if whole_pixels:  # (H, W, 3): a pixel's colour is replaced whole
        changed = np.repeat(changed.any(axis=-1, keepdims=True), 3, axis=-1)
    out = source.copy()
    out[changed] = edited[changed].astype(np.uint16) * np.uint16(257)
    return out


def merge_16(samples16: np.ndarray, pixels: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """samples16: the source's (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA uint16; pixels:
    the edited uint8 image, (H, W) grey for a grey source, else (H, W, 3) RGB; alpha: the
    edited (H, W) uint8 alpha (None: the source's) -> uint16 of samples16's shape."""
    if samples16.ndim == 2:
        return _merge(samples16, pixels, False)
    colour = _merge(samples16[..., :3], pixels, True)
    if samples16.shape[2] == 3:
        return colour
    source_alpha = samples16[..., 3]
    edited_alpha = reduce_16(source_alpha) if alpha is None else alpha
    return np.dstack([colour, _merge(source_alpha, edited_alpha, False)])


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _exif_block(exif: bytes | None) -> bytes | None:
    """Raw EXIF ("Exif\\0\\0" + TIFF block) -> the TIFF block, or None."""
    if not exif:
        return None
    return exif[6:] if exif.startswith(b"Exif\x00\x00") else exif


def encode_png16(
    array: np.ndarray,
    *,
    exif: bytes | None = None,
    icc: bytes | None = None,
    dpi: tuple[float, float] | None = None,
    xmp: bytes | None = None,
) -> bytes:
    """(H, W) / (H, W, 3) / (H, W, 4) uint16 grey / RGB / RGBA -> 16-bit PNG bytes with the
    given EXIF, ICC profile, DPI and XMP (an iTXt chunk)."""
    import cv2  # imported lazily, as above

    if array.ndim == 3:
        order = [2, 1, 0] if array.shape[2] == 3 else [2, 1, 0, 3]
        array = array[..., order]  # OpenCV writes BGR(A)
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(array))
    if not ok:
        raise ValueError("the PNG encoder failed")
    data = encoded.tobytes()
    ihdr_end = len(PNG_SIGNATURE) + 25
    extra = b""
    if icc:
        extra += _chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(icc))
    if dpi:
        ppm = [max(1, round(v / 0.0254)) for v in dpi]
        extra += _chunk(b"pHYs", struct.pack(">IIB", ppm[0], ppm[1], 1))
    block = _exif_block(exif)
    if block:
        extra += _chunk(b"eXIf", block)
    if xmp:  # keyword, no compression, no language, no translated keyword
        extra += _chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + xmp)
    rest = _drop_chunks(data[ihdr_end:], {b"iCCP", b"sRGB", b"gAMA", b"pHYs", b"eXIf"})
    return data[:ihdr_end] + extra + rest


def _drop_chunks(data: bytes, kinds: set[bytes]) -> bytes:
    """PNG chunks after IHDR without those of the given kinds (so ours are not doubled)."""
    out, pos = [], 0
    while pos + 8 <= len(data):
        length = struct.unpack(">I", data[pos : pos + 4])[0]
        end = pos + 12 + length
        if data[pos + 4 : pos + 8] not in kinds:
            out.append(data[pos:end])
        pos = end
    return b"".join(out)


def encode_tiff16(
    array: np.ndarray,
    *,
    exif: bytes | None = None,
    icc: bytes | None = None,
    dpi: tuple[float, float] | None = None,
    xmp: bytes | None = None,
) -> bytes:
    """(H, W) / (H, W, 3) / (H, W, 4) uint16 grey / RGB / RGBA -> 16-bit TIFF bytes
    (deflate, horizontal predictor) with the ICC profile, DPI, EXIF main-IFD tags and XMP."""
    import tifffile

    photometric = "minisblack" if array.ndim == 2 else "rgb"
    extrasamples = ("unassalpha",) if array.ndim == 3 and array.shape[2] == 4 else None
    extratags, software = _tiff_tags(exif)
    if xmp:
        extratags = [*extratags, (700, 1, len(xmp), xmp, True)]  # XMLPacket, BYTE
    buffer = io.BytesIO()
    tifffile.imwrite(  # classic little-endian TIFF: what _with_exif_ifd can extend
        buffer,
        array,
        photometric=photometric,
        extrasamples=extrasamples,
        compression="zlib",
        predictor=True,
        resolution=None if not dpi else (float(dpi[0]), float(dpi[1])),
        resolutionunit="INCH" if dpi else None,
        iccprofile=icc or None,
        metadata=None,
        software=software,
        extratags=extratags,
        byteorder="<",
    )
    return _with_exif_ifd(buffer.getvalue(), exif)


_SUB_IFDS = {34665: 0x8769, 34853: 0x8825}  # main-IFD pointer tag -> Pillow's IFD: Exif, GPS


def _with_exif_ifd(data: bytes, exif: bytes | None) -> bytes:
    """Classic little-endian TIFF bytes plus the EXIF's camera (Exif) and GPS sub-IFDs: each
    is appended, then a copy of the first IFD with entries pointing to them, and the header
    is pointed at that copy (every other offset stays valid: nothing moves)."""
    block = _exif_block(exif)
    if not block or data[:4] != b"II*\x00":
        return data
    from PIL import Image, TiffImagePlugin

    out = bytearray(data)
    pointers = {}
    try:
        parsed = Image.Exif()
        parsed.load(b"Exif\x00\x00" + block)
        for pointer, key in _SUB_IFDS.items():
            tags = parsed.get_ifd(key)
            if not tags:
                continue
            ifd = TiffImagePlugin.ImageFileDirectory_v2(prefix=b"II")
            for tag, value in tags.items():
                ifd[tag] = value
            out += b"\x00" * (len(out) % 2)
            pointers[pointer] = len(out)
            out += ifd.tobytes(len(out))
    except Exception:  # a damaged EXIF block: the pixels matter more
        return data
    if not pointers:
        return data
    first = struct.unpack("<I", data[4:8])[0]
    count = struct.unpack("<H", data[first : first + 2])[0]
    entries = [data[first + 2 + 12 * i : first + 14 + 12 * i] for i in range(count)]
    next_ifd = data[first + 2 + 12 * count : first + 6 + 12 * count]
    entries = [e for e in entries if struct.unpack("<H", e[:2])[0] not in pointers]
    entries += [struct.pack("<HHII", tag, 4, 1, offset) for tag, offset in pointers.items()]
    entries.sort(key=lambda e: struct.unpack("<H", e[:2])[0])
    out += b"\x00" * (len(out) % 2)
    struct.pack_into("<I", out, 4, len(out))
    out += struct.pack("<H", len(entries)) + b"".join(entries) + next_ifd
    return bytes(out)


def _tiff_tags(exif: bytes | None) -> tuple[list[tuple], str | bool]:
    """(tifffile extratags, software) from the EXIF's main-IFD text tags."""
    block = _exif_block(exif)
    if not block:
        return [], False
    from PIL import Image

    parsed = Image.Exif()
    try:
        parsed.load(b"Exif\x00\x00" + block)
    except Exception:  # a damaged EXIF block: the pixels matter more
        return [], False

    def text(code: int) -> str | None:
        value = parsed.get(code)
        ok = isinstance(value, str) and value and value.isascii()  # TIFF ASCII only
        return value if ok else None

    tags = [(code, "s", 0, value, True) for code in _TIFF_TEXT_TAGS if (value := text(code))]
    return tags, text(_SOFTWARE) or False
