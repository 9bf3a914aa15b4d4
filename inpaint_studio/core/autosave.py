"""Autosave and crash recovery for editing sessions (no Qt, no torch).

Each running editor owns one session in `<state dir>/autosave/`: `<id>.inpaint`, a project file
rewritten atomically after changes, and `<id>.lock`, which the process keeps locked (flock on
POSIX, msvcrt on Windows) for as long as it runs. The OS drops the lock when the process ends,
however it ends (a crash, SIGKILL), so at the next start-up `find_orphans()` lists exactly the
autosaves of sessions that did not end cleanly. A clean close deletes both files.

Writes run on one background thread: `Autosaver.submit(snapshot)` returns at once; a snapshot
submitted while another is being written replaces any still waiting, and Edit patches already
encoded are reused (`project.PatchCache`), so the autosave after one more brush stroke encodes
that stroke plus the current image and mask, not the whole history again.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from inpaint_studio import paths
from inpaint_studio.core.atomic import os_reason
from inpaint_studio.core.project import (
    PROJECT_SUFFIX,
    PatchCache,
    ProjectSnapshot,
    write_project,
)
from inpaint_studio.errors import InpaintStudioError

AUTOSAVE_DIRNAME = "autosave"
AUTOSAVE_COMPRESS_LEVEL = 1  # fast PNG/zlib: autosaves are frequent and temporary
_LOCK_SUFFIX = ".lock"
_DAMAGED_SUFFIX = ".damaged"

try:  # POSIX
    import fcntl as _fcntl
except ImportError:  # pragma: no cover - Windows
    _fcntl = None  # type: ignore[assignment]


def autosave_dir() -> Path:
    """Folder holding session autosaves: `paths.user_state_dir() / "autosave"`."""
    return paths.user_state_dir() / AUTOSAVE_DIRNAME


# --------------------------------------------------------------------------- session locks


def _try_lock(f: BinaryIO) -> bool:
    try:
        if _fcntl is not None:
            _fcntl.flock(f.fileno(), _fcntl.LOCK_EX | _fcntl.LOCK_NB)
        else:  # pragma: no cover - Windows
            import msvcrt

            f.seek(0)
            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    return True


class SessionLock:
    """An exclusive, non-blocking lock on a file that lives as long as this process holds it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: BinaryIO | None = None

    @property
    def held(self) -> bool:
        return self._file is not None

    def acquire(self) -> bool:
        """Lock the file (creating it); False if another holder has it."""
        if self._file is not None:
            return True
        f = open(self.path, "a+b")  # kept open for as long as the lock is held
        if not _try_lock(f):
            f.close()
            return False
        self._file = f
        return True

    def release(self, delete: bool = True) -> None:
        """Unlock (and delete) the lock file."""
        f, self._file = self._file, None
        if f is None:
            return
        if delete:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
        f.close()  # closing drops the lock


def is_locked(lock_path: Path) -> bool:
    """True while some process (this one included) holds `lock_path`."""
    if not lock_path.exists():
        return False
    probe = SessionLock(lock_path)
    try:
        if probe.acquire():
            probe.release(delete=False)
            return False
    except OSError:
        return False
    return True


# --------------------------------------------------------------------------- orphans


def find_orphans(folder: Path | None = None) -> list[Path]:
    """Autosaves whose session is not running any more (crashed or killed), newest first."""
    folder = autosave_dir() if folder is None else Path(folder)
    try:
        candidates = list(folder.glob(f"*{PROJECT_SUFFIX}"))
    except OSError:
        return []
    orphans = []
    for path in candidates:
        if path.name.startswith(".") or not path.is_file():
            continue
        if is_locked(path.with_suffix(_LOCK_SUFFIX)):
            continue  # a running editor owns it
        orphans.append(path)

    def mtime(p: Path) -> float:
        try:
            return p.stat().st_mtime
        except OSError:
            return 0.0

    return sorted(orphans, key=mtime, reverse=True)


def remove_orphan(path: Path) -> None:
    """Delete an orphaned autosave and its lock file (the user declined to recover it)."""
    for p in (path, path.with_suffix(_LOCK_SUFFIX)):
        with contextlib.suppress(OSError):
            os.unlink(p)


def set_aside(path: Path) -> Path | None:
    """Rename an unreadable autosave to `<name>.damaged` so it is not offered again."""
    target = path.with_name(path.name + _DAMAGED_SUFFIX)
    try:
        os.replace(path, target)
    except OSError:
        return None
    with contextlib.suppress(OSError):
        os.unlink(path.with_suffix(_LOCK_SUFFIX))
    return target


