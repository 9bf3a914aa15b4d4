"""InpaintWorker: sync path, errors as data, backend cache, cancellation, threaded + responsive."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import QTimer

from inpaint_studio.core.geometry import Rect
from inpaint_studio.core.pipeline import Cancelled
from inpaint_studio.errors import BackendError
from inpaint_studio.qt.worker import InpaintRequest, InpaintWorker, WorkerHost, error_message
from tests.qt.conftest import make_photo
from tests.qt.fakes import FakeFactory


def _request(rid: int = 1, backend: str = "fake", *, blobs: int = 1, device="auto"):
    image = make_photo(400, 100, seed=rid)
    mask = np.zeros((100, 400), np.uint8)
    mask[40:60, 20:40] = 255
    if blobs == 2:
        mask[40:60, 360:380] = 255  # far enough apart to be two regions
    return InpaintRequest(rid, image, mask, Rect(0, 0, 400, 100), backend, device, "crop")


def test_request_is_validated_and_frozen():
    req = _request()
    with pytest.raises(ValueError):
        req.image[0, 0, 0] = 1
    with pytest.raises(ValueError):
        InpaintRequest(1, req.image, req.mask[:-1].copy(), req.origin, "fake")


def test_run_sync_with_telea_fills_only_the_hole():
    worker = InpaintWorker(FakeFactory())
    req = _request(backend="telea")
    result = worker.run_sync(req)
    assert result.request_id == 1 and result.origin == req.origin
    assert result.image.shape == (100, 400, 3) and result.image.dtype == np.uint8
    hole = req.mask != 0
    assert np.array_equal(result.image[~hole], req.image[~hole])
    assert not np.array_equal(result.image[hole], req.image[hole])
    assert result.backend == "telea" and result.device == "cpu" and result.elapsed_s >= 0


def test_request_options_reach_the_pipeline(monkeypatch):
    """The request's strategy, grain and min_hole_width are what the pipeline is called with."""
    from inpaint_studio.core import pipeline
    from inpaint_studio.core.regions import DEFAULT_MIN_HOLE_WIDTH

    seen: list[dict] = []
    real = pipeline.inpaint_image

    def spy(*args, **kwargs):
        seen.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "inpaint_image", spy)
    worker = InpaintWorker(FakeFactory())
    base = _request(backend="telea")
    assert base.min_hole_width == DEFAULT_MIN_HOLE_WIDTH
    worker.run_sync(base)
    wide = InpaintRequest(2, base.image, base.mask, base.origin, "telea", "auto", "crop", 0.5, 32.0)
    worker.run_sync(wide)
    got = [(k["strategy"], k["grain"], k["min_hole_width"]) for k in seen]
    assert got == [("crop", 0.0, DEFAULT_MIN_HOLE_WIDTH), ("crop", 0.5, 32.0)]


def test_process_emits_finished_or_failed(qtbot):
    factory = FakeFactory(
        fake={}, broken={"run_error": ValueError("boom")}, oom={"run_error": BackendError("x")}
    )
    worker = InpaintWorker(factory)
    finished, failed = [], []
    worker.finished.connect(finished.append)
    worker.failed.connect(lambda rid, msg: failed.append((rid, msg)))
    progress = []
    worker.progress.connect(lambda *a: progress.append(a))
    for rid, name in ((1, "fake"), (2, "broken"), (3, "oom"), (4, "missing")):
        worker.want(rid)
        worker.process(_request(rid, name))
    assert [r.request_id for r in finished] == [1]
    assert (finished[0].image[50, 30] == 200).all()
    assert progress[0] == (1, 1, 1)
    assert failed == [
        (2, "Inpainting failed: ValueError: boom"),
        (3, "x"),
        (4, "unknown model 'missing'"),
    ]


def test_error_message():
    assert error_message(BackendError("Model not found.")) == "Model not found."
    assert error_message(KeyError("k")) == "Inpainting failed: KeyError: 'k'"
    assert "out of memory" in error_message(MemoryError())


def test_backend_cache_switch_and_failed_load_keeps_old():
    factory = FakeFactory(a={}, b={}, bad={"fail_load": True})
    worker = InpaintWorker(factory)
    for rid in (1, 2):
        worker.want(rid)
        worker.run_sync(_request(rid, "a"))
    assert len(factory.created) == 1  # cached by (name, device)
    a = factory.created[0]
    assert worker.loaded_backend == ("a", "cpu") and a.loaded_on == "cpu"
    worker.want(3)
    with pytest.raises(BackendError):
        worker.run_sync(_request(3, "bad"))
    assert worker.loaded_backend == ("a", "cpu") and not a.unloaded  # old one kept
    worker.want(4)
    worker.run_sync(_request(4, "b"))
    assert a.unloaded and worker.loaded_backend == ("b", "cpu")  # switching frees the old
    worker.unload()
    assert factory.created[-1].unloaded and worker.loaded_backend is None


def test_cancel_between_regions_and_before_start():
    holder: dict = {}
    factory = FakeFactory(fake={"on_inpaint": lambda: holder["worker"].cancel()})
    worker = InpaintWorker(factory)
    holder["worker"] = worker
    worker.want(1)
    with pytest.raises(Cancelled):
        worker.run_sync(_request(1, blobs=2))
    assert factory.created[0].calls == 1  # the second region never ran
    cancelled = []
    worker.cancelled.connect(cancelled.append)
    worker.want(3)  # request 2 was superseded while queued
    worker.process(_request(2))
    assert cancelled == [2] and factory.created[0].calls == 1


def test_threaded_worker_keeps_gui_responsive(qtbot, no_thread_left_running):
    factory = FakeFactory(slow={"delay": 1.0})
    host = WorkerHost(factory)
    try:
        ticks = []
        timer = QTimer()
        timer.setInterval(50)
        timer.timeout.connect(lambda: ticks.append(1))
        timer.start()
        with qtbot.waitSignal(host.worker.finished, timeout=10_000) as blocker:
            host.submit(_request(7, "slow"))
        timer.stop()
        result = blocker.args[0]
        assert result.request_id == 7
        assert len(ticks) >= 8, f"GUI event loop starved: {len(ticks)} ticks in ~1 s"
        assert threading.get_ident() not in factory.created[0].threads
    finally:
        host.stop()
    assert not host.is_running() and factory.created[0].unloaded
    assert any(t is host.thread for t in no_thread_left_running)


def test_stop_while_running_waits_cleanly(qtbot):
    factory = FakeFactory(slow={"delay": 0.3})
    host = WorkerHost(factory)
    host.submit(_request(1, "slow", blobs=2))
    qtbot.waitUntil(lambda: bool(factory.created) and factory.created[0].calls == 1, timeout=5000)
    host.stop()  # cancels: the second region is skipped, the thread ends
    assert not host.is_running()
    assert factory.created[0].calls == 1 and factory.created[0].unloaded
