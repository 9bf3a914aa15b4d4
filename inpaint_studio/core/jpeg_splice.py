"""JPEG exports without generation loss: the source's own DCT coefficients in every 8x8 block
an edit left alone, new ones (with the source's quantisation tables) only where it changed.

Re-saving a JPEG re-compresses every block: each round trip loses detail and shifts colours
a little, and an estimated quality never reproduces the camera's tables. Here the source's
quantised coefficients are read with libjpeg (the `jpeglib` package), the blocks whose
pixels the repair touched are encoded again from the edited pixels (JFIF colour conversion,
box downsampling as libjpeg does it, an exact 8x8 DCT, the source's tables), and the result is
written with optimised Huffman tables behind the source's own APPn / COM segments (EXIF with
its orientation, ICC, XMP, IPTC, JFIF density, comments: byte for byte). Every pixel more than
one MCU from a repair decodes exactly as it did from the source; the written file is decoded
and checked before it is returned. Qt-free; arrays here are in the file's stored orientation.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np

# JFIF YCbCr from RGB (ITU-R BT.601, full range), as libjpeg's jccolor.c
_YCC = np.array(
    [
        [0.299, 0.587, 0.114],
        [-0.168735892, -0.331264108, 0.5],
        [0.5, -0.418687589, -0.081312411],
    ]
)
_YCC_OFFSET = np.array([0.0, 128.0, 128.0])


def _dct_matrix() -> np.ndarray:
    """(8, 8) orthonormal DCT-II: row u is frequency u, column x is sample x."""
    u = np.arange(8)[:, None]
    x = np.arange(8)[None, :]
    scale = np.where(u == 0, np.sqrt(1 / 8), np.sqrt(2 / 8))
    return scale * np.cos((2 * x + 1) * u * np.pi / 16)


_DCT = _dct_matrix()


def available() -> bool:
    """True when libjpeg's coefficient access (the `jpeglib` package) can be imported."""
    try:
        import jpeglib  # noqa: F401
    except Exception:  # not installed, or no wheel for this platform
        return False
    return True


def splice(source: bytes, after: np.ndarray, changed: np.ndarray) -> bytes | None:
    """JPEG bytes showing `after`: `source`'s coefficients in every block `changed` misses.

    source: a baseline or progressive 8-bit JPEG (YCbCr or grey); after: the edited pixels,
    (H, W, 3) uint8 RGB, and changed: (H, W) bool, where they differ from the source's
    decode, both in the file's stored orientation. Returns `source` itself when nothing
    changed, and None when this source cannot be spliced (no jpeglib, CMYK, 12-bit,
    arithmetic coding, another size, a multi-picture file) or the check of the written file
    fails: the caller then re-encodes the whole image."""
    if after.ndim != 3 or after.shape[2] != 3 or changed.shape != after.shape[:2]:
        return None
    if not changed.any():
        return source
    header = _header_segments(source)
    if header is None or not available():
        return None
    try:
        return _splice(source, header, changed, after)
    except Exception:  # libjpeg refused the file: the plain re-encode still works
        return None


