"""Failures while working: CUDA out-of-memory falls back to the CPU, models that fail to load or
run leave the editor as it was (and can be retried), and closing or opening another photo during
a fill neither crashes nor leaves a thread behind."""

from __future__ import annotations

import numpy as np
import pytest

from inpaint_studio.backends import registry
from inpaint_studio.errors import BackendError
from inpaint_studio.qt import worker as worker_module
from inpaint_studio.qt.main_window import MainWindow
from inpaint_studio.qt.worker import GPU_FALLBACK_NOTICE, InpaintWorker
from tests.qt.fakes import FakeFactory, FakeInpainter
from tests.qt.test_worker import _request


@pytest.fixture
def cuda_everywhere(monkeypatch):
    """Pretend a CUDA GPU is present: "auto"/"cuda" resolve to "cuda"."""
    monkeypatch.setattr(
        worker_module, "resolve_device", lambda device: "cpu" if device == "cpu" else "cuda"
    )


def _select(window: MainWindow, name: str) -> None:
    window.populate_models()
    index = window.model_combo.findData(name)
    assert index >= 0
    window.model_combo.setCurrentIndex(index)


def _stroke(window: MainWindow) -> None:
    window.canvas.begin_stroke(110, 120)
    window.canvas.extend_stroke(200, 120)
    window.canvas.end_stroke()


def test_cuda_out_of_memory_is_retried_on_cpu(cuda_everywhere):
    factory = FakeFactory(big={"supports_cuda": True, "oom_on": "cuda", "value": 42})
    worker = InpaintWorker(factory)
    result = worker.run_sync(_request(1, "big"))
    gpu, cpu = factory.created
    assert gpu.loaded_on == "cuda" and gpu.unloaded  # the GPU copy was freed first
    assert cpu.loaded_on == "cpu" and not cpu.unloaded
    assert result.device == "cpu" and result.notice == GPU_FALLBACK_NOTICE
    assert (result.image[40:60, 20:40] == 42).all()
    assert worker.loaded_backend == ("big", "cpu")
    worker.unload()


def test_out_of_memory_on_cpu_is_an_error(qtbot):
    factory = FakeFactory(big={"supports_cuda": True, "oom_on": "cpu"})
    worker = InpaintWorker(factory)
    with qtbot.waitSignal(worker.failed) as blocker:
        worker.process(_request(3, "big", device="cpu"))
    assert blocker.args == [3, "big ran out of GPU memory; try CPU or a smaller mask."]
    assert len(factory.created) == 1  # no retry on the same device


def test_gpu_fallback_is_shown_in_the_status_bar(qtbot, window, photo_files, cuda_everywhere):
    info = FakeInpainter("hungry", supports_cuda=True).info
    registry.register(
        "hungry", lambda: FakeInpainter("hungry", supports_cuda=True, oom_on="cuda", value=9), info
    )
    try:
        window.open_file(photo_files.png)
        _stroke(window)
        _select(window, "hungry")
        with qtbot.waitSignal(window.controller.inpaint_applied, timeout=10_000) as blocker:
            window.inpaint()
        assert blocker.args[0].device == "cpu"
        message = window.statusBar().currentMessage()
        assert message.startswith("GPU ran out of memory; finished on CPU")
        assert (window.controller.document.image[120, 150] == 9).all()
        assert window.stack.count() == 2
    finally:
        registry.unregister("hungry")


def test_model_that_fails_to_load_keeps_the_editor_and_can_be_retried(
    qtbot, window, photo_files, dialog_log
):
    attempts = []

    def flaky() -> FakeInpainter:
        attempts.append(1)
        return FakeInpainter("flaky", fail_load=len(attempts) == 1, value=77)

    registry.register("flaky", flaky, FakeInpainter("flaky").info)
    try:
        window.open_file(photo_files.png)
        _stroke(window)
        doc = window.controller.document
        image, mask = doc.image.copy(), doc.mask.copy()
        _select(window, "flaky")
        with qtbot.waitSignal(window.controller.worker.failed, timeout=10_000):
            window.inpaint()
        qtbot.waitUntil(lambda: bool(dialog_log.errors))
        assert dialog_log.errors == ["Cannot load model 'flaky': weights missing."]
        assert np.array_equal(doc.image, image) and np.array_equal(doc.mask, mask)
        assert window.stack.count() == 1 and not window.controller.is_busy()
        assert window.inpaint_action.isEnabled() and not window.progress_bar.isVisible()
        with qtbot.waitSignal(window.controller.inpaint_applied, timeout=10_000):
            window.inpaint()  # same request again: the model loads this time
        assert (doc.image[120, 150] == 77).all() and window.stack.count() == 2
    finally:
        registry.unregister("flaky")


def test_failed_switch_keeps_the_previous_model_loaded():
    factory = FakeFactory(good={}, bad={"fail_load": True})
    worker = InpaintWorker(factory)
    worker.run_sync(_request(1, "good"))
    with pytest.raises(BackendError):
        worker.run_sync(_request(2, "bad"))
    assert worker.loaded_backend == ("good", "cpu") and not factory.created[0].unloaded
    assert worker.run_sync(_request(3, "good")).request_id == 3
    worker.unload()


def test_opening_another_photo_during_a_fill(qtbot, window, photo_files, fake_backends, dialog_log):
    window.open_file(photo_files.png)
    _stroke(window)
    _select(window, "slow")
    rid = window.inpaint()
    qtbot.waitUntil(
        lambda: bool(fake_backends["slow"]) and fake_backends["slow"][0].started.is_set()
    )
    dropped: list[tuple[int, str]] = []
    finished: list[tuple] = []  # connected now: under load the slow fill may end early
    window.controller.inpaint_dropped.connect(lambda r, why: dropped.append((r, why)))
    window.controller.worker.finished.connect(lambda *args: finished.append(args))
    dialog_log.answer_yes = False
    assert not window.open_file(photo_files.jpeg)  # unsaved stroke: asked, user said no
    assert window.controller.is_busy() and window.controller.document.path == photo_files.png
    dialog_log.answer_yes = True
    assert window.open_file(photo_files.jpeg)
    assert len(dialog_log.questions) == 2 and "unsaved changes" in dialog_log.questions[1]
    assert (rid, "cancelled") in dropped and not window.controller.is_busy()
    doc = window.controller.document
    jpeg_pixels = doc.image.copy()
    qtbot.waitUntil(lambda: bool(finished), timeout=10_000)  # the region completes...
    qtbot.waitUntil(lambda: (rid, "stale") in dropped)  # ...and its result is dropped
    assert doc.path == photo_files.jpeg and np.array_equal(doc.image, jpeg_pixels)
    assert window.stack.count() == 0 and not window.progress_bar.isVisible()
    assert window.controller.host.is_running()  # the long-lived worker thread stays


def test_close_refused_during_a_fill_keeps_working(
    qtbot, window, photo_files, fake_backends, dialog_log
):
    window.open_file(photo_files.png)
    _stroke(window)
    _select(window, "slow")
    window.inpaint()
    qtbot.waitUntil(
        lambda: bool(fake_backends["slow"]) and fake_backends["slow"][0].started.is_set()
    )
    dialog_log.answer_yes = False
    window.close()
    assert window.isVisible() and dialog_log.questions
    with qtbot.waitSignal(window.controller.inpaint_applied, timeout=10_000):
        pass  # the fill was not cancelled by the refused close
    assert window.stack.count() == 2 and not window.controller.is_busy()
    dialog_log.answer_yes = True
    window.close()
    assert not window.isVisible() and not window.controller.host.is_running()
