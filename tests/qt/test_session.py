"""Scripted editing sessions through the MainWindow: paint, inpaint, undo/redo, export."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from inpaint_studio.core.geometry import Rect
from inpaint_studio.core.imageio import load_image
from inpaint_studio.qt.controller import context_crop
from inpaint_studio.qt.main_window import MainWindow


def _select_model(window: MainWindow, name: str) -> None:
    index = window.model_combo.findData(name)
    assert index >= 0, f"model {name} not listed"
    window.model_combo.setCurrentIndex(index)


def _vp(window: MainWindow, x: float, y: float) -> QPoint:
    return window.canvas.image_to_viewport(x + 0.5, y + 0.5).toPoint()


def _mouse_stroke(window: MainWindow, points, button=Qt.MouseButton.LeftButton) -> None:
    vp = window.canvas.viewport()
    none = Qt.KeyboardModifier.NoModifier
    QTest.mousePress(vp, button, none, _vp(window, *points[0]))
    for p in points[1:]:
        QTest.mouseMove(vp, _vp(window, *p))
    QTest.mouseRelease(vp, button, none, _vp(window, *points[-1]))


def _slow_started(fake_backends) -> bool:
    return bool(fake_backends["slow"]) and fake_backends["slow"][0].started.is_set()


def _stroke(window: MainWindow, y: int = 120, x0: int = 110, x1: int = 200) -> None:
    window.canvas.begin_stroke(x0, y)
    window.canvas.extend_stroke(x1, y)
    window.canvas.end_stroke()


def test_scripted_session_png(qtbot, window, photo_files, tmp_path):
    assert window.open_file(photo_files.png)
    doc = window.controller.document
    stack = window.stack
    original = photo_files.pixels
    assert np.array_equal(doc.image, original)
    assert window.windowTitle().startswith("photo.png —") and "*" not in window.windowTitle()

    window.canvas.set_brush_size(16)
    _mouse_stroke(window, [(100, 100), (130, 110), (160, 120), (190, 125)])
    assert stack.count() == 1 and stack.text(0) == "Brush"  # one gesture, one step
    painted = doc.mask.copy()
    assert painted[110, 130] == 255 and painted[10, 10] == 0
    assert window.windowTitle().startswith("photo.png*")

    _select_model(window, "telea")
    with qtbot.waitSignal(window.controller.inpaint_applied, timeout=10_000) as blocker:
        window.inpaint_action.trigger()
    assert blocker.args[0].backend == "telea"
    after = doc.image.copy()
    hole = painted != 0
    assert np.array_equal(after[~hole], original[~hole])  # outside the mask: bit-exact
    assert not np.array_equal(after[hole], original[hole])
    assert not doc.mask.any()  # the filled hole is no longer masked
    assert stack.count() == 2 and stack.text(1) == "Inpaint (telea)"
    assert not window.controller.is_busy() and not window.progress_bar.isVisible()
    inpaint_edit = stack.edits()[1]
    assert inpaint_edit.rect == Rect.of_mask(painted)  # diff over the hole's bbox only

    window.undo_action.trigger()  # undo the fill: bit-exact image, mask back
    assert np.array_equal(doc.image, original) and np.array_equal(doc.mask, painted)
    window.undo_action.trigger()  # undo the stroke
    assert not doc.mask.any() and np.array_equal(doc.image, original)
    assert "*" not in window.windowTitle()  # back at the opened (clean) state
    window.redo_action.trigger()
    window.redo_action.trigger()
    assert np.array_equal(doc.image, after) and not doc.mask.any()
    # the canvas shows the document's pixels
    from inpaint_studio.qt.convert import qimage_to_rgb

    assert np.array_equal(qimage_to_rgb(window.canvas.displayed_image()), after)

    out = tmp_path / "export.png"
    assert window.save_as(out)
    assert np.array_equal(load_image(out).pixels, after)
    assert window.windowTitle().startswith("export.png —")
    assert np.array_equal(load_image(photo_files.png).pixels, original)  # source untouched


def test_jpeg_export_keeps_size_reasonable(qtbot, window, photo_files, tmp_path):
    assert window.open_file(photo_files.jpeg)
    _stroke(window)
    _select_model(window, "telea")
    with qtbot.waitSignal(window.controller.inpaint_applied, timeout=10_000):
        window.inpaint()
    out = tmp_path / "export.jpg"
    assert window.save_as(out)
    assert "original JPEG data kept outside the repairs" in window.statusBar().currentMessage()
    saved = load_image(out)
    assert saved.format == "JPEG" and saved.size == (320, 240)
    assert out.stat().st_size < 2 * photo_files.jpeg.stat().st_size
    assert abs((saved.jpeg_quality or 0) - 90) <= 3  # quality matched the source
    # away from the repair the source's blocks were kept, not re-compressed (core.jpeg_splice)
    original = load_image(photo_files.jpeg).pixels
    changed = (window.controller.document.image != original).any(axis=2)
    ys, xs = np.nonzero(changed)
    assert ys.size
    far = np.ones(changed.shape, dtype=bool)
    far[max(0, ys.min() - 32) : ys.max() + 33, max(0, xs.min() - 32) : xs.max() + 33] = False
    assert far.any() and np.array_equal(saved.pixels[far], original[far])


def test_stale_result_is_dropped(qtbot, window, photo_files, fake_backends):
    window.open_file(photo_files.png)
    _stroke(window)
    original = window.controller.document.image.copy()
    _select_model(window, "slow")
    dropped: list[tuple[int, str]] = []
    window.controller.inpaint_dropped.connect(lambda rid, why: dropped.append((rid, why)))
    first = window.inpaint()
    qtbot.waitUntil(lambda: _slow_started(fake_backends))
    with qtbot.waitSignal(window.controller.inpaint_applied, timeout=10_000) as blocker:
        second = window.inpaint()  # supersedes the running one, which finishes late
    assert blocker.args[0].request_id == second != first
    assert (first, "stale") in dropped
    doc = window.controller.document
    assert window.stack.count() == 2  # stroke + ONE fill
    filled = doc.image[120, 150]
    assert (filled == 150).all()  # the second call's colour: the late first result was ignored
    window.undo_action.trigger()
    assert np.array_equal(doc.image, original)


def test_escape_cancels_and_drops_result(qtbot, window, photo_files, fake_backends):
    window.open_file(photo_files.png)
    _stroke(window)
    doc = window.controller.document
    image, mask = doc.image.copy(), doc.mask.copy()
    _select_model(window, "slow")
    window.activateWindow()
    window.canvas.setFocus()
    QTest.keyClick(window.canvas, Qt.Key.Key_Return)
    assert window.controller.is_busy() and window.progress_bar.isVisible()
    assert window.cancel_action.isEnabled()
    qtbot.waitUntil(lambda: _slow_started(fake_backends))
    with qtbot.waitSignal(window.controller.worker.finished, timeout=10_000):
        QTest.keyClick(window.canvas, Qt.Key.Key_Escape)
        assert not window.controller.is_busy() and not window.progress_bar.isVisible()
    qtbot.wait(20)
    assert np.array_equal(doc.image, image) and np.array_equal(doc.mask, mask)
    assert window.stack.count() == 1  # only the stroke


def test_result_dropped_when_photo_changed_during_fill(qtbot, window, photo_files, fake_backends):
    window.open_file(photo_files.png)
    _stroke(window)
    _select_model(window, "fake")
    with qtbot.waitSignal(window.controller.inpaint_applied, timeout=10_000):
        window.inpaint()
    _stroke(window)
    _select_model(window, "slow")
    window.inpaint()
    window.undo_action.trigger()  # undo the new stroke
    window.undo_action.trigger()  # undo the first fill: the photo under the request changed
    doc = window.controller.document
    image = doc.image.copy()
    dropped: list[str] = []
    window.controller.inpaint_dropped.connect(lambda _rid, why: dropped.append(why))
    with qtbot.waitSignal(window.controller.worker.finished, timeout=10_000):
        pass
    qtbot.waitUntil(lambda: bool(dropped))
    assert dropped == ["image changed"]
    assert np.array_equal(doc.image, image) and window.stack.count() == 3
    assert not window.controller.is_busy()


def test_inpaint_failure_is_shown_and_app_stays_usable(qtbot, window, photo_files, dialog_log):
    window.open_file(photo_files.png)
    _stroke(window)
    _select_model(window, "broken")
    with qtbot.waitSignal(window.controller.worker.failed, timeout=10_000):
        window.inpaint()
    qtbot.waitUntil(lambda: bool(dialog_log.errors))
    assert dialog_log.errors == ["Inpainting failed: RuntimeError: kaputt"]
    assert not window.controller.is_busy() and window.stack.count() == 1
    _select_model(window, "fake")
    with qtbot.waitSignal(window.controller.inpaint_applied, timeout=10_000):
        window.inpaint()
    assert window.stack.count() == 2


def test_inpaint_without_mask_does_nothing(window, photo_files):
    window.open_file(photo_files.png)
    assert window.inpaint() is None
    assert not window.controller.is_busy() and window.stack.count() == 0


def test_close_while_filling_stops_thread(qtbot, window, photo_files, fake_backends):
    window.open_file(photo_files.png)
    _stroke(window)
    _select_model(window, "slow")
    window.inpaint()
    qtbot.waitUntil(lambda: _slow_started(fake_backends))
    window.close()  # unsaved -> asks (answer yes), cancels, quits and waits for the thread
    assert not window.isVisible()
    assert not window.controller.host.is_running()
    assert fake_backends["slow"][0].unloaded


def test_result_waits_for_a_stroke_in_progress(qtbot, window, photo_files, fake_backends):
    window.open_file(photo_files.png)
    _stroke(window)
    _select_model(window, "slow")
    window.inpaint()
    qtbot.waitUntil(lambda: _slow_started(fake_backends))
    canvas = window.canvas
    canvas.begin_stroke(20, 20)  # the user is painting when the result arrives
    with qtbot.waitSignal(window.controller.worker.finished, timeout=10_000):
        pass
    qtbot.wait(20)
    assert window.stack.count() == 1 and window.controller.is_busy()
    canvas.extend_stroke(40, 30)
    with qtbot.waitSignal(window.controller.inpaint_applied, timeout=1000):
        canvas.end_stroke()
    assert [window.stack.text(i) for i in range(3)] == ["Brush", "Brush", "Inpaint (slow)"]
    doc = window.controller.document
    assert doc.mask[25, 30] == 255  # the new stroke stays masked, the filled hole is cleared
    assert not doc.mask[100:140, 100:210].any()


def test_context_crop():
    assert context_crop(Rect(100, 100, 10, 20), 1000, 800, 64) == Rect(36, 36, 138, 148)
    assert context_crop(Rect(100, 100, 200, 20), 1000, 800, 64) == Rect(0, 0, 500, 320)
    assert context_crop(Rect(0, 0, 5, 5), 30, 30, 64) == Rect(0, 0, 30, 30)


def _request_spy(window, photo_files, monkeypatch, field: str) -> list:
    """Open a photo with a stroke; from now on Inpaint only records the request's `field`
    in the returned list (nothing is sent to the worker)."""
    window.open_file(photo_files.png)
    _stroke(window)
    _select_model(window, "telea")
    seen: list = []
    build = window.controller.build_request

    def spy(*args, **kwargs):
        seen.append(getattr(build(*args, **kwargs), field))
        return None

    monkeypatch.setattr(window.controller, "build_request", spy)
    return seen


def test_match_grain_toggle_reaches_the_request_and_the_settings(window, photo_files, monkeypatch):
    from inpaint_studio.core.grain import DEFAULT_STRENGTH

    seen = _request_spy(window, photo_files, monkeypatch, "grain")
    assert not window.grain_action.isChecked()  # off by default
    assert not window.grain_spin.isEnabled()
    window.inpaint()
    assert window.current_settings().match_grain == 0
    window.grain_action.trigger()  # on
    assert window.grain_spin.isEnabled()
    window.inpaint()
    assert window.current_settings().match_grain == 1
    assert window.current_settings().grain_percent == round(DEFAULT_STRENGTH * 100)
    window.grain_spin.setValue(150)  # the user's own strength
    window.inpaint()
    window.grain_action.trigger()  # off again: the strength is kept for next time
    window.inpaint()
    assert window.current_settings().grain_percent == 150
    assert seen == [0.0, pytest.approx(DEFAULT_STRENGTH), pytest.approx(1.5), 0.0]


def test_thin_damage_quality_reaches_the_request_and_the_settings(window, photo_files, monkeypatch):
    from inpaint_studio.core.regions import BEST_MIN_HOLE_WIDTH, DEFAULT_MIN_HOLE_WIDTH

    seen = _request_spy(window, photo_files, monkeypatch, "min_hole_width")
    assert not window.thin_damage_action.isChecked()  # off by default: the faster fill
    window.inpaint()
    window.thin_damage_action.trigger()
    window.inpaint()
    assert window.current_settings().best_thin_damage == 1
    assert seen == [DEFAULT_MIN_HOLE_WIDTH, BEST_MIN_HOLE_WIDTH]
    assert window.thin_damage_action in window.menuBar().actions()[3].menu().actions()


def test_16_bit_master_repaired_in_the_editor_exports_16_bits(qtbot, window, dialog_log, tmp_path):
    """Open a 48-bit TIFF scan, brush, fill, export: the TIFF is 16-bit again and every
    pixel outside the fill is the scan's own sample."""
    import cv2

    rng = np.random.default_rng(9)
    v16 = cv2.GaussianBlur(rng.integers(0, 65536, (120, 160, 3)).astype(np.float32), (0, 0), 3)
    v16 = v16.astype(np.uint16)
    src = tmp_path / "scan.tif"
    src.write_bytes(cv2.imencode(".tif", v16[..., ::-1])[1].tobytes())
    assert window.open_file(src)
    _stroke(window, y=60, x0=40, x1=120)
    painted = window.controller.document.mask != 0
    _select_model(window, "telea")
    with qtbot.waitSignal(window.controller.inpaint_applied, timeout=10_000):
        window.inpaint_action.trigger()
    out = tmp_path / "repaired.tif"
    assert window.save_as(out)
    back = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)[..., ::-1]
    assert back.dtype == np.uint16
    assert np.array_equal(back[~painted], v16[~painted])
    assert not np.array_equal(back[painted], v16[painted])


