"""Tests for core.imageio: formats, metadata, orientation, bad files, masks, atomic saves."""

from __future__ import annotations

import errno
import io
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps, TiffImagePlugin

from inpaint_studio.core import imageio
from inpaint_studio.core.imageio import (
    DEFAULT_MAX_PIXELS,
    SUPPORTED_EXTENSIONS,
    LoadedImage,
    estimate_jpeg_quality,
    jpeg_quality_for,
    load_image,
    load_mask,
    read_image_header,
    save_image,
)
from inpaint_studio.errors import ImageLoadError, ImageSaveError, MaskError

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


# --------------------------------------------------------------------------- helpers


def noise(h: int, w: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    """Random uint8 pixels, (h, w, channels) or (h, w) when channels == 0."""
    shape = (h, w) if channels == 0 else (h, w, channels)
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def smooth(h: int, w: int, sigma: float = 3.0, seed: int = 0) -> np.ndarray:
    """A photo-like (h, w, 3) uint8 image: slow colour waves plus sensor-like noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    waves = np.stack([128 + 90 * np.sin(x / 97 + c) * np.cos(y / 71 - c) for c in (0, 1, 2)], -1)
    grain = rng.normal(0, sigma, (h, w, 1)) + rng.normal(0, sigma / 3, (h, w, 3))
    return np.clip(waves + grain, 0, 255).astype(np.uint8)


def marked(h: int = 40, w: int = 60) -> np.ndarray:
    """Blue (h, w, 3) image with a red 16x16 block in its top-left corner."""
    a = np.zeros((h, w, 3), np.uint8)
    a[...] = (20, 40, 220)
    a[:16, :16] = (230, 20, 20)
    return a


def exif_with(**tags: object) -> Image.Exif:
    exif = Image.Exif()
    names = {"orientation": 0x0112, "artist": 0x013B, "make": 0x010F, "model": 0x0110}
    for key, value in tags.items():
        exif[names[key]] = value
    return exif


def read_exif(data: bytes | None) -> Image.Exif:
    exif = Image.Exif()
    if data:
        exif.load(data)
    return exif


def write(path: Path, array: np.ndarray, fmt: str | None = None, **params: object) -> Path:
    Image.fromarray(array).save(path, format=fmt, **params)
    return path


def assert_user_message(exc: BaseException, name: str) -> None:
    text = str(exc)
    assert name in text
    assert "\n" not in text and "Traceback" not in text
    assert text.endswith(".")


def is_red(pixel: np.ndarray) -> bool:
    return bool(pixel[0] > 150 and pixel[2] < 100)


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("ext", [".png", ".bmp", ".tif", ".tiff"])
def test_lossless_formats_round_trip_bit_exact(tmp_path: Path, ext: str) -> None:
    pixels = noise(37, 53)
    out = tmp_path / f"out{ext}"
    save_image(out, pixels)
    loaded = load_image(out)
    assert loaded.pixels.dtype == np.uint8 and loaded.pixels.flags.c_contiguous
    assert np.array_equal(loaded.pixels, pixels)
    assert loaded.size == (53, 37)
    assert loaded.alpha is None and loaded.bit_depth == 8 and loaded.warnings == []
    assert loaded.format == {".png": "PNG", ".bmp": "BMP"}.get(ext, "TIFF")
    assert loaded.source_path == out and loaded.source_bytes_size == out.stat().st_size
    assert loaded.jpeg_quality is None and loaded.jpeg_subsampling is None


@pytest.mark.parametrize("ext", [".jpg", ".jpeg", ".webp"])
def test_lossy_formats_round_trip_close(tmp_path: Path, ext: str) -> None:
    pixels = smooth(64, 96)
    out = tmp_path / f"out{ext}"
    save_image(out, pixels)
    loaded = load_image(out)
    assert loaded.pixels.shape == (64, 96, 3)
    assert np.abs(loaded.pixels.astype(int) - pixels).mean() < 3.0
    assert loaded.format == ("WEBP" if ext == ".webp" else "JPEG")


def test_webp_quality_100_is_lossless_with_alpha(tmp_path: Path) -> None:
    pixels, alpha = noise(20, 30), noise(20, 30, 0, seed=1)
    save_image(tmp_path / "a.webp", pixels, alpha=alpha, quality=100)
    loaded = load_image(tmp_path / "a.webp")
    assert np.array_equal(loaded.pixels, pixels) and np.array_equal(loaded.alpha, alpha)


@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_alpha_round_trip_bit_exact(tmp_path: Path, ext: str) -> None:
    pixels, alpha = noise(25, 31), noise(25, 31, 0, seed=2)
    save_image(tmp_path / f"a{ext}", pixels, alpha=alpha)
    loaded = load_image(tmp_path / f"a{ext}")
    assert np.array_equal(loaded.pixels, pixels)
    assert loaded.alpha is not None and loaded.alpha.dtype == np.uint8
    assert np.array_equal(loaded.alpha, alpha)


@pytest.mark.parametrize("ext", [".jpg", ".bmp"])
def test_alpha_dropped_where_format_has_none(tmp_path: Path, ext: str) -> None:
    pixels = marked()
    save_image(tmp_path / f"a{ext}", pixels, alpha=np.zeros(pixels.shape[:2], np.uint8))
    loaded = load_image(tmp_path / f"a{ext}")
    assert loaded.alpha is None
    assert np.abs(loaded.pixels.astype(int) - pixels).mean() < 4.0


# --------------------------------------------------------------------------- orientation


@pytest.mark.parametrize("orientation", range(1, 9))
def test_all_exif_orientations_match_pillow_exif_transpose(
    tmp_path: Path, orientation: int
) -> None:
    src = write(tmp_path / "o.png", noise(30, 50), exif=exif_with(orientation=orientation))
    with Image.open(src) as im:
        expected = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    loaded = load_image(src)
    assert np.array_equal(loaded.pixels, expected)
    assert read_exif(loaded.exif).get(0x0112) == 1
    assert read_image_header(src) == (*loaded.size, "PNG")


@pytest.mark.parametrize(
    ("orientation", "shape", "red_at", "blue_at"),
    [
        (3, (40, 60, 3), (35, 55), (5, 5)),  # 180 degrees: red block now bottom-right
        (6, (60, 40, 3), (5, 35), (5, 5)),  # 90 degrees clockwise: top-right
        (8, (60, 40, 3), (55, 5), (5, 5)),  # 90 degrees counter-clockwise: bottom-left
    ],
)
def test_jpeg_orientation_rotates_pixels_and_resets_tag(
    tmp_path: Path, orientation: int, shape: tuple, red_at: tuple, blue_at: tuple
) -> None:
    exif = exif_with(orientation=orientation, artist="Ada", make="TestCam")
    src = write(tmp_path / "rot.jpg", marked(), quality=95, exif=exif)
    loaded = load_image(src)
    assert loaded.pixels.shape == shape
    assert is_red(loaded.pixels[red_at]) and not is_red(loaded.pixels[blue_at])
    with Image.open(src) as im:
        expected = np.asarray(ImageOps.exif_transpose(im))
        original = im.info["exif"]
    assert np.array_equal(loaded.pixels, expected)
    tags = read_exif(loaded.exif)
    assert tags.get(0x0112) == 1 and tags.get(0x013B) == "Ada" and tags.get(0x010F) == "TestCam"
    # Only the Orientation value changed: every other EXIF byte is kept.
    assert len(loaded.exif) == len(original)
    assert sum(a != b for a, b in zip(loaded.exif, original, strict=True)) == 1
    assert read_image_header(src) == (shape[1], shape[0], "JPEG")


def test_rotated_source_saves_upright_with_orientation_1(tmp_path: Path) -> None:
    src = write(tmp_path / "rot.jpg", marked(), quality=95, exif=exif_with(orientation=6))
    loaded = load_image(src)
    save_image(tmp_path / "out.png", loaded.pixels, like=loaded)
    again = load_image(tmp_path / "out.png")
    assert again.size == loaded.size
    with Image.open(tmp_path / "out.png") as im:
        assert im.getexif().get(0x0112) in (None, 1)
    assert is_red(again.pixels[5, 35])


def test_rotated_jpeg_keeps_its_orientation_and_still_shows_upright(tmp_path: Path) -> None:
    # a JPEG export keeps the stored blocks (core.jpeg_splice), so it keeps the tag too
    src = write(tmp_path / "rot.jpg", marked(), quality=95, exif=exif_with(orientation=6))
    loaded = load_image(src)
    edited = loaded.pixels.copy()
    edited[30:34, 2:6] = (0, 255, 0)
    save_image(tmp_path / "out.jpg", edited, like=loaded)
    again = load_image(tmp_path / "out.jpg")
    assert again.size == loaded.size
    with Image.open(tmp_path / "out.jpg") as im:
        assert im.getexif().get(0x0112) == 6
    assert is_red(again.pixels[5, 35])
    assert (again.pixels[30:34, 2:6, 1] > 180).all()  # the edit, where it was made


# --------------------------------------------------------------------------- metadata


@pytest.mark.parametrize("ext", [".jpg", ".png", ".webp", ".tif"])
def test_exif_icc_and_dpi_survive_save(tmp_path: Path, ext: str) -> None:
    exif = exif_with(artist="Grace", make="Canon", model="EOS")
    src = write(tmp_path / "src.jpg", smooth(32, 48), quality=90, exif=exif, icc_profile=SRGB_ICC)
    loaded = load_image(src)
    assert loaded.icc_profile == SRGB_ICC
    save_image(tmp_path / f"out{ext}", loaded.pixels, like=loaded)
    again = load_image(tmp_path / f"out{ext}")
    assert again.icc_profile == SRGB_ICC
    tags = read_exif(again.exif)
    assert tags.get(0x013B) == "Grace" and tags.get(0x010F) == "Canon" and tags.get(0x0110) == "EOS"


def test_dpi_kept(tmp_path: Path) -> None:
    src = write(tmp_path / "src.jpg", smooth(16, 16), dpi=(300, 300))
    loaded = load_image(src)
    assert loaded.dpi == (300.0, 300.0)
    save_image(tmp_path / "out.jpg", loaded.pixels, like=loaded)
    assert load_image(tmp_path / "out.jpg").dpi == (300.0, 300.0)


def test_no_metadata_when_source_has_none(tmp_path: Path) -> None:
    loaded = load_image(write(tmp_path / "plain.png", noise(8, 8)))
    assert loaded.exif is None and loaded.icc_profile is None and loaded.dpi is None


# --------------------------------------------------------------------------- colour modes


def test_16_bit_grey_png_rounded_to_8_bits(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    v8 = noise(20, 30, 0)
    v16 = np.clip(v8.astype(np.int32) * 257 + rng.integers(-120, 121, v8.shape), 0, 65535)
    write(tmp_path / "g16.png", v16.astype(np.uint16))
    loaded = load_image(tmp_path / "g16.png")
    assert loaded.bit_depth == 16 and loaded.grey
    assert loaded.notices[0].startswith("16-bit image: edited in 8 bits")
    assert np.array_equal(loaded.pixels, np.repeat(v8[..., None], 3, axis=2))


@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_16_bit_colour_keeps_all_bits_and_alpha(tmp_path: Path, ext: str) -> None:
    rng = np.random.default_rng(4)
    rgba16 = rng.integers(0, 65536, (18, 26, 4), dtype=np.uint16)
    ok, buf = cv2.imencode(ext, rgba16[..., [2, 1, 0, 3]])  # OpenCV writes BGRA
    assert ok
    (tmp_path / f"c16{ext}").write_bytes(buf.tobytes())
    loaded = load_image(tmp_path / f"c16{ext}")
    expected = np.round(rgba16 / 257.0).astype(np.uint8)  # v / 257 never ends in .5
    assert loaded.bit_depth == 16 and any("16-bit" in w for w in loaded.notices)
    assert np.array_equal(loaded.pixels, expected[..., :3])
    assert np.array_equal(loaded.alpha, expected[..., 3])


def test_cmyk_jpeg_converted_to_rgb(tmp_path: Path) -> None:
    rgb = marked()
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "cmyk.jpg", quality=95)
    loaded = load_image(tmp_path / "cmyk.jpg")
    assert "CMYK image converted to RGB" in loaded.warnings
    assert loaded.pixels.shape == rgb.shape
    assert np.abs(loaded.pixels.astype(int) - rgb).mean() < 6.0


def test_grayscale_jpeg_becomes_three_equal_channels(tmp_path: Path) -> None:
    grey = smooth(24, 40)[..., 0]
    write(tmp_path / "grey.jpg", grey, quality=92)
    loaded = load_image(tmp_path / "grey.jpg")
    p = loaded.pixels
    assert p.shape == (24, 40, 3)
    assert np.array_equal(p[..., 0], p[..., 1]) and np.array_equal(p[..., 1], p[..., 2])
    assert np.abs(p[..., 0].astype(int) - grey).mean() < 3.0
    assert loaded.jpeg_quality == 92 and loaded.jpeg_subsampling is None


def test_palette_png_with_transparency(tmp_path: Path) -> None:
    indices = np.zeros((10, 12), np.uint8)
    indices[:, 6:] = 1
    im = Image.fromarray(indices).convert("P")
    im.putpalette([0, 0, 0, 250, 10, 10] + [0] * 762)
    im.save(tmp_path / "pal.png", transparency=0)
    loaded = load_image(tmp_path / "pal.png")
    assert loaded.alpha is not None
    assert (loaded.alpha[:, :6] == 0).all() and (loaded.alpha[:, 6:] == 255).all()
    assert (loaded.pixels[:, 6:] == (250, 10, 10)).all()


def test_palette_without_transparency_and_la(tmp_path: Path) -> None:
    Image.fromarray(marked()).convert("P").save(tmp_path / "pal.png")
    pal = load_image(tmp_path / "pal.png")
    assert pal.alpha is None and is_red(pal.pixels[0, 0]) and not is_red(pal.pixels[30, 50])
    la = np.dstack([noise(6, 7, 0), noise(6, 7, 0, seed=5)])
    Image.fromarray(la).save(tmp_path / "la.png")
    loaded = load_image(tmp_path / "la.png")
    assert np.array_equal(loaded.pixels[..., 1], la[..., 0])
    assert np.array_equal(loaded.alpha, la[..., 1])


def _frames() -> list[Image.Image]:
    return [Image.new("RGB", (16, 12), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]


@pytest.mark.parametrize("ext", [".gif", ".webp"])
def test_animated_image_first_frame_with_warning(tmp_path: Path, ext: str) -> None:
    first, *rest = _frames()
    extra = {"lossless": True} if ext == ".webp" else {}
    first.save(tmp_path / f"anim{ext}", save_all=True, append_images=rest, duration=50, **extra)
    loaded = load_image(tmp_path / f"anim{ext}")
    assert loaded.format == ("GIF" if ext == ".gif" else "WEBP")
    assert (loaded.pixels == (255, 0, 0)).all()
    assert "animated image: only the first frame was opened" in loaded.warnings


def test_multipage_tiff_first_page_with_warning(tmp_path: Path) -> None:
    first, *rest = _frames()
    first.save(tmp_path / "pages.tif", save_all=True, append_images=rest)
    loaded = load_image(tmp_path / "pages.tif")
    assert (loaded.pixels == (255, 0, 0)).all()
    assert any("multi-page TIFF" in w for w in loaded.warnings)


@pytest.mark.parametrize("shape", [(1, 100_000), (100_000, 1)])
def test_extreme_aspect_ratio_opens(tmp_path: Path, shape: tuple[int, int]) -> None:
    write(tmp_path / "strip.png", noise(*shape, channels=3))
    assert load_image(tmp_path / "strip.png").pixels.shape == (*shape, 3)


# --------------------------------------------------------------------------- bad inputs


def _truncated(tmp_path: Path, ext: str) -> Path:
    data = io.BytesIO()
    Image.fromarray(smooth(64, 64)).save(data, format="JPEG" if ext == ".jpg" else "PNG")
    raw = data.getvalue()
    path = tmp_path / f"cut{ext}"
    path.write_bytes(raw[: len(raw) // 2])
    return path


def _missing(d: Path) -> Path:
    return d / "missing.jpg"


def _folder(d: Path) -> Path:
    (d / "folder.jpg").mkdir()
    return d / "folder.jpg"


def _empty(d: Path) -> Path:
    (d / "empty.jpg").write_bytes(b"")
    return d / "empty.jpg"


def _text(d: Path) -> Path:
    (d / "notes.jpg").write_text("hello\n" * 50)
    return d / "notes.jpg"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_missing, "does not exist"),
        (_folder, "it is a folder"),
        (_empty, "the file is empty"),
        (_text, "not an image in a supported format"),
        (lambda d: _truncated(d, ".jpg"), "damaged or incomplete"),
        (lambda d: _truncated(d, ".png"), "damaged or incomplete"),
        (lambda d: write(d / "pixmap.png", noise(4, 4), "PPM"), "supported format"),
        (lambda d: write(d / "icon.png", noise(16, 16), "ICO"), "supported format"),
    ],
    ids=["missing", "folder", "empty", "text", "trunc-jpg", "trunc-png", "ppm", "ico"],
)
def test_bad_files_raise_image_load_error(tmp_path: Path, make, reason: str) -> None:
    path = make(tmp_path)
    with pytest.raises(ImageLoadError) as info:
        load_image(path)
    assert_user_message(info.value, path.name)
    assert reason in str(info.value)


def test_truncated_header_fails_on_header_read_too(tmp_path: Path) -> None:
    (tmp_path / "notes.png").write_text("not a png")
    with pytest.raises(ImageLoadError) as info:
        read_image_header(tmp_path / "notes.png")
    assert_user_message(info.value, "notes.png")


@pytest.mark.skipif(IS_ROOT or os.name != "posix", reason="root can read any file")
def test_unreadable_file_permission_denied(tmp_path: Path) -> None:
    path = write(tmp_path / "locked.png", noise(4, 4))
    path.chmod(0)
    with pytest.raises(ImageLoadError, match="permission denied") as info:
        load_image(path)
    assert_user_message(info.value, "locked.png")


def test_permission_denied_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "locked.png", noise(4, 4))

    def deny(*args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(imageio, "open", deny, raising=False)
    with pytest.raises(ImageLoadError, match="permission denied") as info:
        load_image(path)
    assert_user_message(info.value, "locked.png")


def test_decoder_exceptions_become_image_load_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "ok.png", noise(4, 4))
    for exc in (struct.error("x"), SyntaxError("x"), EOFError(), ValueError("x"), MemoryError()):

        def boom(self: Image.Image, exc: BaseException = exc) -> None:
            raise exc

        monkeypatch.setattr(Image.Image, "load", boom)
        with pytest.raises(ImageLoadError) as info:
            load_image(path)
        assert_user_message(info.value, "ok.png")


# --------------------------------------------------------------------------- pixel limit


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims width x height RGB pixels but carries almost no data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_pixel_limit_checked_before_decoding(tmp_path: Path) -> None:
    path = write(tmp_path / "big.png", noise(20, 20))
    with pytest.raises(ImageLoadError) as info:
        load_image(path, max_pixels=100)
    assert_user_message(info.value, "big.png")
    assert "limit of 100 pixels" in str(info.value) and "20x20" in str(info.value)
    assert load_image(path, max_pixels=400).size == (20, 20)


def test_decompression_bomb_header_rejected_with_default_limit(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_only(100_000, 100_000))
    saved = Image.MAX_IMAGE_PIXELS
    with pytest.raises(ImageLoadError) as info:
        load_image(path)
    assert f"{DEFAULT_MAX_PIXELS:,}" in str(info.value)
    assert_user_message(info.value, "bomb.png")
    assert Image.MAX_IMAGE_PIXELS == saved
    assert read_image_header(path) == (100_000, 100_000, "PNG")


def test_pillow_global_limit_replaced_per_call_and_restored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50)
    path = write(tmp_path / "small.png", noise(20, 20))
    assert load_image(path).size == (20, 20)  # our limit, not Pillow's global, applies
    assert Image.MAX_IMAGE_PIXELS == 50
    with pytest.raises(ImageLoadError):
        load_image(path, max_pixels=10)
    assert Image.MAX_IMAGE_PIXELS == 50


def test_pillow_bomb_error_during_decode_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "frames.png", noise(4, 4))

    def bomb(self: Image.Image) -> None:
        raise Image.DecompressionBombError("Image size exceeds limit")

    monkeypatch.setattr(Image.Image, "load", bomb)
    with pytest.raises(ImageLoadError, match="limit of 1,000 pixels"):
        load_image(path, max_pixels=1000)


# --------------------------------------------------------------------------- JPEG quality


@pytest.mark.parametrize("quality", [70, 85, 95])
@pytest.mark.parametrize("subsampling", [0, 2])
def test_jpeg_quality_estimated(tmp_path: Path, quality: int, subsampling: int) -> None:
    path = write(tmp_path / "q.jpg", smooth(32, 32), quality=quality, subsampling=subsampling)
    loaded = load_image(path)
    assert abs(loaded.jpeg_quality - quality) <= 2
    assert loaded.jpeg_subsampling == subsampling


def test_estimate_inverts_ijg_scaling_for_every_quality() -> None:
    for q in range(1, 101):
        assert estimate_jpeg_quality(imageio._ijg_table(q)) == q


def _like(fmt: str, quality: int | None) -> LoadedImage:
    return LoadedImage(
        pixels=np.zeros((1, 1, 3), np.uint8),
        alpha=None,
        format=fmt,
        exif=None,
        icc_profile=None,
        jpeg_quality=quality,
        jpeg_subsampling=None,
        dpi=None,
        source_path=None,
        source_bytes_size=None,
        bit_depth=8,
        warnings=[],
    )


def test_jpeg_quality_for() -> None:
    assert jpeg_quality_for(None) == 95
    assert jpeg_quality_for(_like("PNG", None)) == 95
    assert jpeg_quality_for(_like("JPEG", None)) == 95
    assert jpeg_quality_for(_like("JPEG", 85)) == 85
    assert jpeg_quality_for(_like("JPEG", 40)) == 75
    assert jpeg_quality_for(_like("JPEG", 100)) == 98


@pytest.fixture(scope="module")
def camera_jpeg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ~800 KB, 1600x1200 photo-like JPEG at quality 85 with EXIF and an ICC profile."""
    path = tmp_path_factory.mktemp("camera") / "IMG_0001.jpg"
    exif = exif_with(make="TestCam", model="X100", orientation=1)
    write(path, smooth(1200, 1600, sigma=18), quality=85, exif=exif, icc_profile=SRGB_ICC)
    return path


def test_resaved_camera_jpeg_keeps_size_quality_and_metadata(
    camera_jpeg: Path, tmp_path: Path
) -> None:
    source_size = camera_jpeg.stat().st_size
    assert 600_000 < source_size < 1_000_000
    loaded = load_image(camera_jpeg)
    assert abs(loaded.jpeg_quality - 85) <= 2 and loaded.jpeg_subsampling == 2
    out = tmp_path / "IMG_0001_fixed.jpg"
    save_image(out, loaded.pixels, like=loaded)
    assert abs(out.stat().st_size - source_size) <= 0.25 * source_size
    again = load_image(out)
    assert abs(again.jpeg_quality - loaded.jpeg_quality) <= 2
    assert again.jpeg_subsampling == loaded.jpeg_subsampling
    assert again.icc_profile == SRGB_ICC and read_exif(again.exif).get(0x010F) == "TestCam"


def test_explicit_quality_and_default_subsampling(tmp_path: Path) -> None:
    pixels = smooth(32, 48)
    save_image(tmp_path / "q60.jpg", pixels, quality=60)
    low = load_image(tmp_path / "q60.jpg")
    assert abs(low.jpeg_quality - 60) <= 2 and low.jpeg_subsampling == 2
    save_image(tmp_path / "q95.jpg", pixels)
    high = load_image(tmp_path / "q95.jpg")
    assert abs(high.jpeg_quality - 95) <= 2 and high.jpeg_subsampling == 0


def test_source_subsampling_kept(tmp_path: Path) -> None:
    src = write(tmp_path / "s444.jpg", smooth(32, 48), quality=80, subsampling=0)
    loaded = load_image(src)
    save_image(tmp_path / "out.jpg", loaded.pixels, like=loaded)
    again = load_image(tmp_path / "out.jpg")
    assert again.jpeg_subsampling == 0 and abs(again.jpeg_quality - 80) <= 2


# --------------------------------------------------------------------------- save failures


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_unknown_extension(tmp_path: Path) -> None:
    with pytest.raises(ImageSaveError, match="unsupported file type '.gif'") as info:
        save_image(tmp_path / "out.gif", noise(4, 4))
    assert_user_message(info.value, "out.gif")
    assert _listing(tmp_path) == []


def test_supported_extensions_all_save(tmp_path: Path) -> None:
    for ext in SUPPORTED_EXTENSIONS:
        save_image(tmp_path / f"x{ext.upper()}", noise(4, 4))
    assert len(_listing(tmp_path)) == len(SUPPORTED_EXTENSIONS)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ImageSaveError, match="does not exist") as info:
        save_image(tmp_path / "nope" / "out.png", noise(4, 4))
    assert_user_message(info.value, "out.png")


