"""JPEG exports keep the source's coefficients outside the repair (core.jpeg_splice)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from inpaint_studio.core import jpeg_splice
from inpaint_studio.core.imageio import load_image, save_image

jpeglib = pytest.importorskip("jpeglib")

SUBSAMPLINGS = {0: "4:4:4", 1: "4:2:2", 2: "4:2:0"}


def photo(h: int = 100, w: int = 140, seed: int = 0) -> np.ndarray:
    """(h, w, 3) uint8: smooth colour ramps, a few edges and grain, like a small photo."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 120 + 80 * np.sin(x / 17.0) + 0.3 * y
    g = 90 + 60 * np.cos(y / 11.0 + x / 29.0)
    b = 140 + 70 * ((x + y) % 37 > 18)
    img = np.stack([r, g, b], axis=-1) + rng.normal(0, 6, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def jpeg_file(path: Path, pixels: np.ndarray, **params: object) -> Path:
    params.setdefault("quality", 85)
    Image.fromarray(pixels).save(path, format="JPEG", **params)
    return path


def coefficients(data: bytes, tmp_path: Path) -> list[np.ndarray]:
    """Quantised DCT blocks of each component: (rows, cols, 8, 8) int16."""
    path = tmp_path / f"coef{len(data)}.jpg"
    path.write_bytes(data)
    jpeg = jpeglib.read_dct(str(path))
    return [c for c in (jpeg.Y, jpeg.Cb, jpeg.Cr) if c is not None]


def touched_blocks(changed: np.ndarray, block: tuple[int, int], shape: tuple[int, ...]):
    """(rows, cols) bool: blocks of `block` px whose area holds a changed pixel."""
    rows, cols = shape[:2]
    grid = np.zeros((rows * block[0], cols * block[1]), dtype=bool)
    h, w = changed.shape
    grid[:h, :w] = changed[: rows * block[0], : cols * block[1]]
    return grid.reshape(rows, block[0], cols, block[1]).any(axis=(1, 3))


def decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def edit(pixels: np.ndarray, y: int = 37, x: int = 53, h: int = 21, w: int = 30) -> np.ndarray:
    out = pixels.copy()
    out[y : y + h, x : x + w] = (205, 60, 40)
    return out


def test_available_here() -> None:
    assert jpeg_splice.available()


@pytest.mark.parametrize("subsampling", sorted(SUBSAMPLINGS))
def test_encoder_matches_libjpeg(tmp_path: Path, subsampling: int) -> None:
    # odd size: the last block row and column are padded as libjpeg pads them
    pixels = photo(77, 101, seed=subsampling)
    data = jpeg_file(tmp_path / "a.jpg", pixels, subsampling=subsampling).read_bytes()
    path = tmp_path / "a.jpg"
    jpeg = jpeglib.read_dct(str(path))
    factors = np.asarray(jpeg.samp_factor).reshape(-1, 2)
    most = (int(factors[:, 0].max()), int(factors[:, 1].max()))
    mcu = (8 * most[0], 8 * most[1])
    grid = (-(-77 // mcu[0]), -(-101 // mcu[1]))
    rows, cols = np.indices(grid).reshape(2, -1)  # every MCU, in raster order
    steps = [(most[0] // int(v), most[1] // int(h)) for v, h in factors]
    tables = [np.asarray(jpeg.qt)[int(n)] for n in jpeg.quant_tbl_no]
    news = jpeg_splice.mcu_blocks(pixels, rows, cols, mcu, steps, tables)
    for c, ref in enumerate(coefficients(data, tmp_path)):
        by, bx = news[c].shape[1:3]
        ours = news[c].reshape(*grid, by, bx, 8, 8).transpose(0, 2, 1, 3, 4, 5)
        ours = ours.reshape(grid[0] * by, grid[1] * bx, 8, 8)
        ours = ours[: ref.shape[0], : ref.shape[1]]
        diff = np.abs(ours.astype(int) - ref)
        assert diff.max() <= 1, (c, subsampling)
        assert (diff == 0).mean() > 0.97, (c, subsampling)


def test_unedited_export_is_the_source_file_byte_for_byte(tmp_path: Path) -> None:
    src = jpeg_file(tmp_path / "in.jpg", photo(), subsampling=2, comment=b"scan 1921")
    loaded = load_image(src)
    how = save_image(tmp_path / "out.jpg", loaded.pixels, like=loaded)
    assert (tmp_path / "out.jpg").read_bytes() == src.read_bytes()
    assert how == "unchanged: the original JPEG file"


@pytest.mark.parametrize("subsampling", sorted(SUBSAMPLINGS))
def test_only_blocks_that_the_edit_touches_change(tmp_path: Path, subsampling: int) -> None:
    src = jpeg_file(tmp_path / "in.jpg", photo(97, 133), subsampling=subsampling)
    loaded = load_image(src)
    edited = edit(loaded.pixels)
    save_image(tmp_path / "out.jpg", edited, like=loaded)
    changed = (edited != loaded.pixels).any(axis=2)
    before = coefficients(src.read_bytes(), tmp_path)
    after = coefficients((tmp_path / "out.jpg").read_bytes(), tmp_path)
    luma_px = {0: (8, 8), 1: (8, 8), 2: (8, 8)}[subsampling]
    chroma_px = {0: (8, 8), 1: (8, 16), 2: (16, 16)}[subsampling]
    for c, (a, b) in enumerate(zip(before, after, strict=True)):
        assert a.shape == b.shape
        block = luma_px if c == 0 else chroma_px
        touched = touched_blocks(changed, block, a.shape)
        differs = (a != b).any(axis=(2, 3))
        assert not (differs & ~touched).any(), f"component {c}: an untouched block changed"
        assert differs.any(), f"component {c}: the edit was not written"


def test_scattered_repairs_give_the_same_file_in_any_chunk_size(tmp_path: Path, monkeypatch):
    src = jpeg_file(tmp_path / "in.jpg", photo(97, 133), subsampling=2)
    loaded = load_image(src)
    edited = loaded.pixels.copy()
    edited[5:9, 3:40] = (10, 200, 30)  # a scratch
    edited[60:90, 100:104] = 255  # a crease
    edited[-3:, -5:] = 0  # in the last MCU, which the file pads past the image
    save_image(tmp_path / "a.jpg", edited, like=loaded)
    monkeypatch.setattr(jpeg_splice, "_MCUS_PER_CHUNK", 2)
    how = save_image(tmp_path / "b.jpg", edited, like=loaded)
    assert how == "original JPEG data kept outside the repairs"
    assert (tmp_path / "a.jpg").read_bytes() == (tmp_path / "b.jpg").read_bytes()
    save_image(tmp_path / "c.jpg", edited, like=loaded, quality=85)  # the source's tables
    out = load_image(tmp_path / "b.jpg").pixels.astype(int)
    whole = load_image(tmp_path / "c.jpg").pixels.astype(int)
    for crop in (np.s_[5:9, 3:40], np.s_[60:90, 100:104], np.s_[-3:, -5:]):
        # each repair is in the file, as a whole-photo encode with the same tables has it
        assert np.abs(out[crop] - whole[crop]).mean() < 2
        assert np.abs(out[crop] - loaded.pixels[crop]).mean() > 20


@pytest.mark.parametrize("subsampling", sorted(SUBSAMPLINGS))
def test_far_pixels_are_bit_exact_and_the_repair_is_as_good_as_a_full_reencode(
    tmp_path: Path, subsampling: int
) -> None:
    src = jpeg_file(tmp_path / "in.jpg", photo(120, 160, seed=4), subsampling=subsampling)
    loaded = load_image(src)
    edited = edit(loaded.pixels, y=40, x=64, h=24, w=32)  # MCU-aligned in every mode
    save_image(tmp_path / "out.jpg", edited, like=loaded)
    out = decode((tmp_path / "out.jpg").read_bytes())
    far = np.ones(edited.shape[:2], dtype=bool)
    far[40 - 16 : 64 + 16, 64 - 16 : 96 + 16] = False  # one 16 px MCU around the edit
    assert np.array_equal(out[far], loaded.pixels[far])
    # the plain re-encode of the whole photo with the same tables, for comparison
    with Image.open(src) as im:
        tables = im.quantization
    buf = io.BytesIO()
    Image.fromarray(edited).save(buf, "JPEG", qtables=tables, subsampling=subsampling)
    plain = decode(buf.getvalue())
    area = (slice(40, 64), slice(64, 96))
    ours_err = np.abs(out[area].astype(int) - edited[area]).mean()
    plain_err = np.abs(plain[area].astype(int) - edited[area]).mean()
    assert ours_err <= plain_err + 0.05


def test_every_metadata_segment_is_kept_verbatim(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x010F] = "ScanCo"
    exif[0x8298] = "(c) City Archive"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    src = jpeg_file(
        tmp_path / "in.jpg", photo(), exif=exif.tobytes(), icc_profile=icc, comment=b"box 12"
    )
    data = src.read_bytes()
    xmp = b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>keywords: harbour</x:xmpmeta>"
    segment = b"\xff\xe1" + (len(xmp) + 2).to_bytes(2, "big") + xmp
    (tmp_path / "xmp.jpg").write_bytes(data[:2] + segment + data[2:])  # XMP first, as some do
    loaded = load_image(tmp_path / "xmp.jpg")
    save_image(tmp_path / "out.jpg", edit(loaded.pixels), like=loaded)
    source = jpeg_splice._header_segments((tmp_path / "xmp.jpg").read_bytes())
    written = (tmp_path / "out.jpg").read_bytes()
    assert source is not None and xmp in source and b"box 12" in source
    assert written[2 : 2 + len(source)] == source  # right after SOI, in the same order
    assert written.count(b"\xff\xe0\x00\x10JFIF") == 1  # libjpeg's own JFIF header dropped
    with Image.open(tmp_path / "out.jpg") as im:
        assert im.info["icc_profile"] == icc and im.getexif()[0x010F] == "ScanCo"


def test_generations_do_not_add_up(tmp_path: Path) -> None:
    # open, repair, save, open the result, repair elsewhere, save: the first repair and
    # everything away from both stay exactly as they were written
    src = jpeg_file(tmp_path / "in.jpg", photo(160, 200, seed=7), quality=80)
    first = load_image(src)
    save_image(tmp_path / "gen1.jpg", edit(first.pixels, y=16, x=16, h=20, w=20), like=first)
    gen1 = load_image(tmp_path / "gen1.jpg")
    save_image(tmp_path / "gen2.jpg", edit(gen1.pixels, y=112, x=144, h=20, w=20), like=gen1)
    gen2 = load_image(tmp_path / "gen2.jpg")
    away = np.ones(first.pixels.shape[:2], dtype=bool)
    away[96:, 128:] = False  # the second repair and one MCU around it
    assert np.array_equal(gen2.pixels[away], gen1.pixels[away])
    still = away.copy()
    still[:64, :64] = False  # the first repair and one MCU around it
    assert np.array_equal(gen2.pixels[still], first.pixels[still])


def test_rotated_source_keeps_its_stored_blocks(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown portrait
    stored = photo(96, 144, seed=2)
    src = jpeg_file(tmp_path / "in.jpg", stored, exif=exif.tobytes(), subsampling=2)
    loaded = load_image(src)
    assert loaded.size == (96, 144)
    edited = edit(loaded.pixels, y=100, x=10, h=20, w=30)
    save_image(tmp_path / "out.jpg", edited, like=loaded)
    with Image.open(tmp_path / "out.jpg") as im:
        assert im.size == (144, 96) and im.getexif()[0x0112] == 6
    again = load_image(tmp_path / "out.jpg")
    untouched = np.ones(edited.shape[:2], dtype=bool)
    untouched[100 - 16 : 120 + 16, : 40 + 16] = False
    assert np.array_equal(again.pixels[untouched], loaded.pixels[untouched])
    assert np.abs(again.pixels[102:118, 12:38].astype(int) - (205, 60, 40)).mean() < 12


def test_grey_and_progressive_sources(tmp_path: Path) -> None:
    grey = photo(90, 120)[..., 1]
    for name, pixels, params in (
        ("grey.jpg", grey, {}),
        ("prog.jpg", photo(90, 120), {"progressive": True, "subsampling": 2}),
    ):
        src = jpeg_file(tmp_path / name, pixels, **params)
        loaded = load_image(src)
        edited = edit(loaded.pixels, y=32, x=48, h=16, w=16)
        if loaded.grey:
            edited[32:48, 48:64] = 170
        save_image(tmp_path / f"out-{name}", edited, like=loaded)
        out = load_image(tmp_path / f"out-{name}")
        far = np.ones(edited.shape[:2], dtype=bool)
        far[16:64, 32:80] = False
        assert np.array_equal(out.pixels[far], loaded.pixels[far]), name
        assert np.abs(out.pixels[32:48, 48:64].astype(int) - edited[32:48, 48:64]).mean() < 8


def test_a_quality_asked_for_re_encodes_the_whole_photo(tmp_path: Path) -> None:
    src = jpeg_file(tmp_path / "in.jpg", photo(), quality=95)
    loaded = load_image(src)
    how = save_image(tmp_path / "out.jpg", edit(loaded.pixels), like=loaded, quality=40)
    assert load_image(tmp_path / "out.jpg").jpeg_quality == 40
    assert how == "JPEG quality 40"
    assert (tmp_path / "out.jpg").stat().st_size < 0.6 * src.stat().st_size


def test_without_jpeglib_the_photo_is_re_encoded(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(jpeg_splice, "available", lambda: False)
    src = jpeg_file(tmp_path / "in.jpg", photo(), quality=90)
    loaded = load_image(src)
    edited = edit(loaded.pixels)
    save_image(tmp_path / "out.jpg", edited, like=loaded)
    again = load_image(tmp_path / "out.jpg")
    assert abs(again.jpeg_quality - 90) <= 2
    assert np.abs(again.pixels.astype(int) - edited).mean() < 3


@pytest.mark.parametrize("failure", ["check", "wrong colours", "libjpeg"])
def test_a_splice_that_fails_is_re_encoded_instead(tmp_path: Path, monkeypatch, failure) -> None:
    if failure == "check":  # the written file did not decode as the edit
        monkeypatch.setattr(jpeg_splice, "_decodes_as", lambda *args: False)
    elif failure == "wrong colours":  # a broken encoder: its blocks decode far from the edit
        monkeypatch.setattr(jpeg_splice, "_YCC_OFFSET", np.array([0.0, 64.0, 192.0]))
    else:  # libjpeg refused the file

        def refuse(*args, **kwargs):
            raise OSError("Corrupt JPEG data")

        monkeypatch.setattr(jpeglib, "read_dct", refuse)
    src = jpeg_file(tmp_path / "in.jpg", photo(), quality=90)
    loaded = load_image(src)
    edited = edit(loaded.pixels)
    how = save_image(tmp_path / "out.jpg", edited, like=loaded)
    assert how == "JPEG quality 90"
    again = load_image(tmp_path / "out.jpg")
    assert np.abs(again.pixels.astype(int) - edited).mean() < 3


def test_sources_it_cannot_splice_are_re_encoded(tmp_path: Path) -> None:
    pixels = photo()
    cmyk = Image.fromarray(pixels).convert("CMYK")
    cmyk.save(tmp_path / "cmyk.jpg", quality=90)
    loaded = load_image(tmp_path / "cmyk.jpg")
    edited = edit(loaded.pixels)
    assert jpeg_splice.splice(loaded.source_jpeg, edited, np.ones(edited.shape[:2], bool)) is None
    save_image(tmp_path / "out.jpg", edited, like=loaded)
    assert np.abs(load_image(tmp_path / "out.jpg").pixels.astype(int) - edited).mean() < 8
    # RGB-coded components (no YCbCr transform)
    Image.fromarray(pixels).save(tmp_path / "rgb.jpg", quality=90, keep_rgb=True)
    loaded = load_image(tmp_path / "rgb.jpg")
    edited = edit(loaded.pixels)
    assert jpeg_splice.splice(loaded.source_jpeg, edited, np.ones(edited.shape[:2], bool)) is None
    assert save_image(tmp_path / "out.jpg", edited, like=loaded).startswith("JPEG quality")
    # not a JPEG, or not this photo's size
    assert jpeg_splice.splice(b"not a jpeg", edited, np.ones(edited.shape[:2], bool)) is None
    src = jpeg_file(tmp_path / "in.jpg", pixels).read_bytes()
    small = edited[:50, :50]
    assert jpeg_splice.splice(src, small, np.ones(small.shape[:2], bool)) is None


def test_multi_picture_files_are_not_spliced() -> None:
    mpf = b"MPF\x00" + bytes(20)
    data = b"\xff\xd8" + b"\xff\xe2" + (len(mpf) + 2).to_bytes(2, "big") + mpf + b"\xff\xd9"
    assert jpeg_splice._header_segments(data) is None


@pytest.mark.parametrize("params", [{}, {"progressive": True}, {"restart_marker_blocks": 4}])
def test_the_data_after_the_image_is_found(params) -> None:
    buffer = io.BytesIO()
    Image.fromarray(photo()).save(buffer, format="JPEG", quality=85, **params)
    data = buffer.getvalue()
    assert jpeg_splice.trailer(data) == b""
    video = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8 + b"\xff\xd9\xff"
    assert jpeg_splice.trailer(data + video) == video
    assert jpeg_splice.trailer(b"not a jpeg") == b""
    assert jpeg_splice.trailer(data[: len(data) // 2]) == b""  # truncated: no end marker


@pytest.mark.parametrize("quality", [None, 80])  # the source's blocks kept / re-encoded
def test_a_motion_photos_video_stays_behind_the_edited_image(tmp_path: Path, quality) -> None:
    video = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 64  # located from the end
    src = jpeg_file(tmp_path / "in.jpg", photo())
    src.write_bytes(src.read_bytes() + video)
    loaded = load_image(src)
    edited = edit(loaded.pixels)
    save_image(tmp_path / "out.jpg", edited, like=loaded, quality=quality)
    out = (tmp_path / "out.jpg").read_bytes()
    assert out.endswith(video) and jpeg_splice.trailer(out) == video
    again = load_image(tmp_path / "out.jpg")
    assert np.abs(again.pixels.astype(int) - edited).mean() < 3
