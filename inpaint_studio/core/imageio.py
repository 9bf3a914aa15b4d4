"""Image file I/O: load photos and masks, save atomically, keep EXIF / ICC / JPEG quality.

No Qt, no torch. Pixels cross this module as numpy arrays: images are (H, W, 3) uint8 RGB,
alpha and masks are (H, W) uint8. Every failure a user can cause (missing, damaged, huge or
unsupported files, unwritable folders, full disks) is raised as an ``InpaintStudioError``
subclass whose message is one line naming the file.
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, JpegImagePlugin

from inpaint_studio.core import exif_thumbnail, jpeg_splice, xmp_iptc
from inpaint_studio.core.atomic import copy_mode as _copy_mode
from inpaint_studio.core.atomic import create_temp as _create_temp
from inpaint_studio.core.atomic import fsync_dir as _fsync_dir
from inpaint_studio.core.atomic import os_reason as _os_reason
from inpaint_studio.core.deep_export import encode_png16, encode_tiff16, merge_16, reduce_16
from inpaint_studio.errors import ImageLoadError, ImageSaveError, InpaintStudioError, MaskError

#: Largest image (width * height) that load_image decodes unless told otherwise: 200 MP is
#: above any camera sensor and far below what a hostile "decompression bomb" file claims.
DEFAULT_MAX_PIXELS = 200_000_000

#: Environment variable that overrides DEFAULT_MAX_PIXELS (a positive integer, e.g. 400000000).
ENV_MAX_PIXELS = "INPAINT_STUDIO_MAX_PIXELS"

#: File extensions save_image can write (and the usual extensions load_image reads).
SUPPORTED_EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp")

# Pillow decoders we accept (camera MPO files come through "JPEG"). Anything else (EPS via
# Ghostscript, PSD, ICO, ...) is refused.
_OPEN_FORMATS = ("JPEG", "PNG", "TIFF", "WEBP", "BMP", "DIB", "GIF")
_FORMAT_LIST_TEXT = "JPEG, PNG, TIFF, WebP, BMP or GIF"

_SAVE_FORMATS = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".png": "PNG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
    ".bmp": "BMP",
}
_ALPHA_FORMATS = frozenset({"PNG", "WEBP", "TIFF"})
_GREY_FORMATS = frozenset({"JPEG", "PNG", "TIFF", "BMP"})  # WebP has no grey mode
_MAX_SIDE = {"JPEG": 65_535, "WEBP": 16_383}
_JPEG_MAX_EXIF = 65_533  # one APP1 segment, minus its length field
_DEFAULT_QUALITY = 95
_EXIF_HEADER = b"Exif\x00\x00"
_ORIENTATION_TAG = 0x0112
_EXIF_IFD_TAG = 0x8769
_GPS_IFD_TAG = 0x8825
# Descriptive IFD0 tags carried from a TIFF source into EXIF (its structural tags are not EXIF).
_TIFF_EXIF_TAGS = (0x010E, 0x010F, 0x0110, 0x0131, 0x0132, 0x013B, 0x8298)

# IJG standard luminance quantisation table (ITU T.81 Annex K), natural (row-major) order.
_IJG_LUMA = np.array(
    [
        [16, 11, 10, 16, 24, 40, 51, 61],
        [12, 12, 14, 19, 26, 58, 60, 55],
        [14, 13, 16, 24, 40, 57, 69, 56],
        [14, 17, 22, 29, 51, 87, 80, 62],
        [18, 22, 37, 56, 68, 109, 103, 77],
        [24, 35, 55, 64, 81, 104, 113, 92],
        [49, 64, 78, 87, 103, 121, 120, 101],
        [72, 92, 95, 98, 112, 100, 103, 99],
    ],
    dtype=np.int64,
).ravel()

_16_BIT_NOTE = "16-bit image reduced to 8 bits per channel"
_16_BIT_KEPT_NOTE = (
    "16-bit image: edited in 8 bits; PNG and TIFF exports keep all 16 bits outside the "
    "repaired areas"
)

# Image.MAX_IMAGE_PIXELS and the warnings filters are process-wide: change them only under
# this lock and always put them back.
_PIL_GLOBALS_LOCK = threading.RLock()


@dataclass
class LoadedImage:
    """A decoded photo plus what is needed to write it back faithfully."""

    pixels: np.ndarray  # (H, W, 3) uint8 RGB, C-contiguous, EXIF orientation applied
    alpha: np.ndarray | None  # (H, W) uint8 or None
    format: str  # Pillow format name: "JPEG", "PNG", "TIFF", "WEBP", "BMP", "GIF"
    exif: bytes | None  # raw EXIF ("Exif\0\0" + TIFF block), Orientation reset to 1
    icc_profile: bytes | None
    jpeg_quality: int | None  # estimated from the quantisation tables (JPEG only)
    jpeg_subsampling: int | None  # Pillow code of the source JPEG: 0=4:4:4, 1=4:2:2, 2=4:2:0
    dpi: tuple[float, float] | None
    source_path: Path | None
    source_bytes_size: int | None
    bit_depth: int  # bits per channel of the source: 8, 16 (32 for rare float/int TIFFs)
    warnings: list[str] = field(default_factory=list)  # what the load lost, for the user
    grey: bool = False  # the source has one colour channel (grey, grey + alpha): saved so
    # a 16-bit source's samples, orientation applied: (H, W) grey, (H, W, 3) RGB or (H, W, 4)
    # RGBA uint16 (None for 8-bit sources and 16-bit grey + alpha); PNG / TIFF exports keep
    # them wherever an edit left the 8-bit value as opened (core.deep_export)
    samples16: np.ndarray | None = None
    # the JPEG file as opened (None for other formats): JPEG exports of edits keep its
    # coefficients in every 8x8 block the edit left alone (core.jpeg_splice)
    source_jpeg: bytes | None = field(default=None, repr=False)
    # written back on every export (core.xmp_iptc): the XMP packet (a tiff:Orientation in it
    # reset to 1 like the EXIF's), a JPEG's APP13 segments (IPTC) and its COM text
    xmp: bytes | None = field(default=None, repr=False)
    app13: bytes | None = field(default=None, repr=False)
    comment: bytes | None = field(default=None, repr=False)

    @property
    def notices(self) -> list[str]:
        """What the user should know about the file, nothing being lost (16-bit masters)."""
        return [] if self.samples16 is None else [_16_BIT_KEPT_NOTE]

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of ``pixels`` in pixels."""
        return int(self.pixels.shape[1]), int(self.pixels.shape[0])


