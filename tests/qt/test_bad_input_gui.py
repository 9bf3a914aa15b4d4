"""Bad input in the editor: every unreadable file is one error dialog and the current photo stays
editable; load warnings are shown before editing starts; the pixel limit comes from the settings
(or $INPAINT_STUDIO_MAX_PIXELS); failed exports leave the target alone and can be retried."""

from __future__ import annotations

import errno
import io
import os
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from inpaint_studio.core.imageio import load_image
from inpaint_studio.qt import dialogs
from inpaint_studio.qt.main_window import MainWindow
from inpaint_studio.qt.settings import Settings
from tests.failing_io import simulate_full_disk


def _stroke(window: MainWindow, x: int = 30, y: int = 40) -> None:
    window.canvas.begin_stroke(x, y)
    window.canvas.extend_stroke(x + 40, y)
    window.canvas.end_stroke()


def _png_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def _jpeg_bytes(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=90)
    return out.getvalue()


BAD_FILES = {
    "empty.jpg": (lambda px: b"", "the file is empty"),
    "notes.jpg": (lambda px: b"shopping list\n" * 20, "not an image in a supported format"),
    "cut.jpg": (lambda px: _jpeg_bytes(px)[:2000], "damaged or incomplete"),
    "bomb.png": (lambda px: _png_claiming(100_000, 100_000), "more than the limit"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_is_one_error_and_the_photo_stays_editable(
    window, photo_files, dialog_log, tmp_path, name
):
    make, reason = BAD_FILES[name]
    bad = tmp_path / name
    bad.write_bytes(make(photo_files.pixels))
    assert window.open_file(photo_files.png)
    _stroke(window)
    dialog_log.answer_yes = True  # "discard unsaved changes?" -> yes, then the load fails
    assert not window.open_file(bad)
    (error,) = dialog_log.errors
    assert error.startswith(f"Cannot open {name}: ") and reason in error and "\n" not in error
    doc = window.controller.document
    assert doc.path == photo_files.png and window.stack.count() == 1  # nothing was lost
    window.undo_action.trigger()
    assert not doc.mask.any()
    _stroke(window, y=100)
    assert window.stack.count() == 1 and doc.mask[100, 50] == 255


def test_pixel_limit_from_settings_and_environment(qtbot, dialog_log, tmp_path, monkeypatch):
    big = tmp_path / "big.png"
    Image.new("RGB", (1100, 1000), (9, 9, 9)).save(big)
    win = MainWindow(Settings(max_megapixels=1), persist_settings=False)
    qtbot.addWidget(win)
    assert not win.open_file(big)
    assert "1100x1000 pixels, more than the limit of 1,000,000 pixels" in dialog_log.errors[0]
    win.close()
    monkeypatch.setenv("INPAINT_STUDIO_MAX_PIXELS", "2000000")  # overrides the setting
    win = MainWindow(Settings(max_megapixels=1), persist_settings=False)
    qtbot.addWidget(win)
    assert win.open_file(big) and win.controller.document.width == 1100
    win.close()


def _animated_gif(path: Path) -> None:
    frames = [Image.new("RGB", (40, 30), c) for c in ((250, 0, 0), (0, 250, 0))]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=80)


def _tiff16(path: Path, channels: int = 3) -> None:
    shape = (30, 40, channels) if channels > 1 else (30, 40)
    rgb16 = np.random.default_rng(1).integers(0, 65536, shape, dtype=np.uint16)
    path.write_bytes(cv2.imencode(".tif", rgb16)[1].tobytes())


def _cmyk(path: Path) -> None:
    Image.new("RGB", (40, 30), (200, 30, 30)).convert("CMYK").save(path, quality=95)


WARNED = {
    "anim.gif": (_animated_gif, "animated image: only the first frame was opened"),
    "print.jpg": (_cmyk, "CMYK image converted to RGB"),
}


@pytest.mark.parametrize("name", sorted(WARNED))
def test_load_warning_is_shown_before_editing(window, dialog_log, tmp_path, monkeypatch, name):
    make, warning = WARNED[name]
    make(tmp_path / name)
    shown: list[tuple[str, int, bool]] = []

    def record(_parent, _title, text):  # what the user sees, and whether editing began
        ctl = window.controller
        shown.append((text, window.stack.count(), ctl.document is not None))

    monkeypatch.setattr(dialogs, "show_warning", record)
    assert window.open_file(tmp_path / name)
    assert shown == [(warning, 0, True)]
    assert warning in window.statusBar().currentMessage()
    _stroke(window, 5, 10)
    assert window.stack.count() == 1


def test_palette_alpha_png_keeps_its_transparency_on_export(window, tmp_path):
    indices = np.zeros((30, 40), np.uint8)
    indices[:, 20:] = 1
    im = Image.fromarray(indices, mode="L").convert("P")
    im.putpalette([0, 0, 0, 240, 120, 10] + [0] * 762)
    im.save(tmp_path / "logo.png", transparency=0)
    assert window.open_file(tmp_path / "logo.png")
    _stroke(window, 22, 10)
    out = tmp_path / "logo-edited.png"
    assert window.save_as(out)
    saved = load_image(out)
    assert saved.alpha is not None
    assert (saved.alpha[:, :20] == 0).all() and (saved.alpha[:, 20:] == 255).all()


def test_one_pixel_high_strip_opens_and_edits(window, tmp_path):
    strip = np.random.default_rng(0).integers(0, 256, (1, 100_000, 3), dtype=np.uint8)
    Image.fromarray(strip).save(tmp_path / "strip.png")
    assert window.open_file(tmp_path / "strip.png")
    doc = window.controller.document
    assert (doc.width, doc.height) == (100_000, 1)
    window.canvas.begin_stroke(50_000, 0)
    window.canvas.end_stroke()
    assert window.stack.count() == 1 and doc.mask[0, 50_000] == 255


def test_full_disk_on_export_keeps_target_and_edits(
    window, photo_files, dialog_log, tmp_path, monkeypatch
):
    assert window.open_file(photo_files.png)
    _stroke(window)
    (tmp_path / "exports").mkdir()
    target = tmp_path / "exports" / "out.png"
    target.write_bytes(b"previous export")
    with monkeypatch.context() as m:
        simulate_full_disk(m, room=1000)
        assert not window.save_as(target)
    assert dialog_log.errors == ["Cannot save out.png: the disk is full."]
    assert target.read_bytes() == b"previous export"
    assert os.listdir(target.parent) == ["out.png"]  # no temporary file left behind
    assert "*" in window.windowTitle() and window.stack.count() == 1
    assert window.save_as(target)  # space again: the retry works
    assert np.array_equal(load_image(target).pixels, window.controller.document.image)


def test_unwritable_folder_on_export(window, photo_files, dialog_log, tmp_path, monkeypatch):
    assert window.open_file(photo_files.png)
    _stroke(window)
    real_open = os.open

    def deny(path, *args, **kwargs):
        if ".tmp-" in str(path):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(os, "open", deny)
        assert not window.save_as(tmp_path / "locked.jpg")
    assert dialog_log.errors == ["Cannot save locked.jpg: permission denied."]
    assert not (tmp_path / "locked.jpg").exists() and "*" in window.windowTitle()
    _stroke(window, y=150)
    assert window.stack.count() == 2


def test_16_bit_master_opens_without_a_box_and_says_what_is_kept(window, dialog_log, tmp_path):
    """Nothing is lost on a 16-bit RGB master (exports keep the 16 bits): no warning box to
    click away on every scan, one line in the status bar."""
    _tiff16(tmp_path / "master.tif")
    assert window.open_file(tmp_path / "master.tif")
    assert dialog_log.warnings == [] and dialog_log.errors == []
    message = window.statusBar().currentMessage()
    assert message.startswith("Opened master.tif. 16-bit image: edited in 8 bits")
