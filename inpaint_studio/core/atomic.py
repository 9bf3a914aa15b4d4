"""Atomic file replacement and one-line OS error reasons (no Qt, no torch).

`atomic_write(path)` yields a binary file that is a temporary sibling of `path`; on a clean exit
it is flushed, fsync'ed and renamed over `path` with `os.replace`, and the folder is fsync'ed. On
any failure the temporary file is removed and `path` is left exactly as it was.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


def create_temp(target: Path) -> tuple[Path, int]:
    """Create `.<name>.tmp-<random>` next to `target` exclusively; (path, open fd)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = target.with_name(f".{target.name}.tmp-{secrets.token_hex(4)}")
        try:
            return tmp, os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "could not create a temporary file")


def copy_mode(target: Path, tmp: Path) -> None:
    """Give the new file the permissions of the one it replaces."""
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        return
    with contextlib.suppress(OSError):
        os.chmod(tmp, mode)


def fsync_dir(folder: Path) -> None:
    """Make a rename inside `folder` durable (POSIX only; best effort)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path: str | Path) -> Iterator[BinaryIO]:
    """Binary file whose content replaces `path` atomically when the block ends without error."""
    target = Path(path)
    tmp, fd = create_temp(target)
    done = False
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        copy_mode(target, tmp)
        os.replace(tmp, target)
        done = True
    finally:
        if not done:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    fsync_dir(target.parent)


def os_reason(exc: OSError) -> str:
    """Short lower-case reason for an OSError ("the disk is full", "permission denied", ...)."""
    code = exc.errno
    if isinstance(exc, FileNotFoundError) or code == errno.ENOENT:
        return "the file or folder does not exist"
    if isinstance(exc, IsADirectoryError):
        return "it is a folder, not a file"
    if isinstance(exc, PermissionError) or code in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return "the disk is full"
    if code == errno.EROFS:
        return "the disk is read-only"
    if code == errno.ENAMETOOLONG:
        return "the file name is too long"
    text = (exc.strerror or "input/output error").strip().rstrip(".")
    return text[:1].lower() + text[1:]