# --------------------------------------------------------------------------- load


def load_image(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """Decode an image file to (H, W, 3) uint8 RGB (+ (H, W) uint8 alpha); raises ImageLoadError."""
    return _load(Path(path), max_pixels, ImageLoadError, "Cannot open")


def decode_samples16(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray | None:
    """LoadedImage.samples16 of the bytes of an image file (a project's kept original), or
    None if it is not a 16-bit image whose depth exports keep, or cannot be decoded."""
    try:
        with _pillow_globals(None):
            Image.MAX_IMAGE_PIXELS = max_pixels
            f = io.BytesIO(data)
            return _decode(Image.open(f, formats=_OPEN_FORMATS), f).samples16
    except Exception:  # decoders raise anything on hostile input
        return None


def default_max_pixels() -> int:
    """Pixel limit (width * height) to use: $INPAINT_STUDIO_MAX_PIXELS if valid, else 200 MP."""
    raw = os.environ.get(ENV_MAX_PIXELS, "").strip()
    try:
        value = int(raw)
    except ValueError:
        return DEFAULT_MAX_PIXELS
    return value if value > 0 else DEFAULT_MAX_PIXELS


def read_image_header(path: str | Path) -> tuple[int, int, str]:
    """(width, height, format) as load_image would return them, read without decoding pixels."""
    p = Path(path)
    prefix = "Cannot open"
    with _open_file(p, ImageLoadError, prefix) as f, _pillow_globals(None):
        try:
            im = Image.open(f, formats=_OPEN_FORMATS)
            width, height = im.size
            fmt = _format_name(im)
            # PNG may keep eXIf after the pixel data; getexif() would then decode the image.
            header_only = im.format != "PNG" or "exif" in im.info
            orientation = _orientation(im) if header_only else 1
        except Exception as exc:  # decoders raise anything on hostile input
            raise _load_error(ImageLoadError, prefix, p, exc) from exc
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return width, height, fmt


def load_mask(path: str | Path, size: tuple[int, int]) -> np.ndarray:
    """Read a mask file as (H, W) uint8 with exactly 0 / 255 (>= 128 -> 255); raises MaskError."""
    p = Path(path)
    loaded = _load(p, DEFAULT_MAX_PIXELS, MaskError, "Cannot open mask")
    width, height = loaded.size
    if (width, height) != (int(size[0]), int(size[1])):
        raise MaskError(
            f"mask {_display_name(p)} is {width}x{height} but the image is "
            f"{size[0]}x{size[1]}; a mask must have the image's size."
        )
    if loaded.alpha is not None and int(loaded.alpha.min()) < 255:
        values = loaded.alpha  # strokes painted on a transparent layer
    else:
        values = _luminance(loaded.pixels)
    return np.where(values >= 128, np.uint8(255), np.uint8(0))


def jpeg_quality_for(like: LoadedImage | None) -> int:
    """Default export quality 1..100: the source JPEG's estimate clamped to 75..98, else 95."""
    if like is not None and like.format == "JPEG" and like.jpeg_quality is not None:
        return int(min(98, max(75, like.jpeg_quality)))
    return _DEFAULT_QUALITY


def estimate_jpeg_quality(luma_table: list[int] | np.ndarray) -> int:
    """IJG quality 1..100 whose scaled standard luminance table best matches 64 values."""
    table = np.asarray(luma_table, dtype=np.int64).ravel()
    if table.size != 64:
        raise ValueError("a JPEG quantisation table has 64 entries")
    best_q, best_err = 100, None
    for q in range(100, 0, -1):  # on ties keep the higher quality
        err = int(np.abs(_ijg_table(q) - table).sum())
        if best_err is None or err < best_err:
            best_q, best_err = q, err
    return best_q


def _ijg_table(quality: int) -> np.ndarray:
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return np.clip((_IJG_LUMA * scale + 50) // 100, 1, 255)


def _load(
    p: Path, max_pixels: int, error_cls: type[InpaintStudioError], prefix: str
) -> LoadedImage:
    with _open_file(p, error_cls, prefix) as f, _pillow_globals(None):
        try:
            source_size = os.fstat(f.fileno()).st_size
            im = Image.open(f, formats=_OPEN_FORMATS)
            width, height = im.size
            if width <= 0 or height <= 0:
                raise error_cls(f"{prefix} {_display_name(p)}: the image has no pixels.")
            if max_pixels is not None and width * height > max_pixels:
                raise error_cls(
                    f"{prefix} {_display_name(p)}: the image is {width}x{height} pixels, "
                    f"more than the limit of {max_pixels:,} pixels."
                )
            # From here on Pillow's own bomb guard uses the caller's limit as well.
            Image.MAX_IMAGE_PIXELS = max_pixels
            loaded = _decode(im, f)
            if im.format in ("JPEG", "MPO"):
                f.seek(0)
                data = f.read()
                loaded.app13 = xmp_iptc.app13_of(data)
                if im.format == "JPEG":  # not MPO: its APP2 index points at further images
                    loaded.source_jpeg = data
        except InpaintStudioError:
            raise
        except Exception as exc:  # decoders raise anything on hostile input
            raise _load_error(error_cls, prefix, p, exc, max_pixels) from exc
    loaded.source_path = p
    loaded.source_bytes_size = source_size
    return loaded


@contextlib.contextmanager
def _open_file(
    p: Path, error_cls: type[InpaintStudioError], prefix: str
) -> Iterator[io.BufferedReader]:
    name = _display_name(p)
    try:
        if p.is_dir():
            raise error_cls(f"{prefix} {name}: it is a folder, not an image file.")
        f = open(p, "rb")  # closed by the with-block below
    except InpaintStudioError:
        raise
    except FileNotFoundError as exc:
        raise error_cls(f"{prefix} {name}: the file does not exist.") from exc
    except OSError as exc:
        raise error_cls(f"{prefix} {name}: {_os_reason(exc)}.") from exc
    with f:
        try:
            empty = os.fstat(f.fileno()).st_size == 0
        except OSError as exc:
            raise error_cls(f"{prefix} {name}: {_os_reason(exc)}.") from exc
        if empty:
            raise error_cls(f"{prefix} {name}: the file is empty.")
        yield f


@contextlib.contextmanager
def _pillow_globals(max_pixels: int | None) -> Iterator[None]:
    with _PIL_GLOBALS_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = max_pixels
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # "corrupt EXIF" chatter
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _load_error(
    error_cls: type[InpaintStudioError],
    prefix: str,
    p: Path,
    exc: BaseException,
    max_pixels: int | None = None,
) -> InpaintStudioError:
    if isinstance(exc, Image.UnidentifiedImageError):
        reason = f"it is not an image in a supported format ({_FORMAT_LIST_TEXT})"
    elif isinstance(exc, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        limit = f" of {max_pixels:,} pixels" if max_pixels else ""
        reason = f"the image is larger than the limit{limit} (possible decompression bomb)"
    elif isinstance(exc, MemoryError):
        reason = "there is not enough memory to open it"
    elif isinstance(exc, OSError) and exc.errno is not None:
        reason = _os_reason(exc)
    else:
        reason = "the file is damaged or incomplete"
    return error_cls(f"{prefix} {_display_name(p)}: {reason}.")


def _decode(im: Image.Image, f: io.BufferedReader) -> LoadedImage:
    notes: list[str] = []
    fmt = _format_name(im)
    rawmode = _tile_rawmode(im)  # how samples are stored; load() clears the tile list
    im.load()
    rgb, alpha, bit_depth, icc, samples16 = _to_rgb(im, rawmode, f, notes)
    grey = _is_grey_mode(im.mode, rawmode)
    orientation = _orientation(im)
    if orientation != 1:
        rgb = _apply_orientation(rgb, orientation)
        alpha = None if alpha is None else _apply_orientation(alpha, orientation)
        samples16 = None if samples16 is None else _apply_orientation(samples16, orientation)
    quality = subsampling = None
    if isinstance(im, JpegImagePlugin.JpegImageFile):
        quality, subsampling = _jpeg_settings(im)
    dpi = _dpi(im.info.get("dpi"))
    if dpi is not None and orientation in (5, 6, 7, 8):
        dpi = (dpi[1], dpi[0])
    exif = _exif_bytes(im, orientation)
    if im.format != "MPO" and _has_more_frames(im):  # last: it may seek away from frame 0
        if im.format == "TIFF":
            notes.append("multi-page TIFF: only the first page was opened")
        else:
            notes.append("animated image: only the first frame was opened")
    return LoadedImage(
        pixels=np.ascontiguousarray(rgb, dtype=np.uint8),
        alpha=None if alpha is None else np.ascontiguousarray(alpha, dtype=np.uint8),
        format=fmt,
        exif=exif,
        icc_profile=icc,
        jpeg_quality=quality,
        jpeg_subsampling=subsampling,
        dpi=dpi,
        source_path=None,
        source_bytes_size=None,
        bit_depth=bit_depth,
        warnings=notes,
        grey=grey,
        samples16=None if samples16 is None else np.ascontiguousarray(samples16, dtype=np.uint16),
        xmp=xmp_iptc.xmp_of(im, upright=orientation != 1),
        comment=xmp_iptc.comment_of(im),
    )


def _is_grey_mode(mode: str, rawmode: str) -> bool:
    """True for Pillow modes of one colour channel (16-bit grey + alpha arrives as "LA" with
    a ";16" raw mode, 16-bit grey as "I;16...", "I" or "F")."""
    return mode in ("L", "LA", "La", "1", "I", "F") or mode.startswith("I;16")


def _has_more_frames(im: Image.Image) -> bool:
    try:
        return bool(getattr(im, "is_animated", False))
    except Exception:  # the second frame exists but is damaged; the first one loaded fine
        return True


def _format_name(im: Image.Image) -> str:
    return {"MPO": "JPEG", "DIB": "BMP"}.get(im.format or "", im.format or "")


def _to_rgb(
    im: Image.Image, rawmode: str, f: io.BufferedReader, notes: list[str]
) -> tuple[np.ndarray, np.ndarray | None, int, bytes | None, np.ndarray | None]:
    """Pixels of the loaded first frame as RGB uint8, alpha, source bits, ICC bytes to keep
    and, for 16-bit sources, their uint16 samples (LoadedImage.samples16)."""
    icc = im.info.get("icc_profile") or None
    mode = im.mode
    if mode in ("RGB", "RGBA", "LA") and ";16" in rawmode:
        # Pillow keeps only the high byte of 16-bit colour; OpenCV gives all 16 bits.
        rgb, alpha, samples16 = _decode_with_opencv(im, f)
        if samples16 is None:
            notes.append(_16_BIT_NOTE)
        return rgb, alpha, 16, _kept_icc(icc), samples16
    if mode.startswith("I;16") or mode == "I":
        samples16 = np.clip(np.asarray(im), 0, 65535).astype(np.uint16)
        return _gray_to_rgb(reduce_16(samples16)), None, 16, _kept_icc(icc), samples16
    if mode == "F":
        data = np.nan_to_num(np.asarray(im, dtype=np.float64))
        if data.size and float(data.max()) <= 1.0:
            data = data * 255.0
        gray = np.clip(np.rint(data), 0, 255).astype(np.uint8)
        notes.append("32-bit floating-point image reduced to 8 bits per channel")
        return _gray_to_rgb(gray), None, 32, None, None
    if mode == "CMYK":
        notes.append("CMYK image converted to RGB")
        return np.asarray(_cmyk_to_rgb(im, icc)), None, 8, None, None
    if mode in ("P", "PA"):
        im = im.convert("RGBA" if mode == "PA" or im.has_transparency_data else "RGB")
    elif mode in ("RGB", "L", "1") and "transparency" in im.info:
        im = im.convert("RGBA")
    elif mode == "1":
        im = im.convert("L")
    elif mode == "La":
        im = im.convert("LA")
    elif mode == "RGBa":
        im = im.convert("RGBA")
    elif mode not in ("RGB", "RGBA", "L", "LA"):
        im = im.convert("RGB")  # RGBX, YCbCr, ...
    data = np.asarray(im)
    if im.mode == "L":
        return _gray_to_rgb(data), None, 8, _kept_icc(icc), None
    if im.mode == "LA":
        return _gray_to_rgb(data[..., 0]), data[..., 1], 8, _kept_icc(icc), None
    if im.mode == "RGBA":
        return data[..., :3], data[..., 3], 8, _kept_icc(icc), None
    return data, None, 8, _kept_icc(icc), None


def _tile_rawmode(im: Image.Image) -> str:
    if not im.tile:
        return ""
    args = im.tile[0][3]
    if isinstance(args, tuple):
        args = args[0] if args else ""
    return args if isinstance(args, str) else ""


def _decode_with_opencv(
    im: Image.Image, f: io.BufferedReader
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """16-bit colour or grey + alpha -> (RGB uint8, alpha uint8 or None, the uint16 samples
    in RGB(A) order, None for grey + alpha, which exports do not write at 16 bits)."""
    import cv2  # imported lazily: only 16-bit colour files need it

    f.seek(0)
    data = np.frombuffer(f.read(), dtype=np.uint8)
    arr = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if arr is None or arr.shape[:2] != (im.size[1], im.size[0]):
        raise ValueError("OpenCV could not decode the 16-bit image")
    if arr.dtype not in (np.uint8, np.uint16):
        raise ValueError("unexpected sample type")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    samples16 = None
    if arr.dtype == np.uint16 and (arr.ndim == 2 or arr.shape[2] in (3, 4)):
        order = [2, 1, 0] if arr.ndim == 3 and arr.shape[2] == 3 else [2, 1, 0, 3]
        samples16 = arr if arr.ndim == 2 else np.ascontiguousarray(arr[..., order])
    if arr.dtype == np.uint16:
        arr = reduce_16(arr)
    if arr.ndim == 2:
        return _gray_to_rgb(arr), None, samples16
    channels = arr.shape[2]
    if channels == 2:
        return _gray_to_rgb(arr[..., 0]), arr[..., 1], None
    if channels == 3:
        return arr[..., ::-1], None, samples16
    return arr[..., 2::-1], arr[..., 3], samples16


def _gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    return np.repeat(gray[..., None], 3, axis=2)


def _luminance(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H, W) uint8 Rec. 601 luma."""
    import cv2  # imported lazily, like in _decode_with_opencv

    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)


def _kept_icc(icc: bytes | None) -> bytes | None:
    """Keep an ICC profile only if it describes RGB or grey data (what is written back)."""
    if icc is None or len(icc) < 20:
        return None
    return icc if icc[16:20] in (b"RGB ", b"GRAY") else None


def to_grey(pixels: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H, W) uint8: the common value where R = G = B (a grey
    photo's own pixels, exact), Rec. 601 luma where a fill left a tint."""
    grey = np.ascontiguousarray(pixels[..., 0])
    tinted = (pixels[..., 1] != grey) | (pixels[..., 2] != grey)
    if tinted.any():
        grey[tinted] = _luminance(pixels)[tinted]
    return grey


def _icc_for(icc: bytes | None, grey: bool) -> bytes | None:
    """The source's ICC profile if it fits what is written (grey or RGB data), else None."""
    if icc is None or len(icc) < 20:
        return None
    return icc if icc[16:20] == (b"GRAY" if grey else b"RGB ") else None


def _cmyk_to_rgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    if icc is not None and icc[16:20] == b"CMYK":
        try:
            from PIL import ImageCms

            srgb = ImageCms.createProfile("sRGB")
            return ImageCms.profileToProfile(im, io.BytesIO(icc), srgb, outputMode="RGB")
        except Exception:  # broken profile or no LittleCMS: fall back to the naive formula
            pass
    return im.convert("RGB")


def _orientation(im: Image.Image) -> int:
    try:
        value = im.getexif().get(_ORIENTATION_TAG, 1)
        value = int(value[0] if isinstance(value, tuple) else value)
    except Exception:  # unreadable EXIF: leave the pixels as stored
        return 1
    return value if 1 <= value <= 8 else 1


def _apply_orientation(a: np.ndarray, orientation: int) -> np.ndarray:
    """Same result as PIL.ImageOps.exif_transpose for EXIF orientations 1..8, on (H, W[, C])."""
    if orientation == 2:
        return a[:, ::-1]
    if orientation == 3:
        return a[::-1, ::-1]
    if orientation == 4:
        return a[::-1]
    if orientation == 5:
        return a.swapaxes(0, 1)
    if orientation == 6:
        return np.rot90(a, k=-1)
    if orientation == 7:
        return a[::-1, ::-1].swapaxes(0, 1)
    if orientation == 8:
        return np.rot90(a, k=1)
    return a


def _exif_bytes(im: Image.Image, orientation: int) -> bytes | None:
    """The source's EXIF block ("Exif\\0\\0" + TIFF) with Orientation set to 1."""
    if im.format == "TIFF":
        return _exif_from_tiff(im)
    raw = im.info.get("exif")
    if not isinstance(raw, bytes) or not raw:
        return None
    if not raw.startswith(_EXIF_HEADER):
        raw = _EXIF_HEADER + raw
    patched = _patch_orientation(raw)
    if patched is not None:
        return patched
    try:  # layout our patcher does not understand: let Pillow rewrite the block
        exif = im.getexif()
        if orientation != 1 or _ORIENTATION_TAG in exif:
            exif[_ORIENTATION_TAG] = 1
        return exif.tobytes()
    except Exception:
        return None


def _patch_orientation(raw: bytes) -> bytes | None:
    """Set IFD0 Orientation to 1 in place (every other byte kept); None if the block is odd."""
    base = len(_EXIF_HEADER)
    order = raw[base : base + 2]
    endian = {b"II": "<", b"MM": ">"}.get(order)
    if endian is None:
        return None
    try:
        (magic, ifd) = struct.unpack_from(endian + "HI", raw, base + 2)
        if magic != 42:
            return None
        (count,) = struct.unpack_from(endian + "H", raw, base + ifd)
        for i in range(count):
            entry = base + ifd + 2 + 12 * i
            tag, kind, n = struct.unpack_from(endian + "HHI", raw, entry)
            if tag != _ORIENTATION_TAG:
                continue
            if n < 1 or kind not in (3, 4):
                return None
            out = bytearray(raw)
            struct.pack_into(endian + ("H" if kind == 3 else "I"), out, entry + 8, 1)
            return bytes(out)
    except struct.error:
        return None
    return raw  # no Orientation tag: nothing to reset


def _exif_from_tiff(im: Image.Image) -> bytes | None:
    try:
        src = im.getexif()
        exif = Image.Exif()
        for tag in _TIFF_EXIF_TAGS:
            if tag in src:
                exif[tag] = src[tag]
        for tag in (_EXIF_IFD_TAG, _GPS_IFD_TAG):
            if tag in src:
                sub = src.get_ifd(tag)
                if sub:
                    exif[tag] = dict(sub)
        if not len(exif):
            return None
        return exif.tobytes()
    except Exception:  # odd TIFF tags: the pixels matter more than the metadata
        return None


def _jpeg_settings(im: JpegImagePlugin.JpegImageFile) -> tuple[int | None, int | None]:
    quality = None
    tables = getattr(im, "quantization", None) or {}
    if 0 in tables and len(tables[0]) == 64:
        quality = estimate_jpeg_quality(list(tables[0]))
    sampling = JpegImagePlugin.get_sampling(im)
    return quality, (sampling if sampling in (0, 1, 2) else None)


def _dpi(value: object) -> tuple[float, float] | None:
    try:
        x, y = (float(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not (np.isfinite(x) and np.isfinite(y)) or x <= 0 or y <= 0:
        return None
    return x, y


# --------------------------------------------------------------------------- save


def save_image(
    path: str | Path,
    pixels: np.ndarray,
    *,
    alpha: np.ndarray | None = None,
    like: LoadedImage | None = None,
    quality: int | None = None,
) -> str:
    """Atomically write (H, W, 3) uint8 RGB (+ (H, W) uint8 alpha) by extension; ImageSaveError.

    Returns a few words on how a lossy format was written (for the status bar), else ""."""
    p = Path(path)
    name = _display_name(p)
    pixels, alpha = _check_arrays(pixels, alpha)
    fmt = _SAVE_FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise ImageSaveError(
            f"Cannot save {name}: unsupported file type '{p.suffix or '(none)'}' "
            "(use .jpg, .png, .tif, .webp or .bmp)."
        )
    height, width = pixels.shape[:2]
    limit = _MAX_SIDE.get(fmt)
    if limit is not None and max(width, height) > limit:
        raise ImageSaveError(
            f"Cannot save {name}: {fmt} images can be at most {limit:,} pixels on a side "
            f"(this one is {width}x{height})."
        )
    folder = p.parent
    if not folder.is_dir():
        raise ImageSaveError(f"Cannot save {name}: the folder {folder} does not exist.")
    if p.is_dir():
        raise ImageSaveError(f"Cannot save {name}: a folder with that name already exists.")
    tmp: Path | None = None
    how = ""
    try:
        deep = _deep_payload(fmt, pixels, alpha, like)
        if deep is None and quality is None:
            deep = _spliced_jpeg(fmt, pixels, like)
            if deep is not None:
                how = _SPLICE_NOTE if deep is not like.source_jpeg else _SOURCE_NOTE
        if deep is None:
            image, params = _encoder_input(fmt, pixels, alpha, like, quality)
            if params.get("quality") is not None:
                how = f"{fmt} quality {params['quality']}"
            if fmt == "JPEG":
                deep = _jpeg_with_source_extras(image, params, like)
        tmp, fd = _create_temp(p)
        with os.fdopen(fd, "wb") as f:
            if deep is None:
                image.save(f, format=fmt, **params)
            else:
                f.write(deep)
            f.flush()
            os.fsync(f.fileno())
        _copy_mode(p, tmp)
        os.replace(tmp, p)
        tmp = None
        _fsync_dir(folder)
    except Exception as exc:
        raise ImageSaveError(f"Cannot save {name}: {_save_reason(exc, fmt)}.") from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return how


def save_mask(path: str | Path, mask: np.ndarray) -> None:
    """Atomically write an (H, W) uint8 mask as grayscale PNG (non-zero -> 255); ImageSaveError."""
    p = Path(path)
    name = _display_name(p)
    if mask.ndim != 2:
        raise ImageSaveError(f"Cannot save {name}: a mask must be one channel.")
    if not p.parent.is_dir():
        raise ImageSaveError(f"Cannot save {name}: the folder {p.parent} does not exist.")
    image = Image.fromarray(np.where(mask != 0, np.uint8(255), np.uint8(0)), mode="L")
    tmp: Path | None = None
    try:
        tmp, fd = _create_temp(p)
        with os.fdopen(fd, "wb") as f:
            image.save(f, format="PNG", optimize=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
        tmp = None
        _fsync_dir(p.parent)
    except Exception as exc:
        raise ImageSaveError(f"Cannot save {name}: {_save_reason(exc, 'PNG')}.") from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _check_arrays(
    pixels: np.ndarray, alpha: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None]:
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"pixels must be (H, W, 3) uint8, got {pixels.shape} {pixels.dtype}")
    if pixels.shape[0] == 0 or pixels.shape[1] == 0:
        raise ValueError("pixels must not be empty")
    if alpha is not None:
        alpha = np.asarray(alpha)
        if alpha.dtype != np.uint8 or alpha.shape != pixels.shape[:2]:
            raise ValueError(
                f"alpha must be {pixels.shape[:2]} uint8, got {alpha.shape} {alpha.dtype}"
            )
    return pixels, alpha


def _deep_payload(
    fmt: str, pixels: np.ndarray, alpha: np.ndarray | None, like: LoadedImage | None
) -> bytes | None:
    """16-bit PNG / TIFF bytes when ``like`` is a 16-bit source of these pixels
    (core.deep_export), else None (the 8-bit encoders)."""
    if fmt not in ("PNG", "TIFF") or like is None or like.samples16 is None:
        return None
    samples = like.samples16
    if like.pixels.shape != pixels.shape:  # not an edit of this photo
        return None
    if samples.ndim == 3 and samples.shape[2] == 4 and alpha is None:
        samples = samples[..., :3]  # the alpha channel is not wanted
    elif alpha is not None and (samples.ndim == 2 or samples.shape[2] != 4):
        return None  # an alpha the 16-bit source did not have
    array = merge_16(samples, to_grey(pixels) if samples.ndim == 2 else pixels, alpha)
    icc = _icc_for(like.icc_profile, samples.ndim == 2)
    meta = {"exif": like.exif, "icc": icc, "xmp": like.xmp}
    if fmt == "PNG":
        return encode_png16(array, dpi=like.dpi, **meta)
    return encode_tiff16(array, dpi=like.dpi, **meta)


# EXIF orientation -> the one that undoes it (_apply_orientation of both is the identity)
_UNDO_ORIENTATION = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 8, 7: 7, 8: 6}


def _jpeg_with_source_extras(
    image: Image.Image, params: dict[str, object], like: LoadedImage | None
) -> bytes | None:
    """The re-encoded JPEG with what Pillow cannot write: the source's APP13 (IPTC) segments
    and whatever followed its image (a motion photo's video); None when there is neither."""
    if like is None:
        return None
    tail = b"" if like.source_jpeg is None else jpeg_splice.trailer(like.source_jpeg)
    if not (like.app13 or tail):
        return None
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", **params)
    return xmp_iptc.with_app13(buffer.getvalue(), like.app13) + tail


_SPLICE_NOTE = "original JPEG data kept outside the repairs"
_SOURCE_NOTE = "unchanged: the original JPEG file"


def _spliced_jpeg(fmt: str, pixels: np.ndarray, like: LoadedImage | None) -> bytes | None:
    """JPEG bytes that keep the source JPEG's unedited 8x8 blocks (core.jpeg_splice) when
    ``pixels`` are an edit of ``like``, a JPEG that was opened as a file, else None."""
    if fmt != "JPEG" or like is None or like.source_jpeg is None:
        return None
    if like.pixels.shape != pixels.shape:  # not an edit of this photo
        return None
    try:
        with Image.open(io.BytesIO(like.source_jpeg)) as im:
            undo = _UNDO_ORIENTATION[_orientation(im)]
    except Exception:  # the kept bytes do not open: re-encode instead
        return None
    changed = _apply_orientation(jpeg_splice.differs(like.pixels, pixels), undo)
    after = _apply_orientation(pixels, undo)  # a view: splice copies only crops of it
    return jpeg_splice.splice(like.source_jpeg, after, changed)


def _encoder_input(
    fmt: str,
    pixels: np.ndarray,
    alpha: np.ndarray | None,
    like: LoadedImage | None,
    quality: int | None,
) -> tuple[Image.Image, dict[str, object]]:
    """Pillow image and save() keywords; metadata comes from ``like``. A grey source is
    written grey."""
    grey = (
        like is not None
        and like.grey
        and fmt in _GREY_FORMATS
        and like.pixels.shape == pixels.shape
    )
    if grey:
        grey8 = to_grey(pixels)
        if alpha is not None and fmt in _ALPHA_FORMATS:
            image = Image.fromarray(np.dstack([grey8, alpha]))  # (H, W, 2) uint8 -> LA
        else:
            image = Image.fromarray(grey8)  # (H, W) uint8 -> L
    elif alpha is not None and fmt in _ALPHA_FORMATS:
        image = Image.fromarray(np.dstack([pixels, alpha]))  # (H, W, 4) uint8 -> RGBA
    else:
        image = Image.fromarray(np.ascontiguousarray(pixels))  # (H, W, 3) uint8 -> RGB
    exif = like.exif if like is not None else None
    if exif is not None:  # its Orientation is 1 and `pixels` are upright
        exif = exif_thumbnail.refreshed(exif, pixels)
    icc = _icc_for(like.icc_profile, grey) if like is not None else None
    dpi = like.dpi if like is not None else None
    params: dict[str, object] = {}
    if fmt == "JPEG":
        q = int(quality) if quality is not None else jpeg_quality_for(like)
        q = min(100, max(1, q))
        sampling = like.jpeg_subsampling if like is not None else None
        if sampling is None:
            sampling = 2 if q < 90 else 0
        params.update(quality=q, subsampling=sampling, optimize=True)
        if exif is not None and len(exif) > _JPEG_MAX_EXIF:
            exif = None  # does not fit one APP1 segment; pixels matter more
    elif fmt == "PNG":
        params.update(compress_level=6)
    elif fmt == "WEBP":
        q = int(quality) if quality is not None else jpeg_quality_for(like)
        if q >= 100:
            params.update(lossless=True, exact=True)
        else:
            params.update(quality=max(1, q), method=4)
        dpi = None
    elif fmt == "TIFF":
        params.update(compression="tiff_lzw")
    elif fmt == "BMP":
        exif = icc = None
    if exif:
        params["exif"] = exif
    if icc:
        params["icc_profile"] = icc
    if dpi:
        params["dpi"] = dpi
    if like is not None and fmt != "BMP":
        xmp_iptc.save_params(fmt, params, like.xmp, like.comment)
    return image, params


def _save_reason(exc: BaseException, fmt: str) -> str:
    if isinstance(exc, MemoryError):
        return "there is not enough memory"
    if isinstance(exc, OSError) and exc.errno is not None:
        return _os_reason(exc)
    return f"the image could not be encoded as {fmt}"


# --------------------------------------------------------------------------- helpers


def _display_name(p: Path) -> str:
    """File name for messages, on one line."""
    name = p.name or str(p)
    return " ".join(name.splitlines()) or str(p)


__all__ = [
    "DEFAULT_MAX_PIXELS",
    "ENV_MAX_PIXELS",
    "SUPPORTED_EXTENSIONS",
    "LoadedImage",
    "default_max_pixels",
    "estimate_jpeg_quality",
    "jpeg_quality_for",
    "load_image",
    "load_mask",
    "read_image_header",
    "save_image",
]
