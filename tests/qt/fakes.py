"""Fake inpainting backends for the Qt tests (no weights, deterministic, optionally slow)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np

from inpaint_studio.backends.base import BackendInfo
from inpaint_studio.errors import BackendError, OutOfMemory


class FakeInpainter:
    """Fills the hole with a constant colour after `delay` seconds; records its life cycle."""

    def __init__(
        self,
        name: str = "fake",
        *,
        value: int = 200,
        value_step: int = 0,
        delay: float = 0.0,
        fail_load: bool = False,
        run_error: Exception | None = None,
        supports_cuda: bool = False,
        on_inpaint: Callable[[], None] | None = None,
        oom_on: str | None = None,
    ) -> None:
        self.info = BackendInfo(
            name=name, title=f"Fake {name}", description="test", supports_cuda=supports_cuda
        )
        self.value = value
        self.value_step = value_step  # fill value grows by this on every call
        self.delay = delay
        self.fail_load = fail_load
        self.run_error = run_error
        self.on_inpaint = on_inpaint
        self.oom_on = oom_on  # device on which inpaint() raises OutOfMemory (e.g. "cuda")
        self.loaded_on: str | None = None
        self.unloaded = False
        self.calls = 0
        self.threads: set[int] = set()
        self.started = threading.Event()  # set when inpaint() is entered

    def load(self, device: str = "cpu") -> None:
        if self.fail_load:
            raise BackendError(f"Cannot load model '{self.info.name}': weights missing.")
        self.loaded_on = device

    def inpaint(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        self.calls += 1
        self.threads.add(threading.get_ident())
        if self.on_inpaint is not None:
            self.on_inpaint()
        self.started.set()
        if self.delay:
            time.sleep(self.delay)
        if self.run_error is not None:
            raise self.run_error
        if self.oom_on is not None and self.loaded_on == self.oom_on:
            raise OutOfMemory(f"{self.info.name} ran out of GPU memory; try CPU or a smaller mask.")
        out = image.copy()
        out[mask != 0] = self.value + self.value_step * (self.calls - 1)
        return out

    def unload(self) -> None:
        self.unloaded = True


class FakeFactory:
    """factory(name) -> Inpainter building FakeInpainters from per-name keyword arguments."""

    def __init__(self, **per_name: dict) -> None:
        self.per_name = per_name
        self.created: list[FakeInpainter] = []

    def __call__(self, name: str) -> FakeInpainter:
        if name == "telea":
            from inpaint_studio.backends.opencv_backend import TeleaInpainter

            return TeleaInpainter()
        if name not in self.per_name:
            raise BackendError(f"unknown model '{name}'")
        inpainter = FakeInpainter(name, **self.per_name[name])
        self.created.append(inpainter)
        return inpainter