def test_a_fill_finishing_during_an_export_stays_unsaved(
    qtbot, window, photo_files, tmp_path, monkeypatch
):
    from inpaint_studio.core import imageio

    assert window.open_file(photo_files.png)
    _stroke(window)
    _select_model(window, "telea")
    before = window.controller.document.image.copy()
    real_save = imageio.save_image
    started = []

    def slow_save(*args, **kwargs):  # a big export: the window keeps running meanwhile
        started.append(True)
        deadline = time.monotonic() + 10
        while not applied and time.monotonic() < deadline:
            time.sleep(0.01)
        return real_save(*args, **kwargs)

    applied = []
    window.controller.inpaint_applied.connect(lambda *a: applied.append(a))
    monkeypatch.setattr(imageio, "save_image", slow_save)
    window.inpaint()
    out = tmp_path / "export.png"
    assert window.save_as(out)
    assert started and applied  # the fill landed while the export was written
    assert np.array_equal(load_image(out).pixels, before)  # the state when Save was pressed
    assert not np.array_equal(window.controller.document.image, before)
    assert window.controller.is_modified() and window.controller.document.dirty
    assert "export.png*" in window.windowTitle()


def test_closing_the_window_during_an_export_is_refused(
    qtbot, window, photo_files, tmp_path, monkeypatch
):
    from PySide6.QtCore import QTimer

    from inpaint_studio.core import imageio

    assert window.open_file(photo_files.png)
    real_save = imageio.save_image
    closes = []

    def slow_save(*args, **kwargs):
        time.sleep(0.4)
        return real_save(*args, **kwargs)

    monkeypatch.setattr(imageio, "save_image", slow_save)
    QTimer.singleShot(50, lambda: closes.append(window.close()))
    assert window.save_as(tmp_path / "export.png")
    assert closes == [False] and window.isVisible()
    assert (tmp_path / "export.png").exists()


