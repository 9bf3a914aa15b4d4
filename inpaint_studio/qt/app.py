"""GUI entry point: `run_gui(image_path, sample=False)`, called by `inpaint_studio.cli`.

With the environment variable INPAINT_STUDIO_EXIT_AFTER_SHOWN set, the app prints one JSON line
``{"shown_at": <time.time()>, "torch_imported": bool, "image": [w, h] | null}`` on stdout right
after the canvas has first been painted (with the opened photo, if any), then quits: the
start-up benchmark and test use it.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_API", "pyside6")

ENV_EXIT_AFTER_SHOWN = "INPAINT_STUDIO_EXIT_AFTER_SHOWN"


def _exit_after_shown(app, window) -> None:
    """Quit `app` after `window`'s canvas has finished its first paint showing the document."""
    import json
    import time

    from PySide6.QtCore import QEvent, QObject, QTimer

    viewport = window.canvas.viewport()

    class ShownProbe(QObject):
        def __init__(self) -> None:
            super().__init__(window)
            self.done = False

        def eventFilter(self, obj, event) -> bool:  # Qt override
            if not self.done and event.type() == QEvent.Type.Paint:
                self.done = True
                QTimer.singleShot(0, self.report)  # runs once this paint has finished
            return False

        def report(self) -> None:
            doc = window.controller.document
            line = {
                "shown_at": time.time(),
                "torch_imported": "torch" in sys.modules,
                "image": None if doc is None else [doc.width, doc.height],
            }
            print(json.dumps(line), flush=True)
            viewport.removeEventFilter(self)
            window.close()
            app.exit(0)

    probe = ShownProbe()
    viewport.installEventFilter(probe)
    viewport.update()


def run_gui(image_path: str | None = None, sample: bool = False) -> int:
    """Create the QApplication and MainWindow, offer to recover a crashed session, else open
    `image_path` (photo or .inpaint project, or the sample); run; exit code."""
    from PySide6.QtWidgets import QApplication

    from inpaint_studio import __version__, paths
    from inpaint_studio.qt.main_window import MainWindow
    from inpaint_studio.qt.settings import APPLICATION, ORGANIZATION, load_settings

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("Inpaint Studio")
    app.setApplicationVersion(__version__)
    window = MainWindow(load_settings())
    window.show()
    if window.offer_recovery():
        image_path, sample = None, False  # the recovered work comes first
    if image_path is None and sample:
        image_path = str(paths.sample_photo())
    if image_path is not None:
        window.open_file(image_path)
    if os.environ.get(ENV_EXIT_AFTER_SHOWN):
        _exit_after_shown(app, window)
    return int(app.exec())
