"""emit() keeps the True/False singletons' reference counts intact (PySide6 6.12 workaround)."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal

from inpaint_studio.qt.signals import emit


class _Source(QObject):
    flag = Signal(bool)
    many = Signal(object, bool, bool)


def test_emit_does_not_leak_or_steal_bool_references(qapp):
    source = _Source()
    got: list[bool] = []
    source.flag.connect(got.append)
    source.many.connect(lambda _a, b, _c: got.append(b))
    before = sys.getrefcount(True), sys.getrefcount(False)
    for i in range(5000):
        emit(source.flag, bool(i % 2))
        emit(source.many, None, True, False)
    got.clear()
    after = sys.getrefcount(True), sys.getrefcount(False)
    assert abs(after[0] - before[0]) <= 2 and abs(after[1] - before[1]) <= 2
