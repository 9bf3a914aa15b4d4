"""SessionAutosave: debounced autosave of the editor's session, and crash-recovery look-up.

A change to the undo stack (push, undo, redo) starts a single-shot QTimer of
`Settings.autosave_seconds`; `Settings.autosave_edits` unsaved changes make it fire at the next
turn of the event loop instead. When it fires, the GUI thread takes a frozen snapshot (one copy
of image and mask; the edits are immutable and shared) and `core.autosave.Autosaver` writes it
on its own thread. A session with nothing unsaved (the stack is clean) has no autosave file.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from inpaint_studio.core import autosave as core_autosave
from inpaint_studio.core.project import peek_project
from inpaint_studio.errors import InpaintStudioError
from inpaint_studio.qt.signals import emit

if TYPE_CHECKING:  # pragma: no cover
    from inpaint_studio.qt.controller import EditorController
    from inpaint_studio.qt.settings import Settings


class SessionAutosave(QObject):
    """Autosaves the EditorController's session into the user's state folder."""

    written = Signal(str)  # "" after a successful write, else a one-line failure message

    def __init__(self, controller: EditorController, folder: Path | None = None) -> None:
        super().__init__(controller)
        self._controller = controller
        self._saver = core_autosave.Autosaver(folder, on_written=self._on_written)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.save_now)
        self._changes = 0
        self._seconds = 3
        self._edits = 10
        self.apply_settings(controller.settings)
        controller.stack.indexChanged.connect(self._on_stack_changed)
        controller.document_changed.connect(self._on_document_changed)

    @property
    def path(self) -> Path:
        """This session's autosave file (exists only while something is unsaved)."""
        return self._saver.path

    @property
    def folder(self) -> Path:
        return self._saver.folder

    @property
    def writes(self) -> int:
        """Successful autosaves so far."""
        return self._saver.writes

    def apply_settings(self, settings: Settings) -> None:
        self._seconds = int(settings.autosave_seconds)
        self._edits = max(1, int(settings.autosave_edits))
        if self._seconds <= 0:
            self._timer.stop()

    def is_pending(self) -> bool:
        """True while a change waits for its autosave (timer running or write in progress)."""
        return self._timer.isActive() or self._saver.is_busy()

    # --- reacting to the session ----------------------------------------------------------
    def _on_stack_changed(self, _index: int) -> None:
        if self._seconds <= 0 or self._controller.document is None:
            return
        self._changes += 1
        # never save from inside this signal: the stack may be half-way through a rebuild
        self._timer.start(0 if self._changes >= self._edits else self._seconds * 1000)

    def _on_document_changed(self) -> None:
        """A new (or no) document: the previous session's autosave is obsolete."""
        self._timer.stop()
        self._changes = 0
        self._saver.discard()

    def save_now(self) -> bool:
        """Snapshot the session and hand it to the writer thread; False if nothing was queued."""
        ctl = self._controller
        self._timer.stop()
        if ctl.document is None:
            return False
        if not ctl.is_modified():
            self._changes = 0
            self._saver.discard()  # nothing unsaved: nothing to recover after a crash
            return False
        if ctl.canvas.is_stroking():  # the live stroke is not an undo step yet
            self._timer.start(max(1, self._seconds) * 1000)
            return False
        self._changes = 0
        self._saver.submit(ctl.snapshot())
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Block until queued autosaves are on disk (tests, shutdown); False on timeout."""
        return self._saver.wait(timeout)

    def _on_written(self, error: str | None) -> None:  # writer thread
        emit(self.written, error or "")

    # --- recovery -------------------------------------------------------------------------
    def orphans(self) -> list[Path]:
        """Autosaves left by sessions that crashed or were killed, newest first."""
        return core_autosave.find_orphans(self._saver.folder)

    def adopt(self, orphan: Path) -> bool:
        """The recovered orphan becomes this session's autosave file."""
        return self._saver.adopt(orphan)

    @staticmethod
    def describe(orphan: Path) -> str:
        """'photo.jpg (5 steps, autosaved 2025-01-31 14:03)' for the recovery question."""
        try:
            info = peek_project(orphan)
        except InpaintStudioError:
            return "a photo"
        doc_path = info.get("document_path")
        name = Path(doc_path).name if isinstance(doc_path, str) and doc_path else "a new photo"
        history = info.get("history")
        steps = history.get("steps") if isinstance(history, dict) else None
        count = len(steps) if isinstance(steps, list) else 0
        saved_at = info.get("saved_at")
        when = ""
        if isinstance(saved_at, (int, float)) and not isinstance(saved_at, bool):
            when = ", autosaved " + time.strftime("%Y-%m-%d %H:%M", time.localtime(saved_at))
        return f"{name} ({count} step{'' if count == 1 else 's'}{when})"

    @staticmethod
    def remove(orphan: Path) -> None:
        """The user declined to recover `orphan`: delete it."""
        core_autosave.remove_orphan(orphan)

    @staticmethod
    def set_aside(orphan: Path) -> Path | None:
        """`orphan` cannot be read: rename it so it is not offered again."""
        return core_autosave.set_aside(orphan)

    def shutdown(self) -> None:
        """Clean end of the session: stop the timer, delete the autosave, wait for the writer."""
        self._timer.stop()
        self._saver.close()
