"""pytest-qt setup: offscreen platform, private settings and state folder, no modal dialogs, no
leaked threads."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402
from PySide6.QtCore import QThread  # noqa: E402
from PySide6.QtWidgets import QFileDialog, QMessageBox  # noqa: E402

from inpaint_studio.qt import dialogs  # noqa: E402


@dataclass
class DialogLog:
    """What the (replaced) dialogs were asked, and what they answer."""

    answer_yes: bool = True
    open_path: str | None = None
    save_path: str | None = None
    project_path: str | None = None  # answer of the project open/save pickers
    questions: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@pytest.fixture(autouse=True)
def dialog_log(monkeypatch) -> DialogLog:
    """Replace every modal dialog: a real one would block the offscreen test forever."""
    log = DialogLog()

    def ask(_parent, _title, text):
        log.questions.append(text)
        return log.answer_yes

    monkeypatch.setattr(dialogs, "ask_yes_no", ask)
    monkeypatch.setattr(dialogs, "show_error", lambda _p, _t, text: log.errors.append(text))
    monkeypatch.setattr(dialogs, "show_warning", lambda _p, _t, text: log.warnings.append(text))
    monkeypatch.setattr(dialogs, "get_open_path", lambda _p, _f="": log.open_path)
    monkeypatch.setattr(dialogs, "get_save_path", lambda _p, _s="": log.save_path)
    monkeypatch.setattr(dialogs, "get_open_project_path", lambda _p, _f="": log.project_path)
    monkeypatch.setattr(dialogs, "get_open_mask_path", lambda _p, _f="": log.open_path)
    monkeypatch.setattr(dialogs, "get_mask_save_path", lambda _p, _s="": log.save_path)
    monkeypatch.setattr(dialogs, "get_project_save_path", lambda _p, _s="": log.project_path)

    def forbidden(*_args, **_kwargs):
        raise AssertionError("a modal dialog was opened directly (use qt.dialogs)")

    for name in ("question", "warning", "information", "critical"):
        monkeypatch.setattr(QMessageBox, name, staticmethod(forbidden))
    for name in ("getOpenFileName", "getSaveFileName"):
        monkeypatch.setattr(QFileDialog, name, staticmethod(forbidden))
    return log


@pytest.fixture(autouse=True)
def private_settings(tmp_path, monkeypatch) -> Path:
    """Settings go to a temporary INI file: every test starts from fresh defaults."""
    path = tmp_path / "settings" / "inpaint-studio.ini"
    monkeypatch.setenv("INPAINT_STUDIO_SETTINGS", str(path))
    return path


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch) -> Path:
    """Autosaves go to a temporary state folder (never the user's)."""
    path = tmp_path / "state"
    monkeypatch.setenv("INPAINT_STUDIO_STATE_DIR", str(path))
    return path


@pytest.fixture(autouse=True)
def no_model_warm_up(monkeypatch):
    """No background model warm-up after a window shows (tests/qt/test_warm_up.py enables it)."""
    monkeypatch.setenv("INPAINT_STUDIO_NO_WARMUP", "1")


@pytest.fixture(autouse=True)
def no_thread_left_running(monkeypatch):
    """Fail any test that leaves a QThread running (set up first, so checked last)."""
    started: list[QThread] = []
    original_start = QThread.start

    def start(self, *args, **kwargs):
        started.append(self)
        return original_start(self, *args, **kwargs)

    monkeypatch.setattr(QThread, "start", start)
    yield started
    running = [t for t in started if _is_running(t)]
    for thread in running:  # clean up so later tests are not affected, then fail
        thread.quit()
        thread.wait(5000)
    assert not running, f"test left {len(running)} QThread(s) running"


def _is_running(thread: QThread) -> bool:
    try:
        return thread.isRunning()
    except RuntimeError:  # C++ object already deleted: not running
        return False


def make_photo(width: int = 320, height: int = 240, seed: int = 0) -> np.ndarray:
    """(H,W,3) uint8 RGB gradient plus noise: smooth enough to inpaint, never constant."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack(
        [x * 255 // max(1, width - 1), y * 255 // max(1, height - 1), (x + y) % 256], axis=-1
    )
    noise = rng.integers(-12, 13, (height, width, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class PhotoFiles:
    pixels: np.ndarray
    png: Path
    jpeg: Path


@pytest.fixture
def photo_files(tmp_path) -> PhotoFiles:
    """A generated 320x240 photo written as PNG (lossless) and JPEG (quality 90)."""
    pixels = make_photo()
    folder = tmp_path / "photos"
    folder.mkdir()
    png, jpeg = folder / "photo.png", folder / "photo.jpg"
    Image.fromarray(pixels).save(png)
    Image.fromarray(pixels).save(jpeg, quality=90)
    return PhotoFiles(pixels, png, jpeg)


@pytest.fixture
def fake_backends():
    """Register fake backends in the real registry: "fake" (instant), "slow" (0.6 s per call,
    fill value 100, 150, ...), "broken" (raises); yields {name: [created inpainters]}."""
    from inpaint_studio.backends import registry
    from tests.qt.fakes import FakeInpainter

    specs = {
        "fake": {},
        "slow": {"delay": 0.6, "value": 100, "value_step": 50},
        "broken": {"run_error": RuntimeError("kaputt")},
    }
    created: dict[str, list[FakeInpainter]] = {name: [] for name in specs}

    def factory_for(name: str):
        def factory() -> FakeInpainter:
            inpainter = FakeInpainter(name, **specs[name])
            created[name].append(inpainter)
            return inpainter

        return factory

    for name in specs:
        registry.register(name, factory_for(name), FakeInpainter(name).info)
    yield created
    for name in specs:
        registry.unregister(name)


@pytest.fixture
def window(qtbot, dialog_log, fake_backends):
    """A shown MainWindow with fresh default settings and the fake backends listed."""
    from inpaint_studio.qt.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    dialog_log.answer_yes = True  # discard whatever the test left unsaved
    win.close()
    assert not win.controller.host.is_running()