def differs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels of two (H, W, 3) arrays that differ in any channel (channel by
    channel: 10x faster than any(axis=2))."""
    ne = a != b
    return ne[..., 0] | ne[..., 1] | ne[..., 2]


def _splice(source: bytes, header: bytes, changed: np.ndarray, after: np.ndarray) -> bytes | None:
    import jpeglib

    with tempfile.TemporaryDirectory(prefix="inpaint-jpeg-") as tmp:
        src, dst = Path(tmp, "source.jpg"), Path(tmp, "out.jpg")
        src.write_bytes(source)
        jpeg = jpeglib.read_dct(str(src))
        jpeg.load()
        height, width = changed.shape
        if (jpeg.height, jpeg.width) != (height, width) or jpeg.K is not None:
            return None
        grey = jpeg.num_components == 1
        space = jpeg.jpeg_color_space
        if (grey and space != jpeglib.JCS_GRAYSCALE) or (not grey and space != jpeglib.JCS_YCbCr):
            return None  # RGB, CMYK or YCCK components: not what the encoder below makes
        factors = np.asarray(jpeg.samp_factor, dtype=int).reshape(-1, 2)  # rows: (v, h)
        most = (int(factors[:, 0].max()), int(factors[:, 1].max()))
        mcu = (8 * most[0], 8 * most[1])
        box = _mcu_box(changed, mcu)
        planes = _ycc(_padded(after, box, mcu))
        tables = np.asarray(jpeg.qt)
        numbers = np.asarray(jpeg.quant_tbl_no).reshape(-1)
        names = ["Y"] if grey else ["Y", "Cb", "Cr"]
        for c, name in enumerate(names):
            coefficients = getattr(jpeg, name)
            step = (most[0] // int(factors[c, 0]), most[1] // int(factors[c, 1]))  # px / sample
            plane = _downsample(planes[c], step)
            new = _quantised_blocks(plane, tables[int(numbers[c])])
            hit = _block_hits(changed, box, step)
            by0, bx0 = box[0] // (8 * step[0]), box[1] // (8 * step[1])
            rows = min(new.shape[0], coefficients.shape[0] - by0)
            cols = min(new.shape[1], coefficients.shape[1] - bx0)
            hit = hit[:rows, :cols]
            region = coefficients[by0 : by0 + rows, bx0 : bx0 + cols]
            region[hit] = new[:rows, :cols][hit]
            setattr(jpeg, name, coefficients)
        jpeg.write_dct(str(dst), flags=["+OPTIMIZE_CODING"])
        body = _body(dst.read_bytes())
    if body is None:
        return None
    data = b"\xff\xd8" + header + body
    return data if _decodes_as(data, after, changed, mcu) else None


def _mcu_box(changed: np.ndarray, mcu: tuple[int, int]) -> tuple[int, int, int, int]:
    """(y0, x0, y1, x1) of the changed pixels, widened to whole MCUs (may pass the image)."""
    ys = np.flatnonzero(changed.any(axis=1))
    xs = np.flatnonzero(changed.any(axis=0))
    y0, x0 = ys[0] // mcu[0] * mcu[0], xs[0] // mcu[1] * mcu[1]
    y1 = -(-(ys[-1] + 1) // mcu[0]) * mcu[0]
    x1 = -(-(xs[-1] + 1) // mcu[1]) * mcu[1]
    return int(y0), int(x0), int(y1), int(x1)


def _padded(rgb: np.ndarray, box: tuple[int, int, int, int], mcu: tuple[int, int]) -> np.ndarray:
    """(y1-y0, x1-x0, 3) float64 crop of `rgb`; past the image edge its last row / column is
    repeated, as libjpeg pads an image to whole MCUs."""
    y0, x0, y1, x1 = box
    crop = rgb[y0:y1, x0:x1].astype(np.float64)
    pad_y, pad_x = (y1 - y0) - crop.shape[0], (x1 - x0) - crop.shape[1]
    if pad_y or pad_x:
        crop = np.pad(crop, ((0, pad_y), (0, pad_x), (0, 0)), mode="edge")
    return crop


def _ycc(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) float RGB 0..255 -> (3, H, W) Y, Cb, Cr 0..255 (JFIF), rounded to whole
    levels as libjpeg's 8-bit samples are (its decoder's rounding expects them)."""
    return np.rint(np.einsum("ck,hwk->chw", _YCC, rgb) + _YCC_OFFSET[:, None, None])


