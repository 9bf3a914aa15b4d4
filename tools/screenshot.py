"""Screenshot of the real editor window for the README: `xvfb-run -a python tools/screenshot.py OUT.png`.

Opens the built-in sample photo, paints two brush strokes over damage, fills the first one
with the default model on the worker thread, paints a third stroke that is left unfilled
(so the translucent mask overlay shows), then grabs the X screen.
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("QT_API", "pyside6")

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from inpaint_studio import paths  # noqa: E402
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
    window = MainWindow(Settings(), persist_settings=False)
    window.resize(1400, 900)
    window.show()
    window.open_file(str(paths.sample_photo()))
    _pump(0.5)
    window.canvas.set_brush_size(14)
    _stroke(window, [(470, 90), (520, 170), (560, 260), (590, 330)])
    _stroke(window, [(120, 600), (200, 640), (300, 650)])
    done = []
    window.controller.inpaint_applied.connect(lambda *a: done.append(True))
    window.inpaint()
    deadline = time.monotonic() + 120
    while not done and time.monotonic() < deadline:
        _pump(0.1)
    window.canvas.set_brush_size(22)
    _stroke(window, [(150, 250), (230, 300), (300, 380), (340, 470)])
    window.canvas.fit()
    _pump(0.5)
    QTimer.singleShot(0, lambda: None)
    shot = window.screen().grabWindow(0)
    ok = shot.save(out)
    window.close()
    _pump(0.3)
    print(f"saved {out}: {ok}, inpaint done: {bool(done)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshot.png"))