def test_target_is_a_folder(tmp_path: Path) -> None:
    (tmp_path / "out.png").mkdir()
    with pytest.raises(ImageSaveError, match="folder") as info:
        save_image(tmp_path / "out.png", noise(4, 4))
    assert_user_message(info.value, "out.png")


@pytest.mark.skipif(IS_ROOT or os.name != "posix", reason="root can write anywhere")
def test_unwritable_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(ImageSaveError, match="permission denied"):
            save_image(folder / "out.png", noise(4, 4))
    finally:
        folder.chmod(0o700)


def test_unwritable_folder_simulated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_open = os.open

    def deny(path: object, *args: object, **kwargs: object) -> int:
        if ".tmp-" in str(path):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", deny)
    with pytest.raises(ImageSaveError, match="permission denied") as info:
        save_image(tmp_path / "out.png", noise(4, 4))
    assert_user_message(info.value, "out.png")
    assert _listing(tmp_path) == []


@pytest.fixture
def existing(tmp_path: Path) -> tuple[Path, bytes]:
    target = write(tmp_path / "photo.png", noise(8, 8, seed=9))
    return target, target.read_bytes()


def _assert_untouched(target: Path, original: bytes) -> None:
    assert target.read_bytes() == original
    assert _listing(target.parent) == [target.name]


