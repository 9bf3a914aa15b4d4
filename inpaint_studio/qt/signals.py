"""`emit(signal, *args)`: SignalInstance.emit with a guard against a PySide6 refcount bug.

PySide6 6.12.0 on CPython 3.11 returns `True` from `SignalInstance.emit()` without taking a
reference to it, so every emit from Python drops one reference to the `True` singleton; after a
few thousand emits the interpreter aborts ("Fatal Python error: bool_dealloc"). On start-up we
probe once whether emit() loses a reference and, if it does, give the returned object its
reference back after each emit. Where the bug is absent (fixed PySide6, Python >= 3.12 with
immortal bools) the probe finds nothing and `emit` is a plain call. All our Python-side emits go
through this function.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal, SignalInstance

_incref = ctypes.pythonapi.Py_IncRef
_incref.argtypes = [ctypes.py_object]
_incref.restype = None


class _Probe(QObject):
    ping = Signal()


def _emit_loses_reference() -> bool:
    probe = _Probe()
    rounds = 16
    before = sys.getrefcount(True)
    for _ in range(rounds):
        probe.ping.emit()
    lost = before - sys.getrefcount(True)
    if lost >= rounds:
        for _ in range(lost):  # give back what the probe itself took
            _incref(True)
        return True
    return False


EMIT_LOSES_REFERENCE = _emit_loses_reference()


def emit(signal: SignalInstance, *args: object) -> None:
    """signal.emit(*args), compensating the reference PySide6 6.12 drops on the result."""
    result = signal.emit(*args)
    if EMIT_LOSES_REFERENCE:
        _incref(result)
