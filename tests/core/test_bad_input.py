"""Bad input at the loader level, beyond test_imageio: the configurable pixel limit, a disk that
fills up during the write itself, 16-bit grey TIFF and GIF transparency."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from inpaint_studio.core import imageio
from inpaint_studio.core.imageio import (
    DEFAULT_MAX_PIXELS,
    ENV_MAX_PIXELS,
    default_max_pixels,
    load_image,
    save_image,
)
from inpaint_studio.errors import ImageLoadError, ImageSaveError
from tests.failing_io import simulate_full_disk


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, DEFAULT_MAX_PIXELS),
        ("400000000", 400_000_000),
        ("1_000", 1000),
        (" 50 ", 50),
        ("lots", DEFAULT_MAX_PIXELS),
        ("0", DEFAULT_MAX_PIXELS),
        ("-5", DEFAULT_MAX_PIXELS),
    ],
)
def test_pixel_limit_from_environment(
    monkeypatch: pytest.MonkeyPatch, value: str | None, expected: int
) -> None:
    if value is None:
        monkeypatch.delenv(ENV_MAX_PIXELS, raising=False)
    else:
        monkeypatch.setenv(ENV_MAX_PIXELS, value)
    assert default_max_pixels() == expected


def test_environment_limit_refuses_big_images(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Image.new("RGB", (40, 30)).save(tmp_path / "wide.png")
    monkeypatch.setenv(ENV_MAX_PIXELS, "1000")
    with pytest.raises(ImageLoadError, match="40x30 pixels, more than the limit of 1,000 pixels"):
        load_image(tmp_path / "wide.png", max_pixels=default_max_pixels())


def test_disk_full_during_write_leaves_target_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "photo.png"
    rng = np.random.default_rng(2)
    save_image(target, rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    before = target.read_bytes()
    simulate_full_disk(monkeypatch, room=100)  # the write() call itself gets ENOSPC
    with pytest.raises(ImageSaveError) as info:
        save_image(target, rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    assert str(info.value) == "Cannot save photo.png: the disk is full."
    assert target.read_bytes() == before and os.listdir(tmp_path) == ["photo.png"]


def test_16_bit_grey_tiff_is_edited_in_8_bits_with_a_note(tmp_path: Path) -> None:
    grey = (np.arange(12 * 20, dtype=np.uint32).reshape(12, 20) * 257).astype(np.uint16)
    ok, buf = cv2.imencode(".tif", grey)
    assert ok
    (tmp_path / "g16.tif").write_bytes(buf.tobytes())
    loaded = load_image(tmp_path / "g16.tif")
    assert loaded.bit_depth == 16
    assert loaded.warnings == []  # nothing is lost: PNG / TIFF exports keep the 16 bits
    assert loaded.notices == [
        "16-bit image: edited in 8 bits; PNG and TIFF exports keep all 16 bits outside "
        "the repaired areas"
    ]
    assert np.array_equal(loaded.pixels[..., 0], (grey // 257).astype(np.uint8))
    assert loaded.grey and np.array_equal(loaded.samples16, grey)


def test_gif_transparency_becomes_alpha(tmp_path: Path) -> None:
    indices = np.zeros((6, 8), np.uint8)
    indices[:, 4:] = 1
    im = Image.fromarray(indices, mode="L").convert("P")
    im.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    im.save(tmp_path / "t.gif", transparency=0)
    loaded = load_image(tmp_path / "t.gif")
    assert loaded.format == "GIF" and loaded.alpha is not None
    assert (loaded.alpha[:, :4] == 0).all() and (loaded.alpha[:, 4:] == 255).all()
    assert (loaded.pixels[:, 4:] == (10, 200, 30)).all()
    assert not loaded.warnings  # a still GIF: nothing to tell


def test_html_saved_as_jpg_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "download.jpg"
    path.write_text("<!DOCTYPE html><html><body>404 Not Found</body></html>")
    with pytest.raises(ImageLoadError) as info:
        load_image(path)
    assert str(info.value) == (
        "Cannot open download.jpg: it is not an image in a supported format "
        f"({imageio._FORMAT_LIST_TEXT})."
    )
