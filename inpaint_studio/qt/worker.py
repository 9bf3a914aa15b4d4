"""Inpainting off the GUI thread: frozen requests in, results or error messages out.

The window creates one long-lived QThread and one `InpaintWorker` moved into it; a queued signal
delivers `InpaintRequest`s (copies of the crop, never views of the live document) to `process`.
The worker emits `finished(InpaintResult)`, `failed(request_id, message)` or
`cancelled(request_id)`; errors cross the thread as data. Cancelling is cooperative: request ids
increase, the GUI calls `want(request_id)` for each new request (cancelling every older one) or
`cancel()`, and the pipeline polls `is_cancelled(request_id)` between regions. The GUI still drops
any result whose id is not the current one.

Warm-up: `WorkerHost.warm_up(backend, device)` queues a load of the backend plus one tiny fill on
the worker thread, so the first real fill does not pay for importing torch and loading weights.
It emits `warmed(backend, device, seconds)` or `warm_up_failed(backend, message)`; a submitted
request or `stop()` cancels a warm-up that has not started (a running load finishes, the tiny fill
is skipped). Setting the environment variable INPAINT_STUDIO_NO_WARMUP disables it (the tests do).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from inpaint_studio.backends.base import Inpainter, resolve_device
from inpaint_studio.core.geometry import Rect
from inpaint_studio.core.regions import DEFAULT_MIN_HOLE_WIDTH
from inpaint_studio.errors import InpaintStudioError, OutOfMemory
from inpaint_studio.qt.signals import emit

InpainterFactory = Callable[[str], Inpainter]

ENV_NO_WARM_UP = "INPAINT_STUDIO_NO_WARMUP"
WARM_UP_SIZE = 128  # side (px) of the tiny fill that initialises the backend's kernels


@dataclass(frozen=True, eq=False)
class InpaintRequest:
    """Frozen job: (h,w,3) uint8 crop + (h,w) uint8 mask (255 = fill) found at `origin`."""

    request_id: int
    image: np.ndarray
    mask: np.ndarray
    origin: Rect
    backend: str
    device: str = "auto"
    strategy: str = "crop"
    grain: float = 0.0  # core.grain strength; 0 = none
    min_hole_width: float = DEFAULT_MIN_HOLE_WIDTH  # core.regions: model px thin holes keep

    def __post_init__(self) -> None:
        h, w = self.origin.h, self.origin.w
        if self.image.shape != (h, w, 3) or self.image.dtype != np.uint8:
            raise ValueError(f"image must be ({h}, {w}, 3) uint8, got {self.image.shape}")
        if self.mask.shape != (h, w) or self.mask.dtype != np.uint8:
            raise ValueError(f"mask must be ({h}, {w}) uint8, got {self.mask.shape}")
        for array in (self.image, self.mask):
            array.setflags(write=False)  # the request owns private copies: freeze them


@dataclass(frozen=True, eq=False)
class InpaintResult:
    """Filled (h,w,3) uint8 crop for request `request_id`, to be pasted at `origin`."""

    request_id: int
    origin: Rect
    image: np.ndarray
    elapsed_s: float
    backend: str
    device: str
    notice: str = ""  # one line worth telling the user, e.g. the CUDA -> CPU fallback


GPU_FALLBACK_NOTICE = "GPU ran out of memory; finished on CPU"


def _registry_create(name: str) -> Inpainter:
    from inpaint_studio.backends import registry

    return registry.create(name)


def error_message(exc: BaseException) -> str:
    """One user-facing line for any exception raised while inpainting."""
    if isinstance(exc, InpaintStudioError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "Inpainting failed: out of memory."
    return f"Inpainting failed: {type(exc).__name__}: {exc}"


class InpaintWorker(QObject):
    """Runs InpaintRequests in its thread; caches the last loaded backend by (name, device)."""

    finished = Signal(object)  # InpaintResult
    failed = Signal(int, str)  # request_id, one-line message
    cancelled = Signal(int)  # request_id
    progress = Signal(int, int, int)  # request_id, regions done, regions total
    warmed = Signal(str, str, float)  # backend, resolved device, seconds (load + tiny fill)
    warm_up_failed = Signal(str, str)  # backend, one-line message

    def __init__(self, factory: InpainterFactory | None = None) -> None:
        super().__init__()
        self._factory = factory or _registry_create
        self._loaded: tuple[tuple[str, str], Inpainter, str] | None = None  # key, inpainter, dev
        # request ids increase; every id <= _cancelled_upto is cancelled (written by the GUI
        # thread only, read between regions by the worker thread: a plain int is enough)
        self._latest = 0
        self._cancelled_upto = 0
        self._lock = threading.Lock()  # guards _loaded (process vs. unload at shutdown)
        self._warm_up_cancelled = False  # written by the GUI thread, read by the worker

    # --- cancellation (called from the GUI thread) ---------------------------------------
    def want(self, request_id: int) -> None:
        """Mark `request_id` as the current request; every older one becomes cancelled."""
        self._latest = max(self._latest, request_id)
        self._cancelled_upto = max(self._cancelled_upto, request_id - 1)

    def cancel(self) -> None:
        """Cancel every request wanted so far, running or queued (checked between regions)."""
        self._cancelled_upto = max(self._cancelled_upto, self._latest)

    def is_cancelled(self, request_id: int) -> bool:
        return request_id <= self._cancelled_upto

    def arm_warm_up(self) -> None:
        """Let the next queued warm-up run (called before queueing one)."""
        self._warm_up_cancelled = False

    def cancel_warm_up(self) -> None:
        """Skip a queued warm-up; a load already running finishes, its tiny fill is skipped."""
        self._warm_up_cancelled = True

    # --- backend cache -------------------------------------------------------------------
    @property
    def loaded_backend(self) -> tuple[str, str] | None:
        """(name, resolved device) of the cached backend, or None."""
        loaded = self._loaded
        return None if loaded is None else (loaded[0][0], loaded[2])

    def _backend(self, name: str, device: str) -> tuple[Inpainter, str]:
        key = (name, device)
        if self._loaded is not None and self._loaded[0] == key:
            return self._loaded[1], self._loaded[2]
        inpainter = self._factory(name)
        resolved = resolve_device(device) if inpainter.info.supports_cuda else "cpu"
        inpainter.load(resolved)  # raises: the old backend stays cached
        old, self._loaded = self._loaded, (key, inpainter, resolved)
        if old is not None:
            old[1].unload()
        return inpainter, resolved

    def _backend_on_cpu(self, name: str) -> Inpainter:
        """Free the cached (CUDA) backend first, then load `name` on the CPU and cache it."""
        old, self._loaded = self._loaded, None
        if old is not None:
            old[1].unload()
        inpainter = self._factory(name)
        inpainter.load("cpu")
        self._loaded = ((name, "cpu"), inpainter, "cpu")
        return inpainter

    def unload(self) -> None:
        """Free the cached backend (call from the worker thread or after it stopped)."""
        with self._lock:
            old, self._loaded = self._loaded, None
            if old is not None:
                old[1].unload()

    # --- running -------------------------------------------------------------------------
    def run_sync(self, request: InpaintRequest) -> InpaintResult:
        """Inpaint `request` in the calling thread; raises Cancelled or any backend error.

        CUDA out-of-memory is not an error: the request is run again on the CPU and the
        result carries GPU_FALLBACK_NOTICE."""
        start = time.perf_counter()
        notice = ""
        with self._lock:
            inpainter, device = self._backend(request.backend, request.device)
            try:
                filled = self._fill(inpainter, request)
            except OutOfMemory:
                if device != "cuda":
                    raise
                inpainter, device = self._backend_on_cpu(request.backend), "cpu"
                filled = self._fill(inpainter, request)
                notice = GPU_FALLBACK_NOTICE
        return InpaintResult(
            request_id=request.request_id,
            origin=request.origin,
            image=filled,
            elapsed_s=time.perf_counter() - start,
            backend=request.backend,
            device=device,
            notice=notice,
        )

    def _fill(self, inpainter: Inpainter, request: InpaintRequest) -> np.ndarray:
        from inpaint_studio.core import pipeline

        rid = request.request_id

        def progress(done: int, total: int) -> None:
            emit(self.progress, rid, done, total)

        return pipeline.inpaint_image(
            np.asarray(request.image),
            np.asarray(request.mask),
            inpainter,
            strategy=request.strategy,
            grain=request.grain,
            min_hole_width=request.min_hole_width,
            progress=progress,
            cancelled=lambda: self.is_cancelled(rid),
        )

    @Slot(str, str)
    def warm_up(self, name: str, device: str) -> None:
        """Queued slot: load backend `name` on `device` ("auto" | "cpu" | "cuda") and fill one
        WARM_UP_SIZE^2 hole, unless cancelled; emits warmed / warm_up_failed, never raises."""
        if self._warm_up_cancelled:
            return
        start = time.perf_counter()
        try:
            with self._lock:
                inpainter, resolved = self._backend(name, device)
                if not self._warm_up_cancelled:
                    side = WARM_UP_SIZE
                    image = np.full((side, side, 3), 128, np.uint8)
                    mask = np.zeros((side, side), np.uint8)
                    mask[side // 4 : 3 * side // 4, side // 4 : 3 * side // 4] = 255
                    inpainter.inpaint(image, mask)
        except Exception as exc:  # the first real fill reports the error to the user
            emit(self.warm_up_failed, name, error_message(exc))
            return
        emit(self.warmed, name, resolved, time.perf_counter() - start)

    @Slot(object)
    def process(self, request: InpaintRequest) -> None:
        """Queued slot: run one request and emit finished / failed / cancelled; never raises."""
        from inpaint_studio.core.pipeline import Cancelled

        rid = request.request_id
        if self.is_cancelled(rid):
            emit(self.cancelled, rid)  # superseded or cancelled while queued
            return
        try:
            result = self.run_sync(request)
        except Cancelled:
            emit(self.cancelled, rid)
        except Exception as exc:  # errors cross the thread as data, never crash the GUI
            emit(self.failed, rid, error_message(exc))
        else:
            emit(self.finished, result)


class WorkerHost(QObject):
    """Owns the worker thread: start once, submit requests, stop cleanly (never terminate)."""

    submit_requested = Signal(object)  # queued to InpaintWorker.process
    warm_up_requested = Signal(str, str)  # queued to InpaintWorker.warm_up

    def __init__(self, factory: InpainterFactory | None = None, parent=None) -> None:
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("InpaintWorkerThread")
        self.worker = InpaintWorker(factory)
        self.worker.moveToThread(self.thread)
        self.submit_requested.connect(self.worker.process)
        self.warm_up_requested.connect(self.worker.warm_up)
        self.thread.start()

    def submit(self, request: InpaintRequest) -> None:
        """Make `request` the current one (older ones are cancelled) and queue it."""
        self.worker.cancel_warm_up()  # the request loads the backend itself
        self.worker.want(request.request_id)
        emit(self.submit_requested, request)

    def warm_up(self, backend: str, device: str = "auto") -> bool:
        """Queue a warm-up of `backend` on the worker thread; False if the thread is stopped."""
        if not self.thread.isRunning():
            return False
        self.worker.arm_warm_up()
        emit(self.warm_up_requested, backend, device)
        return True

    def cancel(self) -> None:
        self.worker.cancel()

    def is_running(self) -> bool:
        return self.thread.isRunning()

    def stop(self) -> None:
        """Cancel, let the current region finish, quit the thread, wait, free the backend."""
        if not self.thread.isRunning():
            return
        self.worker.cancel()
        self.worker.cancel_warm_up()
        self.thread.quit()
        self.thread.wait()
        self.worker.unload()
