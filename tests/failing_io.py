"""Simulated I/O failures for tests: a disk that fills up after `room` bytes."""

from __future__ import annotations

import errno
import io
import os

import pytest


class FullDisk(io.RawIOBase):
    """Binary file wrapper that accepts `room` bytes, then fails like a full disk (ENOSPC)."""

    def __init__(self, real: io.BufferedWriter, room: int) -> None:
        self.real, self.room = real, room

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(data)
        return self.real.write(data)

    def fileno(self) -> int:
        return self.real.fileno()

    def flush(self) -> None:
        if not self.real.closed:
            self.real.flush()

    def close(self) -> None:
        super().close()
        self.real.close()


def simulate_full_disk(monkeypatch: pytest.MonkeyPatch, room: int = 0) -> None:
    """Every file opened with os.fdopen (atomic writes) runs out of space after `room` bytes."""
    real_fdopen = os.fdopen
    monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: FullDisk(real_fdopen(fd, *a, **k), room))
