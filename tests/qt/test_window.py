"""MainWindow chrome: title, prompts, save-over-original, drag & drop, errors, settings, app."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QStandardItemModel
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from inpaint_studio.backends import registry
from inpaint_studio.backends.base import BackendInfo
from inpaint_studio.core.geometry import Rect
from inpaint_studio.core.history import Edit
from inpaint_studio.qt.canvas import Tool
from inpaint_studio.qt.main_window import MainWindow
from inpaint_studio.qt.settings import (
    SETTINGS_VERSION,
    Settings,
    load_settings,
    save_settings,
    settings_store,
)


def _stroke(window: MainWindow, y: int = 120) -> None:
    window.canvas.begin_stroke(110, y)
    window.canvas.extend_stroke(200, y)
    window.canvas.end_stroke()


def test_title_and_modified_flag(window, photo_files, tmp_path):
    assert window.windowTitle() == "Inpaint Studio"
    assert not window.save_action.isEnabled() and not window.inpaint_action.isEnabled()
    window.open_file(photo_files.png)
    assert window.windowTitle() == "photo.png — Inpaint Studio"
    assert window.save_action.isEnabled() and window.inpaint_action.isEnabled()
    _stroke(window)
    assert window.windowTitle() == "photo.png* — Inpaint Studio"
    assert window.undo_action.isEnabled() and window.undo_action.text() == "&Undo Brush"
    window.undo_action.trigger()
    assert window.windowTitle() == "photo.png — Inpaint Studio"
    assert window.redo_action.isEnabled() and not window.undo_action.isEnabled()
    window.redo_action.trigger()
    assert window.save_as(tmp_path / "out.png")
    assert window.windowTitle() == "out.png — Inpaint Studio"


def test_save_over_original_asks_first(window, photo_files, dialog_log):
    window.open_file(photo_files.png)
    doc = window.controller.document
    _stroke(window)
    black = np.zeros((10, 10, 3), np.uint8)
    window.stack.push_edit(Edit.capture("paint", doc, Rect(0, 0, 10, 10), new_image_patch=black))
    before = photo_files.png.read_bytes()
    dialog_log.answer_yes = False
    assert not window.save()
    assert len(dialog_log.questions) == 1 and "Overwrite the original" in dialog_log.questions[0]
    assert photo_files.png.read_bytes() == before and "*" in window.windowTitle()
    dialog_log.answer_yes = True
    assert window.save()
    assert len(dialog_log.questions) == 2 and "*" not in window.windowTitle()
    saved = np.asarray(Image.open(photo_files.png).convert("RGB"))
    assert saved[:10, :10].max() == 0 and np.array_equal(saved[20:], photo_files.pixels[20:])
    _stroke(window, y=150)
    assert window.save()  # confirmed once for this document: no second question
    assert len(dialog_log.questions) == 2


def test_save_as_uses_dialog_and_reports_errors(window, photo_files, dialog_log, tmp_path):
    window.open_file(photo_files.png)
    dialog_log.save_path = None
    assert not window.save_as()  # dialog cancelled
    dialog_log.save_path = str(tmp_path / "no-such-folder" / "x.png")
    assert not window.save_as()
    assert len(dialog_log.errors) == 1 and "does not exist" in dialog_log.errors[0]
    dialog_log.save_path = str(tmp_path / "fine")
    assert window.save_as()
    assert (tmp_path / "fine.png").exists()  # no extension -> the source's


def test_unsaved_changes_prompt_on_open_and_close(qtbot, window, photo_files, dialog_log):
    window.open_file(photo_files.png)
    _stroke(window)
    dialog_log.answer_yes = False
    assert not window.open_file(photo_files.jpeg)
    assert window.controller.document.path == photo_files.png
    window.close()
    assert window.isVisible() and window.controller.host.is_running()  # close refused
    assert len(dialog_log.questions) == 2
    dialog_log.answer_yes = True
    assert window.open_file(photo_files.jpeg)
    assert window.controller.document.path == photo_files.jpeg and window.stack.count() == 0
    assert not dialog_log.errors


def test_open_via_dialog_and_load_error(window, photo_files, dialog_log, tmp_path):
    dialog_log.open_path = str(photo_files.png)
    assert window.open_file()
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not an image")
    assert not window.open_file(bad)
    assert len(dialog_log.errors) == 1 and "broken.png" in dialog_log.errors[0]
    assert "\n" not in dialog_log.errors[0]
    assert window.controller.document.path == photo_files.png  # still usable
    _stroke(window)
    assert window.stack.count() == 1


def test_load_warnings_in_status_bar_and_box(window, dialog_log, tmp_path):
    path = tmp_path / "print.jpg"
    Image.new("RGB", (64, 48), (200, 30, 30)).convert("CMYK").save(path, quality=95)
    assert window.open_file(path)
    assert dialog_log.warnings, "CMYK input should produce a load warning"
    assert dialog_log.warnings[0] in window.statusBar().currentMessage()


def test_drop_file_opens_it(qtbot, window, photo_files):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photo_files.png))])
    pos = QPointF(200, 200)
    enter = QDragEnterEvent(
        pos.toPoint(),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dragEnterEvent(enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
    )
    window.dropEvent(drop)
    assert window.controller.document is not None
    assert window.controller.document.path == photo_files.png


def test_clear_mask_is_undoable(window, photo_files):
    window.open_file(photo_files.png)
    _stroke(window)
    doc = window.controller.document
    painted = doc.mask.copy()
    window.clear_mask_action.trigger()
    assert not doc.mask.any() and window.stack.count() == 2 and window.stack.text(1) == "Clear mask"
    assert window.canvas.mask_overlay().pixelColor(150, 120).alpha() == 0
    window.clear_mask_action.trigger()  # nothing to clear: no empty step
    assert window.stack.count() == 2
    window.undo_action.trigger()
    assert np.array_equal(doc.mask, painted)
    assert window.canvas.mask_overlay().pixelColor(150, 120).alpha() > 0


def test_grow_and_shrink_mask_are_undoable_steps_shown_on_the_canvas(window, photo_files):
    window.open_file(photo_files.png)
    _stroke(window)
    doc = window.controller.document
    painted = doc.mask.copy()
    ys, xs = np.nonzero(painted)
    outside = (int(ys.min()) - 1, int(xs.min()) + (int(xs.max()) - int(xs.min())) // 2)
    assert painted[outside] == 0
    assert window.canvas.mask_overlay().pixelColor(outside[1], outside[0]).alpha() == 0
    assert window.grow_mask_action.shortcut().toString() == "Ctrl+]"
    window.grow_mask_action.trigger()
    assert window.stack.text(window.stack.count() - 1) == "Grow mask 1 px"
    assert doc.mask[outside] == 255 and (doc.mask >= painted).all()
    assert window.canvas.mask_overlay().pixelColor(outside[1], outside[0]).alpha() > 0
    window.shrink_mask_action.trigger()
    window.shrink_mask_action.trigger()
    assert window.stack.text(window.stack.count() - 1) == "Shrink mask 1 px"
    assert (doc.mask <= painted).all() and doc.mask.sum() < painted.sum()
    for _ in range(3):
        window.undo_action.trigger()
    assert np.array_equal(doc.mask, painted)
    assert window.canvas.mask_overlay().pixelColor(outside[1], outside[0]).alpha() == 0


def test_tool_and_brush_shortcuts(qtbot, window, photo_files):
    window.open_file(photo_files.png)
    window.activateWindow()
    window.canvas.setFocus()
    start = window.canvas.brush_size
    QTest.keyClick(window.canvas, Qt.Key.Key_BracketRight)
    assert window.canvas.brush_size > start and window.size_spin.value() == window.canvas.brush_size
    QTest.keyClick(window.canvas, Qt.Key.Key_BracketLeft)
    QTest.keyClick(window.canvas, Qt.Key.Key_BracketLeft)
    assert window.canvas.brush_size < start
    window.size_spin.setValue(123)
    assert window.canvas.brush_size == 123
    QTest.keyClick(window.canvas, Qt.Key.Key_E)
    assert window.canvas.tool == Tool.ERASER and window.eraser_action.isChecked()
    QTest.keyClick(window.canvas, Qt.Key.Key_B)
    assert window.canvas.tool == Tool.BRUSH and window.brush_action.isChecked()
    QTest.keyClick(window.canvas, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.canvas.zoom() == 1.0
    QTest.keyClick(window.canvas, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert window.canvas.visible_image_rect().area == 320 * 240
    window.zoom_in_action.trigger()
    assert window.zoom_label.text().endswith("%")


def test_history_budget_from_settings_evicts_oldest(qtbot, dialog_log, photo_files):
    win = MainWindow(Settings(history_budget_mb=1, brush_size=500), persist_settings=False)
    qtbot.addWidget(win)
    assert win.stack.budget_bytes == 2**20
    win.open_file(photo_files.png)
    doc = win.controller.document
    for i in range(12):  # each full-frame stroke stores ~2 x 77 kB of mask
        win.canvas.set_tool(Tool.ERASER if i % 2 else Tool.BRUSH)
        win.canvas.begin_stroke(160, 120)
        win.canvas.end_stroke()
    assert win.stack.total_bytes <= 2**20 and win.stack.evicted > 0
    assert win.stack.count() == 12 - win.stack.evicted
    assert win.history_view.emptyLabel() == "Oldest kept state"
    last = doc.mask.copy()
    while win.stack.canUndo():
        win.stack.undo()
    while win.stack.canRedo():
        win.stack.redo()
    assert np.array_equal(doc.mask, last)
    dialog_log.answer_yes = True
    win.close()


def test_model_combo_lists_registry_with_unavailable_disabled(qtbot, dialog_log, fake_backends):
    info = BackendInfo(name="ghost", title="Ghost", description="never there")
    registry.register("ghost", lambda: None, info, lambda: (False, "weights not installed"))
    try:
        win = MainWindow(persist_settings=False)
        qtbot.addWidget(win)
        combo = win.model_combo
        names = [combo.itemData(i) for i in range(combo.count())]
        assert {"telea", "fake", "ghost"} <= set(names)
        index = combo.findData("ghost")
        model = combo.model()
        assert isinstance(model, QStandardItemModel) and not model.item(index).isEnabled()
        assert "weights not installed" in combo.itemData(index, Qt.ItemDataRole.ToolTipRole)
        assert combo.currentData() == registry.DEFAULT_BACKEND
        assert win.device_combo.currentData() == "auto"
        win.close()
    finally:
        registry.unregister("ghost")


def test_settings_roundtrip_and_versioning(private_settings):
    assert load_settings() == Settings()  # nothing saved yet: defaults
    custom = Settings(history_budget_mb=64, brush_size=12, default_backend="ns", jpeg_quality=88)
    save_settings(custom)
    assert private_settings.exists()
    assert load_settings() == custom
    store = settings_store()
    store.setValue("brush_size", "not a number")
    store.sync()
    assert load_settings().brush_size == Settings().brush_size
    store.setValue("brush_size", 100_000)
    store.sync()
    assert load_settings().brush_size == 500  # clamped
    store.setValue("grain_percent", 0)  # a file from before the strength setting: 0 = off
    store.sync()
    assert load_settings().grain_percent == Settings().grain_percent
    assert load_settings().grain_strength == 0.0  # Match grain stays off until turned on
    save_settings(Settings(match_grain=1, grain_percent=1000))
    assert load_settings().grain_strength == 4.0  # clamped to 400%
    save_settings(Settings(best_thin_damage=7))
    assert load_settings().best_thin_damage == 1
    assert load_settings().min_hole_width == 32.0
    assert Settings().min_hole_width == 20.0
    save_settings(Settings(detect_polarity="dark"))
    assert load_settings().detect_polarity == "dark"
    store.setValue("detect_polarity", "bright")  # unknown: the default
    store.sync()
    assert load_settings().detect_polarity == "both"
    store.setValue("version", SETTINGS_VERSION + 1)
    store.sync()
    assert load_settings() == Settings()  # a newer format is not guessed at


def test_window_close_persists_settings(qtbot, dialog_log, photo_files):
    win = MainWindow(load_settings())
    qtbot.addWidget(win)
    win.canvas.set_brush_size(77)
    win.close()
    assert load_settings().brush_size == 77


def test_run_gui_opens_sample_and_exits(qtbot, tmp_path, monkeypatch, photo_files):
    from inpaint_studio.qt.app import run_gui

    samples = tmp_path / "res" / "samples"
    samples.mkdir(parents=True)
    (samples / "sample.jpg").write_bytes(photo_files.jpeg.read_bytes())
    monkeypatch.setenv("INPAINT_STUDIO_RESOURCES", str(tmp_path / "res"))
    seen: list[str] = []

    def fake_exec(_app) -> int:
        """Stand-in for the blocking event loop: look at the window, close it."""
        for w in QApplication.topLevelWidgets():
            if isinstance(w, MainWindow) and w.isVisible():
                seen.append(w.windowTitle())
                w.close()
        return 0

    monkeypatch.setattr(QApplication, "exec", fake_exec)
    assert run_gui(None, sample=True) == 0
    assert seen == ["sample.jpg — Inpaint Studio"]
