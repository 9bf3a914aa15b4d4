"""XMP, IPTC and JPEG comments survive every export (core.xmp_iptc)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image, PngImagePlugin

from inpaint_studio.core import xmp_iptc
from inpaint_studio.core.document import Document
from inpaint_studio.core.history import History
from inpaint_studio.core.imageio import load_image, save_image
from inpaint_studio.core.project import read_project, save_project

XMP = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
    b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:tiff="http://ns.adobe.com/tiff/1.0/" '
    b'tiff:Orientation="6"><dc:title>Harbour, 1921</dc:title></rdf:Description></rdf:RDF>'
    b'</x:xmpmeta><?xpacket end="w"?>'
)
UPRIGHT = XMP.replace(b'tiff:Orientation="6"', b'tiff:Orientation="1"')
# Photoshop 3.0 resource block with one IPTC record: 2:120 caption "Harbour, 1921"
_IPTC = b"\x1c\x02\x78\x00\x0dHarbour, 1921"
_IRB = b"8BIM\x04\x04\x00\x00" + len(_IPTC).to_bytes(4, "big") + _IPTC + b"\x00"
APP13 = b"\xff\xed" + (len(b"Photoshop 3.0\x00" + _IRB) + 2).to_bytes(2, "big")
APP13 += b"Photoshop 3.0\x00" + _IRB


def photo(h: int = 48, w: int = 64) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 4 % 256, y * 5 % 256, (x + y) * 2 % 256], -1).astype(np.uint8)


def jpeg_with_everything(path: Path, pixels: np.ndarray, orientation: int = 1) -> Path:
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(
        buffer, "JPEG", quality=90, xmp=XMP, comment=b"box 12, print 3", exif=exif.tobytes()
    )
    path.write_bytes(xmp_iptc.with_app13(buffer.getvalue(), APP13))
    return path


def read_back(path: Path) -> tuple[bytes | None, bytes | None, bytes | None]:
    """(XMP, APP13 segments, comment) of a written file."""
    with Image.open(path) as im:
        xmp = im.info.get("xmp")
        comment = im.info.get("comment")
    app13 = xmp_iptc.app13_of(path.read_bytes()) if path.suffix == ".jpg" else None
    return xmp, app13, comment


def test_a_jpeg_keeps_them_on_both_export_paths(tmp_path: Path) -> None:
    src = jpeg_with_everything(tmp_path / "in.jpg", photo())
    loaded = load_image(src)
    assert loaded.xmp == XMP and loaded.app13 == APP13 and loaded.comment == b"box 12, print 3"
    edited = loaded.pixels.copy()
    edited[10:20, 10:20] = 0
    for quality in (None, 80):  # the source's blocks kept / the whole photo re-encoded
        out = tmp_path / f"out{quality}.jpg"
        save_image(out, edited, like=loaded, quality=quality)
        assert read_back(out) == (XMP, APP13, b"box 12, print 3"), quality


@pytest.mark.parametrize("suffix", [".png", ".tif", ".webp"])
def test_xmp_goes_into_other_formats(tmp_path: Path, suffix: str) -> None:
    loaded = load_image(jpeg_with_everything(tmp_path / "in.jpg", photo()))
    out = tmp_path / f"out{suffix}"
    save_image(out, loaded.pixels, like=loaded)
    assert read_back(out)[0] == XMP
    again = load_image(out)  # and from there on
    save_image(tmp_path / f"again{suffix}", again.pixels, like=again)
    assert read_back(tmp_path / f"again{suffix}")[0] == XMP


def test_png_and_16_bit_sources_keep_their_xmp(tmp_path: Path) -> None:
    # (Pillow turns a PNG by an XMP tiff:Orientation too, so this one says 1)
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", UPRIGHT.decode(), zip=False)
    Image.fromarray(photo()).save(tmp_path / "in.png", pnginfo=info)
    loaded = load_image(tmp_path / "in.png")
    save_image(tmp_path / "out.png", loaded.pixels, like=loaded)
    assert read_back(tmp_path / "out.png")[0] == UPRIGHT
    deep = photo().astype(np.uint16) * 257  # a 16-bit master with XMP
    tifffile.imwrite(tmp_path / "deep.tif", deep, photometric="rgb",
                     extratags=[(700, 1, len(UPRIGHT), UPRIGHT, True)])  # fmt: skip
    loaded = load_image(tmp_path / "deep.tif")
    assert loaded.samples16 is not None and loaded.xmp == UPRIGHT
    for suffix in (".png", ".tif"):  # 16-bit exports (core.deep_export)
        out = tmp_path / f"deep_out{suffix}"
        save_image(out, loaded.pixels, like=loaded)
        assert load_image(out).samples16 is not None
        assert read_back(out)[0] == UPRIGHT, suffix


def test_a_turned_photo_gets_orientation_1_in_its_xmp_as_in_its_exif(tmp_path: Path) -> None:
    loaded = load_image(jpeg_with_everything(tmp_path / "in.jpg", photo(), orientation=6))
    assert loaded.pixels.shape[:2] == (64, 48)  # shown upright
    assert b'tiff:Orientation="1"' in loaded.xmp and b"Harbour, 1921" in loaded.xmp
    save_image(tmp_path / "out.png", loaded.pixels, like=loaded)
    assert b'tiff:Orientation="1"' in read_back(tmp_path / "out.png")[0]
    assert (
        xmp_iptc._XMP_ORIENTATION.sub(b"x", b"<tiff:Orientation>8</tiff:Orientation>") == b"x"
    )  # the element form is found too


def test_a_reopened_project_still_exports_them(tmp_path: Path) -> None:
    src = jpeg_with_everything(tmp_path / "in.jpg", photo())
    doc = Document.from_loaded(load_image(src), src.read_bytes())
    save_project(tmp_path / "p.inpaint", doc, History())
    src.unlink()  # the project alone carries them
    reopened = read_project(tmp_path / "p.inpaint").document
    original = reopened.original
    assert (original.xmp, original.app13, original.comment) == (XMP, APP13, b"box 12, print 3")
    save_image(tmp_path / "out.jpg", reopened.image, like=original, quality=85)
    assert read_back(tmp_path / "out.jpg") == (XMP, APP13, b"box 12, print 3")