def test_lasso_fills_an_outline_and_right_drags_take_away(qtbot, window, photo_files):
    assert window.open_file(photo_files.png)
    doc, stack = window.controller.document, window.stack
    QTest.keyClick(window.canvas, Qt.Key.Key_L)
    assert window.lasso_action.isChecked()
    _mouse_stroke(window, [(60, 40), (160, 40), (160, 140), (60, 140)])  # a square outline
    assert stack.count() == 1 and stack.text(0) == "Lasso"  # one gesture, one step
    assert doc.mask[90, 110] == 255 and doc.mask[38, 110] == 0 and doc.mask[90, 165] == 0
    assert abs(np.count_nonzero(doc.mask) - 100 * 100) < 400
    right = Qt.MouseButton.RightButton
    _mouse_stroke(window, [(100, 80), (130, 80), (130, 110), (100, 110)], right)
    assert stack.count() == 2 and stack.text(1) == "Lasso erase"
    assert doc.mask[95, 115] == 0 and doc.mask[60, 70] == 255
    window.controller.undo()
    assert doc.mask[95, 115] == 255
    window.controller.undo()
    assert not doc.mask.any()
    # Esc drops an outline in progress: nothing is filled, no step is added
    vp, none = window.canvas.viewport(), Qt.KeyboardModifier.NoModifier
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, none, _vp(window, 60, 40))
    for point in [(160, 40), (160, 140)]:
        QTest.mouseMove(vp, _vp(window, *point))
    QTest.keyClick(window.canvas, Qt.Key.Key_Escape)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, none, _vp(window, 160, 140))
    assert stack.count() == 2 and not doc.mask.any()
    # with the brush, a right drag erases too
    QTest.keyClick(window.canvas, Qt.Key.Key_B)
    window.canvas.set_brush_size(20)
    _mouse_stroke(window, [(60, 200), (200, 200)])
    _mouse_stroke(window, [(100, 200), (140, 200)], right)
    assert stack.text(stack.count() - 1) == "Erase"
    assert doc.mask[200, 70] == 255 and doc.mask[200, 120] == 0