def test_disk_full_leaves_target_untouched(
    existing: tuple[Path, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    target, original = existing

    def full(self: Image.Image, fp: object, *args: object, **kwargs: object) -> None:
        fp.write(b"partial")  # type: ignore[attr-defined]
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", full)
    with pytest.raises(ImageSaveError, match="the disk is full") as info:
        save_image(target, noise(8, 8))
    assert_user_message(info.value, "photo.png")
    _assert_untouched(target, original)


def test_failed_replace_leaves_target_untouched(
    existing: tuple[Path, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    target, original = existing
    seen: list[tuple[str, str]] = []

    def fail(src: object, dst: object) -> None:
        seen.append((str(src), str(dst)))
        assert Path(str(src)).exists()
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(imageio.os, "replace", fail)
    with pytest.raises(ImageSaveError, match="permission denied"):
        save_image(target, noise(8, 8))
    _assert_untouched(target, original)
    ((src, dst),) = seen
    assert Path(src).parent == target.parent and Path(src).name.startswith(".photo.png.tmp-")
    assert dst == str(target)


def test_failed_fsync_and_encoder_error_leave_target_untouched(
    existing: tuple[Path, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    target, original = existing
    with monkeypatch.context() as m:

        def io_error(fd: int) -> None:
            raise OSError(errno.EIO, "Input/output error")

        m.setattr(imageio.os, "fsync", io_error)
        with pytest.raises(ImageSaveError, match="input/output error"):
            save_image(target, noise(8, 8))
    _assert_untouched(target, original)

    def encoder(self: Image.Image, *args: object, **kwargs: object) -> None:
        raise ValueError("encoder error -2")

    monkeypatch.setattr(Image.Image, "save", encoder)
    with pytest.raises(ImageSaveError, match="could not be encoded as PNG") as info:
        save_image(target, noise(8, 8))
    assert "encoder error" not in str(info.value)
    _assert_untouched(target, original)


def test_save_replaces_existing_and_keeps_its_permissions(existing: tuple[Path, bytes]) -> None:
    target, original = existing
    target.chmod(0o640)
    pixels = noise(8, 8, seed=10)
    save_image(target, pixels)
    assert target.read_bytes() != original
    assert np.array_equal(load_image(target).pixels, pixels)
    assert target.stat().st_mode & 0o777 == 0o640
    assert _listing(target.parent) == ["photo.png"]


def test_too_large_for_format(tmp_path: Path) -> None:
    with pytest.raises(ImageSaveError, match="at most 16,383 pixels"):
        save_image(tmp_path / "wide.webp", np.zeros((1, 16_384, 3), np.uint8))


def test_bad_arrays_are_programming_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        save_image(tmp_path / "a.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError):
        save_image(tmp_path / "a.png", np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError):
        save_image(tmp_path / "a.png", noise(4, 4), alpha=np.zeros((3, 4), np.uint8))


# --------------------------------------------------------------------------- masks


def test_mask_wrong_size(tmp_path: Path) -> None:
    write(tmp_path / "mask.png", np.zeros((80, 100), np.uint8))
    with pytest.raises(MaskError) as info:
        load_mask(tmp_path / "mask.png", (640, 480))
    assert str(info.value) == (
        "mask mask.png is 100x80 but the image is 640x480; a mask must have the image's size."
    )


def test_mask_grey_values_thresholded(tmp_path: Path) -> None:
    grey = np.array([[0, 1, 127, 128, 200, 255]], np.uint8)
    write(tmp_path / "m.png", grey)
    mask = load_mask(tmp_path / "m.png", (6, 1))
    assert mask.dtype == np.uint8 and mask.shape == (1, 6)
    assert mask.tolist() == [[0, 0, 0, 255, 255, 255]]


def test_mask_rgb_uses_luminance(tmp_path: Path) -> None:
    rgb = np.zeros((4, 5, 3), np.uint8)
    rgb[:, 2:] = 255
    rgb[0, 4] = (255, 0, 0)  # pure red is dark (luma 76): keep
    write(tmp_path / "m.jpg", rgb, quality=100, subsampling=0)
    mask = load_mask(tmp_path / "m.jpg", (5, 4))
    expected = np.zeros((4, 5), np.uint8)
    expected[:, 2:] = 255
    expected[0, 4] = 0
    assert np.array_equal(mask, expected)


def test_mask_transparent_layer_uses_alpha(tmp_path: Path) -> None:
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[1:3, 1:3] = (0, 0, 0, 255)  # black strokes on a transparent layer
    write(tmp_path / "m.png", rgba)
    mask = load_mask(tmp_path / "m.png", (4, 4))
    assert set(np.unique(mask)) == {0, 255}
    assert (mask[1:3, 1:3] == 255).all() and mask.sum() == 4 * 255


def test_mask_opaque_rgba_uses_luminance(tmp_path: Path) -> None:
    rgba = np.full((3, 3, 4), 255, np.uint8)
    rgba[0, :, :3] = 0
    write(tmp_path / "m.png", rgba)
    assert load_mask(tmp_path / "m.png", (3, 3))[:, 0].tolist() == [0, 255, 255]


def test_mask_16_bit(tmp_path: Path) -> None:
    write(tmp_path / "m16.png", np.array([[0, 32639, 32896, 65535]], np.uint16))
    assert load_mask(tmp_path / "m16.png", (4, 1)).tolist() == [[0, 0, 255, 255]]


@pytest.mark.parametrize("content", [None, b"", b"GIF89a garbage"])
def test_unreadable_mask(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "mask.png"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(MaskError) as info:
        load_mask(path, (4, 4))
    assert_user_message(info.value, "mask.png")
    assert str(info.value).startswith("Cannot open mask mask.png: ")


# --------------------------------------------------------------------------- layering


def test_imageio_imports_neither_qt_nor_torch() -> None:
    code = (
        "import sys, inpaint_studio.core.imageio as m; "
        "bad = [n for n in ('PySide6', 'torch') if n in sys.modules]; "
        "sys.exit(1 if bad else 0)"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True)
    assert result.returncode == 0, result.stderr.decode()


# --------------------------------------------------------------------------- grey sources


def _gray_icc() -> bytes:
    """A minimal ICC header that says GRAY data (only the colour space field is read)."""
    header = bytearray(128)
    header[0:4] = (128).to_bytes(4, "big")
    header[12:16] = b"mntr"
    header[16:20] = b"GRAY"
    header[36:40] = b"acsp"
    return bytes(header)


@pytest.mark.parametrize("ext", [".png", ".tif", ".bmp", ".jpg"])
def test_grey_photo_is_saved_grey(tmp_path: Path, ext: str) -> None:
    """A black-and-white scan stays one channel: not three times the samples, same pixels."""
    grey = smooth(40, 60)[..., 1]
    src = write(tmp_path / f"bw{ext}", grey)
    loaded = load_image(src)
    assert loaded.grey and loaded.samples16 is None and loaded.bit_depth == 8
    out = tmp_path / f"out{ext}"
    save_image(out, loaded.pixels, like=loaded)
    back = Image.open(out)
    assert back.mode == "L"
    if ext != ".jpg":  # lossless formats give the pixels back exactly
        assert np.array_equal(np.asarray(back), np.asarray(Image.open(src)))
    if ext == ".png":
        assert out.stat().st_size <= 1.05 * src.stat().st_size


def test_grey_photo_with_a_tinted_fill_is_saved_as_its_luma(tmp_path: Path) -> None:
    grey = smooth(20, 30)[..., 0]
    loaded = load_image(write(tmp_path / "bw.png", grey))
    edited = loaded.pixels.copy()
    edited[5:8, 5:9] = (200, 100, 50)  # a model that left colour in a grey photo
    save_image(tmp_path / "out.png", edited, like=loaded)
    back = np.asarray(Image.open(tmp_path / "out.png"))
    assert back.ndim == 2
    assert (back[5:8, 5:9] == round(0.299 * 200 + 0.587 * 100 + 0.114 * 50)).all()
    keep = np.ones(grey.shape, bool)
    keep[5:8, 5:9] = False
    assert np.array_equal(back[keep], grey[keep])


def test_grey_with_alpha_is_saved_grey_with_alpha(tmp_path: Path) -> None:
    la = np.dstack([smooth(20, 30)[..., 0], noise(20, 30, 0)])
    loaded = load_image(write(tmp_path / "la.png", la))
    save_image(tmp_path / "out.png", loaded.pixels, alpha=loaded.alpha, like=loaded)
    back = Image.open(tmp_path / "out.png")
    assert back.mode == "LA" and np.array_equal(np.asarray(back), la)


def test_grey_icc_profile_goes_with_grey_data_only(tmp_path: Path) -> None:
    icc = _gray_icc()
    loaded = load_image(write(tmp_path / "bw.png", smooth(20, 30)[..., 0], icc_profile=icc))
    assert loaded.icc_profile == icc
    save_image(tmp_path / "out.png", loaded.pixels, like=loaded)
    assert Image.open(tmp_path / "out.png").info.get("icc_profile") == icc
    save_image(tmp_path / "out.webp", loaded.pixels, like=loaded)  # WebP is always RGB
    assert Image.open(tmp_path / "out.webp").info.get("icc_profile") is None


@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_16_bit_grey_export_keeps_unedited_samples_exact(tmp_path: Path, ext: str) -> None:
    """An archival 16-bit grey master: the export is 16-bit, every sample the repair did not
    touch is the source's own, and repaired ones are the 8-bit fill scaled to 16 bits."""
    rng = np.random.default_rng(5)
    v16 = rng.integers(0, 65536, (30, 40), dtype=np.uint16)
    src = tmp_path / f"master{ext}"
    src.write_bytes(cv2.imencode(ext, v16)[1].tobytes())
    loaded = load_image(src)
    assert loaded.grey and np.array_equal(loaded.samples16, v16)
    edited = loaded.pixels.copy()
    edited[10:20, 5:15] = 77
    out = tmp_path / f"out{ext}"
    save_image(out, edited, like=loaded)
    back = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16 and back.shape == v16.shape
    repaired = np.zeros(v16.shape, bool)
    repaired[10:20, 5:15] = True
    changed = repaired & (((v16.astype(np.uint32) + 128) // 257) != 77)
    assert np.array_equal(back[~changed], v16[~changed])
    assert (back[changed] == 77 * 257).all()
    save_image(tmp_path / "out.jpg", edited, like=loaded)  # JPEG: 8-bit grey
    assert Image.open(tmp_path / "out.jpg").mode == "L"


def _exif_artist(name: str) -> bytes:
    exif = Image.Exif()
    exif[0x013B] = name  # Artist
    exif[0x010F] = "ScanCo"  # Make
    camera = exif.get_ifd(0x8769)
    camera[0x9003] = "2024:01:02 03:04:05"  # DateTimeOriginal
    camera[0x8827] = 400  # ISO
    exif.get_ifd(0x8825)[2] = tuple(TiffImagePlugin.IFDRational(v, 1) for v in (52, 31, 0))
    return exif.tobytes()


@pytest.mark.parametrize("ext", [".png", ".tif"])
@pytest.mark.parametrize("channels", [3, 4])
def test_16_bit_colour_export_keeps_unedited_samples_and_metadata(
    tmp_path: Path, ext: str, channels: int
) -> None:
    """A 48-bit colour master (64 with alpha): exported at 16 bits, every pixel the repair
    did not touch bit-exact, repaired pixels the 8-bit fill x 257, EXIF / ICC / DPI kept."""
    rng = np.random.default_rng(7)
    v16 = rng.integers(0, 65536, (24, 32, channels), dtype=np.uint16)
    src = tmp_path / f"scan{ext}"
    order = [2, 1, 0, 3][:channels]
    src.write_bytes(cv2.imencode(ext, v16[..., order])[1].tobytes())
    loaded = load_image(src)
    assert np.array_equal(loaded.samples16, v16)
    loaded.exif = _exif_artist("Ada")  # Pillow's bytes start with the "Exif\0\0" header
    loaded.icc_profile = SRGB_ICC
    loaded.dpi = (600.0, 600.0)
    edited = loaded.pixels.copy()
    edited[4:9, 6:12] = (10, 120, 250)
    out = tmp_path / f"out{ext}"
    save_image(out, edited, alpha=loaded.alpha, like=loaded)
    back = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)[..., order]
    assert back.dtype == np.uint16 and back.shape == v16.shape
    repaired = np.zeros(v16.shape[:2], bool)
    repaired[4:9, 6:12] = True
    assert np.array_equal(back[~repaired], v16[~repaired])
    assert (back[repaired][:, :3] == np.array([10, 120, 250]) * 257).all()
    if channels == 4:  # the alpha was not edited: its 16-bit samples stay
        assert np.array_equal(back[..., 3], v16[..., 3])
    again = load_image(out)
    assert again.bit_depth == 16 and again.dpi == pytest.approx((600.0, 600.0), abs=0.01)
    assert again.icc_profile == SRGB_ICC
    exif = Image.Exif()
    exif.load(again.exif)
    assert (exif.get(0x013B), exif.get(0x010F)) == ("Ada", "ScanCo")
    camera = exif.get_ifd(0x8769)  # the camera sub-IFD too
    assert (camera.get(0x9003), camera.get(0x8827)) == ("2024:01:02 03:04:05", 400)
    assert [float(v) for v in exif.get_ifd(0x8825)[2]] == [52.0, 31.0, 0.0]  # GPS too
    save_image(tmp_path / "out.jpg", edited, like=loaded)  # JPEG: 8 bits, as always
    assert load_image(tmp_path / "out.jpg").bit_depth == 8
