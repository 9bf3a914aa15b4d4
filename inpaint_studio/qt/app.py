"""GUI entry point: `run_gui(image_path, sample=False)`, called by `inpaint_studio.cli`."""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_API", "pyside6")


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
    return int(app.exec())
