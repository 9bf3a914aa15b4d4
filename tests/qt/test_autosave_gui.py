"""Autosave in the editor (debounce, every N steps, never mid-stroke, failures in the status bar)
and crash recovery: a real editor process is killed with SIGKILL and its work comes back."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from inpaint_studio.core import autosave as core_autosave
from inpaint_studio.core.document import Document
from inpaint_studio.core.history import History
from inpaint_studio.core.imageio import load_image
from inpaint_studio.core.project import read_project, save_project
from inpaint_studio.errors import ProjectFileError
from inpaint_studio.qt.main_window import MainWindow
from inpaint_studio.qt.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _window(qtbot, **settings) -> MainWindow:
    win = MainWindow(Settings(**settings), persist_settings=False)
    qtbot.addWidget(win)
    return win


def _stroke(window: MainWindow, x: int = 110, y: int = 120) -> None:
    window.canvas.begin_stroke(x, y)
    window.canvas.extend_stroke(x + 60, y)
    window.canvas.end_stroke()


def _autosave_files(state_dir: Path) -> list[str]:
    folder = state_dir / "autosave"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_autosave_after_a_pause_and_gone_when_nothing_is_unsaved(
    qtbot, photo_files, dialog_log, state_dir
):
    win = _window(qtbot, autosave_seconds=1)
    win.open_file(photo_files.png)
    autosave = win.controller.autosave
    _stroke(win)
    assert autosave.is_pending() and not autosave.path.exists()  # debounced, not immediate
    qtbot.waitUntil(lambda: autosave.writes == 1 and not autosave.is_pending(), timeout=10_000)
    assert autosave.path.parent == state_dir / "autosave"
    got = read_project(autosave.path)
    doc = win.controller.document
    assert np.array_equal(got.document.mask, doc.mask) and got.history.index == 1
    assert got.document_path == photo_files.png
    win.undo_action.trigger()  # back at the opened photo: nothing to recover
    qtbot.waitUntil(lambda: not autosave.path.exists(), timeout=10_000)
    win.redo_action.trigger()
    qtbot.waitUntil(lambda: autosave.path.exists(), timeout=10_000)
    dialog_log.answer_yes = True
    win.close()  # clean close: autosave and session lock are removed
    assert _autosave_files(state_dir) == []


def test_autosave_right_away_after_n_steps_and_never_mid_stroke(qtbot, photo_files, dialog_log):
    win = _window(qtbot, autosave_seconds=3600, autosave_edits=2)
    win.open_file(photo_files.png)
    autosave = win.controller.autosave
    _stroke(win)
    qtbot.wait(100)
    assert autosave.writes == 0  # one step: waits for the (hour-long) pause
    win.canvas.begin_stroke(10, 10)  # the user is painting when the autosave is due
    assert not autosave.save_now() and autosave.is_pending()
    win.canvas.extend_stroke(40, 10)
    win.canvas.end_stroke()  # second step -> autosave at the next turn of the event loop
    qtbot.waitUntil(lambda: autosave.writes == 1 and not autosave.is_pending(), timeout=10_000)
    got = read_project(autosave.path)
    assert len(got.history) == 2 and np.array_equal(got.document.mask, win.controller.document.mask)
    dialog_log.answer_yes = True
    win.close()


def test_autosave_failure_goes_to_the_status_bar_and_editing_continues(
    qtbot, photo_files, dialog_log, monkeypatch, state_dir
):
    def full(*_args, **_kwargs):
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as exc:
            raise ProjectFileError("Cannot save project x.inpaint: the disk is full.") from exc

    monkeypatch.setattr(core_autosave, "write_project", full)
    win = _window(qtbot, autosave_seconds=1, autosave_edits=1)
    win.open_file(photo_files.png)
    _stroke(win)
    expected = f"Autosave to {state_dir / 'autosave'} failed: the disk is full."
    qtbot.waitUntil(lambda: win.statusBar().currentMessage() == expected, timeout=10_000)
    assert not dialog_log.errors  # no modal box in the user's way
    _stroke(win, y=160)
    assert win.stack.count() == 2
    dialog_log.answer_yes = True
    win.close()


def _orphan(state_dir: Path, name: str, photo: Path) -> tuple[Path, np.ndarray]:
    folder = state_dir / "autosave"
    folder.mkdir(parents=True, exist_ok=True)
    doc = Document.from_loaded(load_image(photo))
    doc.mask[10:20, 10:30] = 255
    path = folder / name
    save_project(path, doc, History())
    return path, doc.mask.copy()


def test_declined_recovery_deletes_the_autosave(qtbot, photo_files, dialog_log, state_dir):
    path, _ = _orphan(state_dir, "old.inpaint", photo_files.png)
    win = _window(qtbot)
    dialog_log.answer_yes = False
    assert not win.offer_recovery()
    assert len(dialog_log.questions) == 1 and "did not close properly" in dialog_log.questions[0]
    assert "photo.png (0 steps, autosaved " in dialog_log.questions[0]
    assert not path.exists() and win.controller.document is None
    assert not win.offer_recovery() and len(dialog_log.questions) == 1  # not asked again
    win.close()


def test_damaged_autosave_is_reported_and_set_aside(qtbot, photo_files, dialog_log, state_dir):
    path, _ = _orphan(state_dir, "bad.inpaint", photo_files.png)
    path.write_bytes(path.read_bytes()[:300])
    win = _window(qtbot)
    assert not win.offer_recovery()
    assert len(dialog_log.errors) == 1 and "bad.inpaint" in dialog_log.errors[0]
    assert _autosave_files(state_dir) == ["bad.inpaint.damaged"]
    assert not win.offer_recovery() and len(dialog_log.errors) == 1
    win.open_file(photo_files.png)  # the editor is still usable
    _stroke(win)
    assert win.stack.count() == 1
    dialog_log.answer_yes = True
    win.close()


def _read_line(proc: subprocess.Popen, timeout: float) -> str:
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return line[0].strip() if line else ""


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_killed_editor_is_recovered_bit_exact_with_working_undo(
    qtbot, photo_files, dialog_log, state_dir, private_settings, tmp_path, monkeypatch
):
    expected_file = tmp_path / "expected.npz"
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        INPAINT_STUDIO_STATE_DIR=str(state_dir),
        INPAINT_STUDIO_SETTINGS=str(private_settings),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.qt.crash_session", str(photo_files.png), str(expected_file)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert _read_line(proc, 120) == "READY"
    finally:
        proc.send_signal(signal.SIGKILL)  # no closeEvent, no cleanup: a crash
        proc.wait(30)
        proc.stdout.close()
    expected = np.load(expected_file)
    orphan = Path(str(expected["autosave"]))
    assert orphan.exists()

    from inpaint_studio.qt.app import run_gui

    seen: list[MainWindow] = []

    def fake_exec(_app) -> int:  # instead of the event loop: look at the new window
        seen.extend(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow))
        return 0

    monkeypatch.setattr(QApplication, "exec", fake_exec)
    assert run_gui(None, sample=True) == 0  # the recovered work comes before the sample
    (win,) = [w for w in seen if w.isVisible()]
    qtbot.addWidget(win)
    assert len(dialog_log.questions) == 1 and "photo.png (4 steps" in dialog_log.questions[0]
    doc, stack = win.controller.document, win.stack
    assert doc.path == photo_files.png and win.windowTitle() == "photo.png* — Inpaint Studio"
    assert np.array_equal(doc.image, expected["image"])
    assert np.array_equal(doc.mask, expected["mask"])
    assert [stack.text(i) for i in range(stack.count())] == list(expected["labels"])
    assert stack.index() == int(expected["index"]) == 3
    assert not orphan.exists() and win.controller.autosave.path.exists()  # adopted, not copied
    win.redo_action.trigger()
    assert (
        doc.image[180:196, 10:34] == np.arange(16 * 24 * 3, dtype=np.uint8).reshape(16, 24, 3)
    ).all()
    while stack.canUndo():
        win.undo_action.trigger()
    assert np.array_equal(doc.image, photo_files.pixels) and not doc.mask.any()
    dialog_log.answer_yes = True
    win.close()
    assert _autosave_files(state_dir) == []
