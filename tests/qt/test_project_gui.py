"""Project files in the editor: Save Project, reopen by Open / Open Project / drag & drop /
command line, History panel and Ctrl+Z after reopening, errors shown in one dialog."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtTest import QTest

from inpaint_studio.core.geometry import Rect
from inpaint_studio.core.history import Edit
from inpaint_studio.core.imageio import load_image
from inpaint_studio.core.project import read_project
from inpaint_studio.qt.main_window import MainWindow


def _edit_session(window: MainWindow, qtbot) -> list[tuple[np.ndarray, np.ndarray]]:
    """Brush, inpaint (fake), brush, paint an image patch, undo once; (image, mask) per step."""
    doc = window.controller.document
    states = [(doc.image.copy(), doc.mask.copy())]
    window.canvas.begin_stroke(110, 120)
    window.canvas.extend_stroke(200, 120)
    window.canvas.end_stroke()
    states.append((doc.image.copy(), doc.mask.copy()))
    window.model_combo.setCurrentIndex(window.model_combo.findData("fake"))
    with qtbot.waitSignal(window.controller.inpaint_applied, timeout=10_000):
        window.inpaint()
    states.append((doc.image.copy(), doc.mask.copy()))
    window.canvas.begin_stroke(30, 30)
    window.canvas.end_stroke()
    states.append((doc.image.copy(), doc.mask.copy()))
    patch = np.full((20, 30, 3), 5, np.uint8)
    window.stack.push_edit(Edit.capture("paint", doc, Rect(5, 200, 30, 20), new_image_patch=patch))
    states.append((doc.image.copy(), doc.mask.copy()))
    window.undo_action.trigger()
    return states


def _assert_state(window: MainWindow, state) -> None:
    doc = window.controller.document
    assert np.array_equal(doc.image, state[0]) and np.array_equal(doc.mask, state[1])


def test_save_project_and_reopen_with_working_history(
    qtbot, window, photo_files, dialog_log, tmp_path
):
    window.open_file(photo_files.jpeg)
    states = _edit_session(window, qtbot)
    labels = [window.stack.text(i) for i in range(window.stack.count())]
    assert labels == ["Brush", "Inpaint (fake)", "Brush", "paint"]
    dialog_log.project_path = str(tmp_path / "work")  # no extension typed
    window.save_project_action.trigger()
    saved = tmp_path / "work.inpaint"
    assert saved.exists() and window.windowTitle() == "work.inpaint — Inpaint Studio"
    assert window.stack.isClean() and not dialog_log.errors

    other = MainWindow(persist_settings=False)
    qtbot.addWidget(other)
    assert other.open_file(saved)
    stack = other.stack
    assert [stack.text(i) for i in range(stack.count())] == labels
    assert stack.index() == 3 and stack.isClean() and other.history_view.stack() is stack
    assert other.windowTitle() == "work.inpaint — Inpaint Studio"
    _assert_state(other, states[3])
    other.redo_action.trigger()  # the step undone before saving is still there
    _assert_state(other, states[4])
    for k in (3, 2, 1, 0):
        other.undo_action.trigger()
        _assert_state(other, states[k])
    assert not other.undo_action.isEnabled()
    assert np.array_equal(other.canvas.document.image, load_image(photo_files.jpeg).pixels)
    other.history_view.setCurrentIndex(other.history_view.model().index(2, 0))  # click a row
    _assert_state(other, states[2])
    dialog_log.answer_yes = True
    other.close()


def test_ctrl_s_on_a_project_saves_the_project(qtbot, window, photo_files, dialog_log, tmp_path):
    window.open_file(photo_files.png)
    _edit_session(window, qtbot)
    path = tmp_path / "p.inpaint"
    assert window.save_project_as(path)
    window.canvas.begin_stroke(60, 60)
    window.canvas.end_stroke()
    assert "*" in window.windowTitle()
    window.activateWindow()
    QTest.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert "*" not in window.windowTitle() and not dialog_log.questions  # no overwrite prompt
    project = read_project(path)
    assert len(project.history) == 4 and project.history.index == 4
    assert project.document.mask[60, 60] == 255
    assert np.array_equal(load_image(photo_files.png).pixels, photo_files.pixels)


def test_open_project_action_drop_and_export_keep_the_photo_metadata(
    qtbot, window, photo_files, dialog_log, tmp_path
):
    source = tmp_path / "exif.jpg"
    exif = Image.Exif()
    exif[0x013B] = "Grace"
    Image.fromarray(photo_files.pixels).save(source, quality=85, exif=exif)
    window.open_file(source)
    _edit_session(window, qtbot)
    project = tmp_path / "exif.inpaint"
    assert window.save_project_as(project)
    window.open_file(photo_files.png)  # something else is open now
    source.unlink()  # the project does not need the photo any more

    dialog_log.project_path = str(project)
    window.open_project_action.trigger()
    assert window.controller.document.path == project and window.stack.count() == 4

    window.open_file(photo_files.png)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(project))])
    none = Qt.KeyboardModifier.NoModifier
    drop = QDropEvent(
        QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, none
    )
    window.dropEvent(drop)
    assert window.controller.document.path == project and window.stack.count() == 4

    out = tmp_path / "export.jpg"
    assert window.save_as(out)
    with Image.open(out) as im:
        assert im.getexif()[0x013B] == "Grace"  # EXIF of the photo the project was made from
    assert abs(load_image(out).jpeg_quality - 85) <= 2


def test_bad_project_is_reported_and_the_editor_stays_usable(
    window, photo_files, dialog_log, tmp_path
):
    window.open_file(photo_files.png)
    bad = tmp_path / "broken.inpaint"
    bad.write_bytes(b"PK\x03\x04 definitely not a whole zip file")
    assert not window.open_file(bad)
    assert dialog_log.errors == [
        "Cannot open project broken.inpaint: it is not an Inpaint Studio project file."
    ]
    assert window.controller.document.path == photo_files.png
    window.canvas.begin_stroke(10, 10)
    window.canvas.end_stroke()
    assert window.stack.count() == 1


def test_save_project_failure_is_reported(window, photo_files, dialog_log, tmp_path):
    window.open_file(photo_files.png)
    window.canvas.begin_stroke(10, 10)
    window.canvas.end_stroke()
    assert not window.save_project_as(tmp_path / "missing" / "x.inpaint")
    assert len(dialog_log.errors) == 1 and "does not exist" in dialog_log.errors[0]
    assert "*" in window.windowTitle() and window.stack.count() == 1


def test_command_line_opens_a_project(qtbot, window, photo_files, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QApplication

    from inpaint_studio.qt.app import run_gui

    window.open_file(photo_files.png)
    _edit_session(window, qtbot)
    project = tmp_path / "cli.inpaint"
    assert window.save_project_as(project)
    seen: list[tuple[str, int]] = []

    def fake_exec(_app) -> int:
        for w in QApplication.topLevelWidgets():
            if isinstance(w, MainWindow) and w.isVisible() and w is not window:
                seen.append((w.windowTitle(), w.stack.count()))
                w.close()
        return 0

    monkeypatch.setattr(QApplication, "exec", fake_exec)
    assert run_gui(str(project)) == 0
    assert seen == [("cli.inpaint — Inpaint Studio", 4)]
