"""Screenshot of the real editor window: `xvfb-run -a python tools/screenshot.py OUT.png`.

Opens the built-in sample photo, loads its damage mask (Edit > Load mask), fills it with the
default model on the worker thread, paints one more brush stroke that is left unfilled (so
the translucent mask overlay shows), then grabs the X screen.
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("QT_API", "pyside6")

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from inpaint_studio import paths  # noqa: E402
from inpaint_studio.qt import dialogs  # noqa: E402
from inpaint_studio.qt.main_window import MainWindow  # noqa: E402
from inpaint_studio.qt.settings import Settings  # noqa: E402


def _pump(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.01)


def _stroke(window: MainWindow, points: list[tuple[float, float]]) -> None:
    window.canvas.begin_stroke(*points[0])
    for p in points[1:]:
        window.canvas.extend_stroke(*p)
    window.canvas.end_stroke()
    _pump(0.1)


def main(out: str) -> int:
    """Drive the window through a short session and save a PNG of the screen to `out`."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationDisplayName("Inpaint Studio")
    window = MainWindow(Settings(), persist_settings=False)
    window.resize(1400, 900)
    window.show()
    window.open_file(str(paths.sample_photo()))
    _pump(0.5)
    window.load_mask_file(str(paths.resources_dir() / "samples" / "sample_mask.png"))
    done = []
    window.controller.inpaint_applied.connect(lambda *a: done.append(True))
    window.inpaint()
    deadline = time.monotonic() + 300
    while not done and time.monotonic() < deadline:
        _pump(0.1)
    window.canvas.set_brush_size(30)
    _stroke(window, [(60, 250), (90, 320), (120, 400), (140, 470)])
    window.canvas.fit()
    _pump(0.5)
    QTimer.singleShot(0, lambda: None)
    shot = window.screen().grabWindow(0)
    ok = shot.save(out)
    dialogs.ask_yes_no = lambda *_args: True  # discard the demo session without asking
    window.close()
    _pump(0.3)
    print(f"saved {out}: {ok}, inpaint done: {bool(done)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshot.png"))
