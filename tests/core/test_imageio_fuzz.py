"""Fuzz core.imageio: damaged files must load cleanly or raise ImageLoadError, nothing else."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms

from inpaint_studio.core import imageio
from inpaint_studio.core.imageio import load_image, read_image_header
from inpaint_studio.errors import ImageLoadError

FUZZ_MAX_PIXELS = 1_000_000  # mutated headers may claim any size: keep each decode small
FUZZ = settings(
    max_examples=200,
    deadline=None,
    database=None,  # no .hypothesis folder in the working tree
    suppress_health_check=[HealthCheck.too_slow],
)


def _encode(image: np.ndarray | Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    im = image if isinstance(image, Image.Image) else Image.fromarray(image)
    im.save(out, format=fmt, **params)
    return out.getvalue()


def _seed_files() -> list[bytes]:
    """Small valid files covering every decoder path load_image has."""
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)
    rgba = rng.integers(0, 256, (10, 12, 4), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x013B] = "fuzz"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    frames = [Image.new("RGB", (8, 6), c) for c in ((255, 0, 0), (0, 255, 0))]
    gif, webp_anim = io.BytesIO(), io.BytesIO()
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:])
    frames[0].save(webp_anim, format="WEBP", save_all=True, append_images=frames[1:])
    rgb16 = rng.integers(0, 65536, (6, 7, 3), dtype=np.uint16)
    palette = Image.fromarray(rgb).convert("P")
    pal = io.BytesIO()
    palette.save(pal, format="PNG", transparency=0)
    return [
        _encode(rgb, "JPEG", quality=80, exif=exif, icc_profile=icc),
        _encode(rgb, "JPEG", quality=90, progressive=True, subsampling=0),
        _encode(rgb[..., 0], "JPEG"),
        _encode(Image.fromarray(rgb).convert("CMYK"), "JPEG"),
        _encode(rgba, "PNG", exif=exif),
        pal.getvalue(),
        cv2.imencode(".png", rgb16)[1].tobytes(),
        _encode(rgb, "WEBP", quality=80, exif=exif),
        _encode(rgba, "WEBP", lossless=True),
        webp_anim.getvalue(),
        _encode(rgb, "TIFF", compression="tiff_lzw", exif=exif),
        cv2.imencode(".tif", rgb16)[1].tobytes(),
        _encode(rgb, "BMP"),
        gif.getvalue(),
    ]


SEEDS = _seed_files()

_operation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 1 << 20), st.integers(1, 255)),
    st.tuples(st.just("insert"), st.integers(0, 1 << 20), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("delete"), st.integers(0, 1 << 20), st.integers(1, 16)),
    st.tuples(st.just("truncate"), st.integers(0, 1 << 20), st.just(0)),
)


def _mutate(data: bytes, operations: list[tuple[str, int, object]]) -> bytes:
    buf = bytearray(data)
    for kind, position, arg in operations:
        pos = position % (len(buf) + 1)
        if kind == "flip" and buf:
            pos = min(pos, len(buf) - 1)
            buf[pos] ^= int(arg)  # type: ignore[call-overload]
        elif kind == "insert":
            buf[pos:pos] = arg  # type: ignore[assignment]
        elif kind == "delete":
            del buf[pos : pos + int(arg)]  # type: ignore[call-overload]
        elif kind == "truncate":
            del buf[pos:]
    return bytes(buf)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def test_seed_files_are_valid(fuzz_dir: Path) -> None:
    for i, data in enumerate(SEEDS):
        path = fuzz_dir / f"seed{i}.img"
        path.write_bytes(data)
        assert load_image(path).pixels.ndim == 3


@FUZZ
@given(
    seed=st.integers(0, len(SEEDS) - 1),
    operations=st.lists(_operation, min_size=1, max_size=4),
)
def test_mutated_files_load_or_raise_image_load_error(
    fuzz_dir: Path, seed: int, operations: list[tuple[str, int, object]]
) -> None:
    path = fuzz_dir / "fuzzed.img"
    path.write_bytes(_mutate(SEEDS[seed], operations))
    try:
        loaded = load_image(path, max_pixels=FUZZ_MAX_PIXELS)
    except ImageLoadError as exc:
        text = str(exc)
        assert "fuzzed.img" in text and "\n" not in text
    else:
        h, w = loaded.pixels.shape[:2]
        assert loaded.pixels.dtype == np.uint8 and loaded.pixels.shape == (h, w, 3)
        assert loaded.pixels.flags.c_contiguous and 0 < h * w <= FUZZ_MAX_PIXELS
        assert loaded.alpha is None or (
            loaded.alpha.dtype == np.uint8 and loaded.alpha.shape == (h, w)
        )
        assert loaded.bit_depth in (8, 16, 32)
        assert loaded.exif is None or isinstance(loaded.exif, bytes)
    try:
        width, height, fmt = read_image_header(path)
    except ImageLoadError:
        pass
    else:
        assert width > 0 and height > 0 and isinstance(fmt, str)


@FUZZ
@given(st.binary(max_size=64))
def test_exif_orientation_patch_never_raises(tail: bytes) -> None:
    for head in (b"Exif\x00\x00II*\x00\x08\x00\x00\x00", b"Exif\x00\x00MM\x00*\x00\x00\x00\x08"):
        patched = imageio._patch_orientation(head + tail)
        assert patched is None or len(patched) == len(head + tail)