# --------------------------------------------------------------------------- autosaver


class Autosaver:
    """Writes ProjectSnapshots of one session to its autosave file on a background thread.

    `on_written(error)` is called from the writer thread after each write: None on success,
    else a one-line message. The file only exists between the first write and `discard()` /
    `close()`."""

    def __init__(
        self,
        folder: Path | None = None,
        on_written: Callable[[str | None], None] | None = None,
        compress_level: int = AUTOSAVE_COMPRESS_LEVEL,
    ) -> None:
        self.folder = autosave_dir() if folder is None else Path(folder)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.session_id = f"{stamp}-{os.getpid()}-{secrets.token_hex(3)}"
        self.path = self.folder / f"{self.session_id}{PROJECT_SUFFIX}"
        self._lock = SessionLock(self.folder / f"{self.session_id}{_LOCK_SUFFIX}")
        self._on_written = on_written
        self._level = int(compress_level)
        self._cache = PatchCache()  # used by the writer thread only
        self._cond = threading.Condition()
        self._pending: ProjectSnapshot | None = None
        self._busy = False
        self._generation = 0  # bumped by discard(): files of older generations are stale
        self._file_generation: int | None = None  # generation of the file on disk
        self._thread: threading.Thread | None = None
        self.writes = 0  # successful writes so far
        self.last_error: str | None = None

    # --- GUI-thread API -------------------------------------------------------------------
    def submit(self, snapshot: ProjectSnapshot) -> None:
        """Queue `snapshot` to be written (replacing one still waiting); returns at once."""
        with self._cond:
            self._pending = snapshot
            if self._busy:
                return
            self._busy = True
            self._thread = threading.Thread(
                target=self._run, name="InpaintStudioAutosave", daemon=True
            )
            self._thread.start()

    def is_busy(self) -> bool:
        with self._cond:
            return self._busy

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every submitted snapshot is written; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._busy, timeout)

    def discard(self) -> None:
        """Forget the session's autosave: drop what is queued, delete the file (now, or right
        after a write in progress)."""
        with self._cond:
            self._pending = None
            self._generation += 1
            if not self._busy:
                self._remove_stale_locked()

    def adopt(self, orphan: Path) -> bool:
        """Make a recovered orphan this session's autosave (rename, no copy); False on failure."""
        self.discard()
        self.wait()
        try:
            self._prepare()
            os.replace(orphan, self.path)
        except OSError:
            return False
        with contextlib.suppress(OSError):
            os.unlink(orphan.with_suffix(_LOCK_SUFFIX))
        with self._cond:
            self._file_generation = self._generation
        return True

    def close(self) -> None:
        """Clean end of the session: discard the autosave, wait for the writer, unlock."""
        self.discard()
        self.wait()
        self._lock.release(delete=True)

    # --- writer thread --------------------------------------------------------------------
    def _prepare(self) -> None:
        if not self._lock.held:
            self.folder.mkdir(parents=True, exist_ok=True)
            if not self._lock.acquire():
                raise OSError(errno.EBUSY, "the autosave file is locked by another process")

    def _remove_stale_locked(self) -> None:
        """Delete the file if it belongs to a discarded generation (call with _cond held)."""
        if self._file_generation is not None and self._file_generation != self._generation:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            self._file_generation = None

    def _run(self) -> None:
        while True:
            with self._cond:
                snapshot, self._pending = self._pending, None
                if snapshot is None:
                    self._remove_stale_locked()
                    self._busy = False
                    self._cond.notify_all()
                    return
                generation = self._generation
            error = self._write(snapshot)
            with self._cond:
                stale = generation != self._generation
                if error is None:
                    self._file_generation = generation
                    self._remove_stale_locked()
                    if not stale:
                        self.writes += 1
                self.last_error = None if stale else error
            if not stale and self._on_written is not None:
                self._on_written(error)

    def _write(self, snapshot: ProjectSnapshot) -> str | None:
        try:
            self._prepare()
            write_project(self.path, snapshot, compress_level=self._level, cache=self._cache)
        except InpaintStudioError as exc:
            cause = exc.__cause__
            if isinstance(cause, OSError):
                return f"Autosave to {self.folder} failed: {os_reason(cause)}."
            return f"Autosave failed: {exc}"
        except OSError as exc:
            return f"Autosave to {self.folder} failed: {os_reason(exc)}."
        except Exception as exc:  # never let the writer thread die silently
            return f"Autosave failed: {type(exc).__name__}: {exc}"
        return None
