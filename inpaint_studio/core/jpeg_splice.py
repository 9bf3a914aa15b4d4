"""JPEG exports without generation loss: the source's own DCT coefficients in every 8x8 block
an edit left alone, new ones (with the source's quantisation tables) only where it changed.

Re-saving a JPEG re-compresses every block: each round trip loses detail and shifts colours
a little, and an estimated quality never reproduces the camera's tables. Here the source's
quantised coefficients are read with libjpeg (the `jpeglib` package), the blocks whose
pixels the repair touched are encoded again from the edited pixels (JFIF colour conversion,
box downsampling as libjpeg does it, an exact 8x8 DCT, the source's tables), and the result is
written with optimised Huffman tables behind the source's own APPn / COM segments (EXIF with
its orientation, ICC, XMP, IPTC, JFIF density, comments: byte for byte, but for an EXIF
thumbnail, redrawn from the repaired photo), and whatever followed the source's image (a
motion photo's video) follows it again. Every pixel more than one MCU from a repair decodes
exactly as it did from the source; the written file is decoded and checked before it is
returned. Qt-free; arrays here are in the file's stored orientation.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from inpaint_studio.core import exif_thumbnail

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
# the re-encoded MCUs must decode this close to the edit (mean |error|, levels): JPEG at the
# source's tables is far closer; a wrong colour transform or table is far off
_MAX_REPAIR_ERROR = 16.0
_MCUS_PER_CHUNK = 4096  # 1M pixels of 4:2:0 MCUs a pass: about 50 MB of float64


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
    header = _header_segments(source, after)
    if header is None or not available():
        return None
    try:
        return _splice(source, header, changed, after)
    except Exception:  # libjpeg refused the file: the plain re-encode still works
        return None


def differs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels of two (H, W, 3) arrays that differ in any channel (in bands of
    about 4 MB and channel by channel: 2.5x faster on 100 MP than one whole-image compare)."""
    out = np.empty(a.shape[:2], dtype=bool)
    rows = max(8, 4_000_000 // max(1, a.shape[1] * a.shape[2]))
    for y in range(0, a.shape[0], rows):
        ne = a[y : y + rows] != b[y : y + rows]
        band = out[y : y + rows]
        np.logical_or(ne[..., 0], ne[..., 1], out=band)
        band |= ne[..., 2]
    return out


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
        space = getattr(jpeg.jpeg_color_space, "name", "")  # by name: jpeglib 1.0's enum
        if space != ("JCS_GRAYSCALE" if grey else "JCS_YCbCr"):  # says JCS_RGB == JCS_YCbCr
            return None  # RGB, CMYK or YCCK components: not what the encoder below makes
        factors = np.asarray(jpeg.samp_factor, dtype=int).reshape(-1, 2)  # rows: (v, h)
        most = (int(factors[:, 0].max()), int(factors[:, 1].max()))
        mcu = (8 * most[0], 8 * most[1])
        steps = [(most[0] // int(v), most[1] // int(h)) for v, h in factors]  # px per sample
        tables = np.asarray(jpeg.qt)
        tables = [tables[int(n)] for n in np.asarray(jpeg.quant_tbl_no).reshape(-1)]
        grids = [getattr(jpeg, name) for name in (["Y"] if grey else ["Y", "Cb", "Cr"])]
        hit = _mcu_any(changed, mcu)
        rows, cols = np.nonzero(hit)
        for at in range(0, rows.size, _MCUS_PER_CHUNK):  # bounded memory for big repairs
            chunk = rows[at : at + _MCUS_PER_CHUNK], cols[at : at + _MCUS_PER_CHUNK]
            news = mcu_blocks(after, *chunk, mcu, steps[: len(grids)], tables)
            hits = _mcu_tiles(changed, *chunk, mcu, outside=False)
            for grid, new, step in zip(grids, news, steps, strict=False):
                _place(grid, new, _block_hits(hits, step), *chunk)
        for name, grid in zip(["Y", "Cb", "Cr"], grids, strict=False):
            setattr(jpeg, name, grid)
        jpeg.write_dct(str(dst), flags=["+OPTIMIZE_CODING"])
        body = _body(dst.read_bytes())
    if body is None:
        return None
    data = b"\xff\xd8" + header + body
    if not _decodes_as(data, after, hit, mcu):
        return None
    return data + trailer(source)


def mcu_blocks(
    rgb: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    mcu: tuple[int, int],
    steps: list[tuple[int, int]],
    tables: list[np.ndarray],
) -> list[np.ndarray]:
    """Quantised coefficients of the MCUs at (rows[i], cols[i]) of (H, W, 3) uint8 RGB: per
    component (len(steps): 1 grey, 3 YCbCr) an (n, by, bx, 8, 8) int16 array, block (j, k) of
    MCU i, rows of each 8x8 block being vertical frequency; steps are pixels per sample
    (v, h), tables the (8, 8) quantisation tables. Past the image edge its last row and column
    repeat, as libjpeg pads an image to whole MCUs."""
    tiles = _mcu_tiles(rgb, rows, cols, mcu).astype(np.float64)
    if len(steps) == 1:  # grey: the luma of the (equal) channels
        planes = np.rint(tiles @ _YCC[0])[..., None]
    else:
        planes = np.rint(tiles @ _YCC.T + _YCC_OFFSET)
    return [
        _quantised(_component_blocks(planes[..., c], step), table)
        for c, (step, table) in enumerate(zip(steps, tables, strict=True))
    ]


def _mcu_tiles(
    a: np.ndarray, rows: np.ndarray, cols: np.ndarray, mcu: tuple[int, int], outside=None
) -> np.ndarray:
    """(n, mcu_h, mcu_w, ...) copies of `a`'s MCUs at (rows[i], cols[i]); past the edge the
    last row / column repeats, or `outside` fills it when given."""
    ys = rows[:, None] * mcu[0] + np.arange(mcu[0])
    xs = cols[:, None] * mcu[1] + np.arange(mcu[1])
    h, w = a.shape[:2]
    tiles = a[np.minimum(ys, h - 1)[:, :, None], np.minimum(xs, w - 1)[:, None, :]]
    if outside is not None:
        past = (ys >= h)[:, :, None] | (xs >= w)[:, None, :]
        tiles[past] = outside
    return tiles


def _component_blocks(samples: np.ndarray, step: tuple[int, int]) -> np.ndarray:
    """(n, mcu_h, mcu_w) samples 0..255 -> (n, by, bx, 8, 8) blocks of the component, after a
    box mean over step[0] x step[1] pixels, rounded (libjpeg's h2v1 / h2v2 downsampling)."""
    n, h, w = samples.shape
    if step != (1, 1):
        blocks = samples.reshape(n, h // step[0], step[0], w // step[1], step[1])
        samples = np.rint(blocks.mean(axis=(2, 4)))
        h, w = samples.shape[1:]
    return samples.reshape(n, h // 8, 8, w // 8, 8).transpose(0, 1, 3, 2, 4)


def _quantised(blocks: np.ndarray, table: np.ndarray) -> np.ndarray:
    """(..., 8, 8) samples 0..255 -> (..., 8, 8) int16: the level-shifted 8x8 DCT divided by
    the (8, 8) table, rounded."""
    freq = _DCT @ (blocks - 128.0) @ _DCT.T
    return np.clip(np.rint(freq / table), -2047, 2047).astype(np.int16)


def _block_hits(hits: np.ndarray, step: tuple[int, int]) -> np.ndarray:
    """(n, mcu_h, mcu_w) bool -> (n, by, bx): the component's blocks holding a change."""
    n, h, w = hits.shape
    size = (8 * step[0], 8 * step[1])
    return hits.reshape(n, h // size[0], size[0], w // size[1], size[1]).any(axis=(2, 4))


def _place(grid: np.ndarray, new: np.ndarray, hit: np.ndarray, rows, cols) -> None:
    """Write the hit blocks of `new` (n, by, bx, 8, 8) into the component's (R, C, 8, 8) grid
    at MCU (rows[i], cols[i]); blocks past the grid (the padding of the last MCU) are skipped."""
    i, j, k = np.nonzero(hit)
    r = rows[i] * new.shape[1] + j
    c = cols[i] * new.shape[2] + k
    ok = (r < grid.shape[0]) & (c < grid.shape[1])
    grid[r[ok], c[ok]] = new[i[ok], j[ok], k[ok]]


def segments(data: bytes) -> list[tuple[int, int, int]] | None:
    """(marker, start, end) of each segment of a JPEG after SOI up to SOS (SOS included);
    None when it does not parse."""
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


def trailer(data: bytes) -> bytes:
    """What follows a JPEG's own end-of-image marker: a motion photo's video, a maker's
    appended data (located from the end of the file, so it stays valid behind a new image);
    b"" when there is none or the file does not parse."""
    found = segments(data)
    if not found:
        return b""
    i, n = found[-1][2], len(data)
    while True:  # entropy-coded data: 0xFF is followed by 00 (stuffing), RSTn or a marker
        i = data.find(b"\xff", i)
        if i < 0 or i + 1 >= n:
            return b""
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
        elif marker == 0x00 or 0xD0 <= marker <= 0xD7:
            i += 2
        elif marker == 0xD9:
            return data[i + 2 :]
        else:  # a table or the next scan of a progressive file: skip its header
            length = int.from_bytes(data[i + 2 : i + 4], "big")
            if length < 2 or i + 4 > n:
                return b""
            i += 2 + length


def _is_meta(marker: int) -> bool:
    return 0xE0 <= marker <= 0xEF or marker == 0xFE  # APP0..APP15, COM


def _header_segments(data: bytes, after: np.ndarray | None = None) -> bytes | None:
    """The source's APPn / COM segments (all before its image data), verbatim and in order,
    but for an EXIF thumbnail redrawn from `after` when given (it is stored in the file's
    stored orientation, as `after` is here: core.exif_thumbnail); None if the file does not
    parse or is a multi-picture file."""
    found = segments(data)
    if found is None:
        return None
    out = []
    for marker, start, end in found:
        if not _is_meta(marker):
            continue
        if marker == 0xE2 and data[start + 4 : start + 8] == b"MPF\x00":
            return None  # a multi-picture file: its index points at images not written
        segment = data[start:end]
        if after is not None and marker == 0xE1 and segment[4:10] == exif_thumbnail.EXIF_HEADER:
            payload = exif_thumbnail.refreshed(segment[4:], after)
            segment = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
        out.append(segment)
    return b"".join(out)


def _body(data: bytes) -> bytes | None:
    """Everything of a written JPEG after SOI but its APPn / COM segments."""
    found = segments(data)
    if found is None:
        return None
    kept = [data[start:end] for marker, start, end in found if not _is_meta(marker)]
    return b"".join(kept) + data[found[-1][2] :]


def _mcu_any(flags: np.ndarray, mcu: tuple[int, int]) -> np.ndarray:
    """(H, W) bool -> (ceil(H / mcu_h), ceil(W / mcu_w)) bool: any flag inside each MCU."""
    h, w = flags.shape
    rows, cols = -(-h // mcu[0]), -(-w // mcu[1])
    grid = np.zeros((rows * mcu[0], cols * mcu[1]), dtype=bool)
    grid[:h, :w] = flags
    return grid.reshape(rows, mcu[0], cols, mcu[1]).any(axis=(1, 3))


def _decodes_as(data: bytes, after: np.ndarray, hit: np.ndarray, mcu: tuple[int, int]) -> bool:
    """The written file decodes, exactly like `after` from one MCU around the changed MCUs
    (`hit`, an (R, C) bool grid) to two and close to it in them (a wrong colour transform
    or table is far off). Further out the source's coefficients are untouched by
    construction; the encoder itself is checked against libjpeg in the tests."""
    import cv2

    flags = cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION  # libjpeg-turbo, as Pillow's
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), flags)  # BGR, stored orientation
    if decoded is None or decoded.shape != after.shape:
        return False
    band = _grown(hit, 2) & ~_grown(hit, 1)
    rows, cols = np.nonzero(band)
    got = _mcu_tiles(decoded, rows, cols, mcu)[..., ::-1]
    if not np.array_equal(got, _mcu_tiles(after, rows, cols, mcu)):
        return False
    return _mean_error(decoded, after, *np.nonzero(hit), mcu) <= _MAX_REPAIR_ERROR


def _mean_error(bgr: np.ndarray, rgb: np.ndarray, rows, cols, mcu: tuple[int, int]) -> float:
    """Mean absolute difference (levels) of (H, W, 3) BGR and RGB over the listed MCUs."""
    total = 0
    for at in range(0, rows.size, _MCUS_PER_CHUNK):
        chunk = rows[at : at + _MCUS_PER_CHUNK], cols[at : at + _MCUS_PER_CHUNK]
        a = _mcu_tiles(bgr, *chunk, mcu)[..., ::-1].astype(np.int16)
        total += int(np.abs(a - _mcu_tiles(rgb, *chunk, mcu)).sum())
    return total / max(1, rows.size * mcu[0] * mcu[1] * 3)


def _grown(grid: np.ndarray, steps: int) -> np.ndarray:
    """(R, C) bool grown by `steps` cells in all eight directions."""
    import cv2

    size = 2 * steps + 1
    return cv2.dilate(grid.astype(np.uint8), np.ones((size, size), np.uint8)).astype(bool)