def _downsample(plane: np.ndarray, step: tuple[int, int]) -> np.ndarray:
    """Box mean over step[0] x step[1] pixels, rounded (libjpeg's h2v1 / h2v2 downsampling)."""
    if step == (1, 1):
        return plane
    h, w = plane.shape
    return np.rint(plane.reshape(h // step[0], step[0], w // step[1], step[1]).mean(axis=(1, 3)))


def _quantised_blocks(plane: np.ndarray, table: np.ndarray) -> np.ndarray:
    """(8a, 8b) float samples 0..255 -> (a, b, 8, 8) int16 coefficients (rows: vertical
    frequency) of the level-shifted 8x8 DCT divided by the (8, 8) table, rounded."""
    h, w = plane.shape
    blocks = plane.reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 1, 3) - 128.0
    freq = np.einsum("uy,abyx,vx->abuv", _DCT, blocks, _DCT)
    return np.clip(np.rint(freq / table), -2047, 2047).astype(np.int16)


def _block_hits(changed: np.ndarray, box: tuple[int, int, int, int], step: tuple[int, int]):
    """(rows, cols) bool: the component blocks inside `box` whose pixels include a change."""
    y0, x0, y1, x1 = box
    size = (8 * step[0], 8 * step[1])
    area = np.zeros((y1 - y0, x1 - x0), dtype=bool)
    crop = changed[y0:y1, x0:x1]
    area[: crop.shape[0], : crop.shape[1]] = crop
    rows, cols = area.shape[0] // size[0], area.shape[1] // size[1]
    return area.reshape(rows, size[0], cols, size[1]).any(axis=(1, 3))


def _segments(data: bytes) -> list[tuple[int, int, int]] | None:
    """(marker, start, end) of each segment after SOI up to SOS (SOS included), or None."""
    if data[:2] != b"\xff\xd8":
        return None
    out = []
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if length < 2 or i + 2 + length > len(data):
            return None
        out.append((marker, i, i + 2 + length))
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            return out
        i += 2 + length
    return None


def _is_meta(marker: int) -> bool:
    return 0xE0 <= marker <= 0xEF or marker == 0xFE  # APP0..APP15, COM


def _header_segments(data: bytes) -> bytes | None:
    """The source's APPn / COM segments (all before its image data), verbatim and in order;
    None if the file does not parse or is a multi-picture file."""
    segments = _segments(data)
    if segments is None:
        return None
    out = []
    for marker, start, end in segments:
        if not _is_meta(marker):
            continue
        if marker == 0xE2 and data[start + 4 : start + 8] == b"MPF\x00":
            return None  # a multi-picture file: its index points at images not written
        out.append(data[start:end])
    return b"".join(out)


def _body(data: bytes) -> bytes | None:
    """Everything of a written JPEG after SOI but its APPn / COM segments."""
    segments = _segments(data)
    if segments is None:
        return None
    kept = [data[start:end] for marker, start, end in segments if not _is_meta(marker)]
    return b"".join(kept) + data[segments[-1][2] :]


def _mcu_any(flags: np.ndarray, mcu: tuple[int, int]) -> np.ndarray:
    """(H, W) bool -> (ceil(H / mcu_h), ceil(W / mcu_w)) bool: any flag inside each MCU."""
    h, w = flags.shape
    rows, cols = -(-h // mcu[0]), -(-w // mcu[1])
    grid = np.zeros((rows * mcu[0], cols * mcu[1]), dtype=bool)
    grid[:h, :w] = flags
    return grid.reshape(rows, mcu[0], cols, mcu[1]).any(axis=(1, 3))


def _decodes_as(data: bytes, after: np.ndarray, changed: np.ndarray, mcu: tuple[int, int]) -> bool:
    """The written file decodes, and exactly like `after` from one MCU around the changes to
    two (further out the source's coefficients are untouched by construction; the encoder of
    the changed blocks is checked against libjpeg in tests/core/test_jpeg_splice.py)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        decoded = np.asarray(im.convert("RGB"))
    if decoded.shape != after.shape:
        return False
    y0, x0, y1, x1 = _mcu_box(changed, mcu)
    y0, x0 = max(0, y0 - 2 * mcu[0]), max(0, x0 - 2 * mcu[1])
    y1, x1 = y1 + 2 * mcu[0], x1 + 2 * mcu[1]
    crop = (slice(y0, y1), slice(x0, x1))
    hit = _mcu_any(changed[crop], mcu)
    near = hit.copy()  # one MCU around: chroma upsampling reads neighbouring samples
    near[1:] |= hit[:-1]
    near[:-1] |= hit[1:]
    wide = near.copy()
    wide[:, 1:] |= near[:, :-1]
    wide[:, :-1] |= near[:, 1:]
    return not (_mcu_any(differs(decoded[crop], after[crop]), mcu) & ~wide).any()
