"""Helper for test_autosave_gui: an editing session that is about to be killed.

Run as `python -m tests.qt.crash_session PHOTO EXPECTED.npz` with QT_QPA_PLATFORM=offscreen and
INPAINT_STUDIO_STATE_DIR / INPAINT_STUDIO_SETTINGS pointing at test folders. It opens PHOTO in a
real MainWindow, brushes, inpaints (telea), paints an image patch and undoes one step through the
controller, waits until the autosave of that state is on disk, writes the expected (image, mask,
steps) to EXPECTED.npz, prints "READY" and sleeps until it is killed.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from inpaint_studio.core.geometry import Rect
from inpaint_studio.core.history import Edit
from inpaint_studio.qt.main_window import MainWindow
from inpaint_studio.qt.settings import Settings


def _spin_until(app: QApplication, condition, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.01)


def main(photo: str, expected: str) -> int:
    app = QApplication(sys.argv[:1])
    window = MainWindow(Settings(autosave_seconds=1, autosave_edits=100), persist_settings=False)
    window.show()
    assert window.open_file(photo)
    ctl, canvas = window.controller, window.canvas
    canvas.set_brush_size(12)
    canvas.begin_stroke(60, 50)
    canvas.extend_stroke(140, 70)
    canvas.end_stroke()
    applied: list[object] = []
    ctl.inpaint_applied.connect(applied.append)
    ctl.start_inpaint("telea", "cpu")
    _spin_until(app, lambda: bool(applied))
    canvas.begin_stroke(200, 150)
    canvas.end_stroke()
    doc = ctl.document
    patch = np.arange(16 * 24 * 3, dtype=np.uint8).reshape(16, 24, 3)
    ctl.stack.push_edit(Edit.capture("paint", doc, Rect(10, 180, 24, 16), new_image_patch=patch))
    ctl.undo()  # the redo step must survive the crash too
    _spin_until(app, lambda: ctl.autosave.writes >= 1 and not ctl.autosave.is_pending())
    np.savez(
        expected,
        image=doc.image,
        mask=doc.mask,
        index=ctl.stack.index(),
        labels=np.array([ctl.stack.text(i) for i in range(ctl.stack.count())]),
        autosave=str(ctl.autosave.path),
    )
    print("READY", flush=True)
    QTimer.singleShot(600_000, app.quit)  # killed long before this
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
