"""Start-up: the window shows without importing torch; the model warms up on the worker thread."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PIL import Image

from inpaint_studio.backends import registry
from inpaint_studio.backends.base import BackendInfo
from inpaint_studio.qt import main_window
from inpaint_studio.qt.main_window import MainWindow
from inpaint_studio.qt.settings import Settings
from inpaint_studio.qt.worker import ENV_NO_WARM_UP, InpaintWorker
from tests.qt.conftest import make_photo
from tests.qt.fakes import FakeInpainter

ROOT = Path(__file__).resolve().parents[2]


def test_launch_shows_photo_without_importing_torch(tmp_path):
    photo = tmp_path / "photo.jpg"
    Image.fromarray(make_photo(640, 480)).save(photo, quality=90)
    env = dict(os.environ)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        INPAINT_STUDIO_EXIT_AFTER_SHOWN="1",
        INPAINT_STUDIO_SETTINGS=str(tmp_path / "settings.ini"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_DATA_HOME=str(tmp_path / "data"),
    )
    env.pop(ENV_NO_WARM_UP, None)  # the warm-up is scheduled, but only after the first paint
    done = subprocess.run(
        [sys.executable, "-m", "inpaint_studio", str(photo)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    line = json.loads(done.stdout.strip().splitlines()[-1])
    assert line["image"] == [640, 480]
    assert line["torch_imported"] is False


@pytest.fixture
def neural_fake():
    """A fake backend registered as neural ("warmfake"); yields the inpainters it created."""
    created: list[FakeInpainter] = []
    info = BackendInfo(name="warmfake", title="Fake neural", description="test", neural=True)

    def factory() -> FakeInpainter:
        inpainter = FakeInpainter("warmfake")
        inpainter.info = info
        created.append(inpainter)
        return inpainter

    registry.register("warmfake", factory, info)
    yield created
    registry.unregister("warmfake")


def test_window_warms_the_model_on_the_worker_thread(qtbot, monkeypatch, neural_fake, photo_files):
    monkeypatch.delenv(ENV_NO_WARM_UP, raising=False)
    monkeypatch.setattr(main_window, "WARM_UP_DELAY_MS", 10)
    win = MainWindow(Settings(default_backend="warmfake"), persist_settings=False)
    qtbot.addWidget(win)
    assert not neural_fake  # nothing is loaded while the window is built
    with qtbot.waitSignal(win.controller.worker.warmed, timeout=5000) as blocker:
        win.show()
    assert blocker.args[:2] == ["warmfake", "cpu"]
    (inpainter,) = neural_fake
    assert inpainter.loaded_on == "cpu" and inpainter.calls == 1  # load + one tiny fill
    assert inpainter.threads and threading.get_ident() not in inpainter.threads
    assert win.controller.worker.loaded_backend == ("warmfake", "cpu")

    # the first real fill reuses the warm backend
    win.open_file(photo_files.png)
    win.canvas.begin_stroke(100, 100)
    win.canvas.extend_stroke(140, 100)
    win.canvas.end_stroke()
    with qtbot.waitSignal(win.controller.inpaint_applied, timeout=5000):
        assert win.inpaint() is not None
    assert len(neural_fake) == 1 and inpainter.calls == 2
    win.stack.setClean()
    win.close()
    assert not win.controller.host.is_running()


def test_no_warm_up_when_disabled_or_not_neural(qtbot, monkeypatch, neural_fake, fake_backends):
    monkeypatch.setattr(main_window, "WARM_UP_DELAY_MS", 10)
    win = MainWindow(Settings(default_backend="warmfake"), persist_settings=False)
    qtbot.addWidget(win)
    win.show()  # INPAINT_STUDIO_NO_WARMUP is set by the conftest
    qtbot.wait(200)
    assert neural_fake == []
    monkeypatch.delenv(ENV_NO_WARM_UP)
    assert not win.controller.warm_up("fake")  # classic backends load instantly: no warm-up
    assert not win.controller.warm_up("no-such-model")
    assert fake_backends["fake"] == []
    win.close()


def test_request_cancels_warm_up_and_skips_its_test_fill():
    created: list[FakeInpainter] = []
    worker = InpaintWorker(lambda name: _with_load_hook(created, name, None))
    warmed: list[tuple] = []
    worker.warmed.connect(lambda *args: warmed.append(args))

    worker.arm_warm_up()
    worker.cancel_warm_up()  # what WorkerHost.submit does: the request loads the model itself
    worker.warm_up("fake", "cpu")
    assert created == [] and warmed == []

    def load_then_request_arrives(device: str) -> None:
        FakeInpainter.load(created[-1], device)
        worker.cancel_warm_up()

    worker.arm_warm_up()
    worker._factory = lambda name: _with_load_hook(created, name, load_then_request_arrives)
    worker.warm_up("fake", "cpu")
    assert len(created) == 1 and created[0].loaded_on == "cpu" and created[0].calls == 0
    assert worker.loaded_backend == ("fake", "cpu") and len(warmed) == 1


def _with_load_hook(created: list[FakeInpainter], name: str, hook) -> FakeInpainter:
    inpainter = FakeInpainter(name)
    if hook is not None:
        inpainter.load = hook  # type: ignore[method-assign]
    created.append(inpainter)
    return inpainter


def test_warm_up_failure_is_reported_not_raised():
    worker = InpaintWorker(lambda name: FakeInpainter(name, fail_load=True))
    failures: list[tuple[str, str]] = []
    worker.warm_up_failed.connect(lambda name, msg: failures.append((name, msg)))
    worker.arm_warm_up()
    worker.warm_up("fake", "cpu")
    assert failures and failures[0][0] == "fake" and "weights missing" in failures[0][1]
    assert worker.loaded_backend is None
