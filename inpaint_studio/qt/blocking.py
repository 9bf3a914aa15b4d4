"""Run one slow Qt-free call (an export) on a thread while the window keeps painting."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QEventLoop, QTimer

T = TypeVar("T")


def run_while_painting(fn: Callable[[], T], poll_ms: int = 15) -> T:
    """fn() on a helper thread; returns its result or raises its exception, like a direct call.

    Meanwhile a local event loop repaints the window and runs timers and queued signals (a fill
    that finishes is applied), but holds back user input until fn returns: callers see a
    synchronous call, the desktop never sees a frozen window. fn must not touch Qt objects
    or data the event loop may change (pass it copies)."""
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # handed back to the caller's thread below
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="inpaint-studio-export", daemon=True)
    thread.start()
    loop = QEventLoop()
    timer = QTimer()
    timer.setInterval(poll_ms)
    timer.timeout.connect(lambda: None if thread.is_alive() else loop.quit())
    timer.start()  # repeating: a quit() issued before exec() cannot be lost
    if thread.is_alive():
        loop.exec(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
    timer.stop()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
