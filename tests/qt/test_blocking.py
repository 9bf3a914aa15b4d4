"""qt/blocking.py: a slow call on a thread while the event loop keeps running."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import QTimer

from inpaint_studio.errors import ImageSaveError
from inpaint_studio.qt.blocking import run_while_painting


def test_returns_the_value_from_another_thread(qapp) -> None:
    names = []

    def work() -> int:
        names.append(threading.current_thread().name)
        return 42

    assert run_while_painting(work) == 42
    assert names == ["inpaint-studio-export"]


def test_raises_the_calls_exception_in_the_caller(qapp) -> None:
    def fail() -> None:
        raise ImageSaveError("Cannot save a.jpg: the disk is full.")

    with pytest.raises(ImageSaveError, match="disk is full"):
        run_while_painting(fail)


def test_timers_and_queued_work_run_while_it_waits(qapp) -> None:
    ticks = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()
    try:
        run_while_painting(lambda: time.sleep(0.3))
    finally:
        timer.stop()
    assert len(ticks) >= 5  # the GUI thread was not blocked for 0.3 s
