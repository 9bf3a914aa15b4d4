"""XMP, IPTC and JPEG comments: read from the opened photo, written back on every export.

Captions, keywords, credits, ratings and archive numbers live there (Lightroom, Bridge,
digiKam, museum catalogues). Pillow reads XMP from JPEG, PNG, WebP and TIFF but writes it only
when asked, and never writes IPTC: without this module a re-encoded export drops them all.
Qt-free.
"""

from __future__ import annotations

import re
from typing import Any

from PIL import Image, PngImagePlugin

from inpaint_studio.core import jpeg_splice

_MAX_XMP = 65_000  # one JPEG APP1 segment holds 65,502 bytes of XMP after its namespace
_XMP_ORIENTATION = re.compile(
    rb'(tiff:Orientation\s*=\s*["\'])\d(["\'])|(<tiff:Orientation>)\s*\d\s*(</tiff:Orientation>)'
)


def xmp_of(im: Image.Image, upright: bool) -> bytes | None:
    """The source's XMP packet as bytes; a tiff:Orientation in it set to 1 when `upright`
    (the pixels were turned by their EXIF orientation, which exports reset to 1)."""
    raw = im.info.get("xmp")
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    if not isinstance(raw, bytes) or not raw.strip():
        return None
    if upright:
        raw = _XMP_ORIENTATION.sub(
            lambda m: (
                (m.group(1) + b"1" + m.group(2)) if m.group(1) else (m.group(3) + b"1" + m.group(4))
            ),
            raw,
        )
    return raw


def comment_of(im: Image.Image) -> bytes | None:
    """A JPEG's COM text as bytes (None for other formats or none)."""
    raw = im.info.get("comment") if im.format in ("JPEG", "MPO") else None
    if isinstance(raw, str):
        raw = raw.encode("latin-1", "replace")
    return raw if isinstance(raw, bytes) and raw else None


def app13_of(jpeg: bytes) -> bytes | None:
    """A JPEG's APP13 segments (Photoshop resources: IPTC), verbatim with their markers."""
    segments = jpeg_splice.segments(jpeg)
    if segments is None:
        return None
    found = [jpeg[start:end] for marker, start, end in segments if marker == 0xED]
    return b"".join(found) or None


def save_params(fmt: str, params: dict[str, Any], xmp: bytes | None, comment: bytes | None):
    """Add XMP (and a JPEG comment) to Pillow save() keywords for `fmt`, in place."""
    if fmt == "JPEG" and comment:
        params["comment"] = comment
    if not xmp:
        return
    if fmt in ("JPEG", "WEBP") and len(xmp) <= _MAX_XMP:
        params["xmp"] = xmp
    elif fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", xmp.decode("utf-8", "replace"), zip=False)
        params["pnginfo"] = info
    elif fmt == "TIFF":  # tag 700, next to the EXIF tags Pillow writes into the same IFD
        exif = Image.Exif()
        if params.get("exif"):
            exif.load(params["exif"])
        exif[700] = xmp
        params["exif"] = exif.tobytes()


def with_app13(jpeg: bytes, app13: bytes | None) -> bytes:
    """`jpeg` with `app13` inserted after its own APPn segments (before the tables)."""
    segments = jpeg_splice.segments(jpeg) if app13 else None
    if not segments:
        return jpeg
    at = 2
    for marker, _start, end in segments:
        if not (0xE0 <= marker <= 0xEF):
            break
        at = end
    return jpeg[:at] + app13 + jpeg[at:]
