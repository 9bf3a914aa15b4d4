"""CanvasView repaints only what a brush stroke changed, at any zoom (fluid on big photos)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QObject, QPoint, QRect, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from inpaint_studio.core.document import Document
from inpaint_studio.qt.canvas import CanvasView


class PaintSpy(QObject):
    """Collects the bounding rects of the paint events its widget receives."""

    def __init__(self) -> None:
        super().__init__()
        self.rects: list[QRect] = []

    def eventFilter(self, obj, event) -> bool:  # Qt override
        if event.type() == QEvent.Type.Paint:
            self.rects.append(event.region().boundingRect())
        return False


@pytest.fixture
def big_canvas(qtbot):
    view = CanvasView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.set_document(Document(np.full((1500, 2000, 3), 90, np.uint8)))
    view.show()
    qtbot.waitExposed(view)
    view.set_brush_size(20)
    spy = PaintSpy()
    view.viewport().installEventFilter(spy)
    view.spy = spy  # kept alive with the view
    QApplication.processEvents()
    return view


@pytest.mark.parametrize("zoom", [None, 1.0, 3.0])
def test_brush_move_repaints_only_the_dirty_rect(big_canvas, zoom):
    view, spy = big_canvas, big_canvas.spy
    view.fit() if zoom is None else view.set_zoom(zoom)
    QApplication.processEvents()
    vp = view.viewport()
    viewport_area = vp.width() * vp.height()
    left, none = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    QTest.mousePress(vp, left, none, QPoint(150, 150))
    QApplication.processEvents()
    areas = []
    for x in range(155, 250, 5):
        spy.rects.clear()
        QTest.mouseMove(vp, QPoint(x, 150))
        QApplication.processEvents()
        assert spy.rects, "the move was not repainted"
        box = spy.rects[0]
        for r in spy.rects[1:]:
            box = box.united(r)
        assert box.contains(QPoint(x, 150))  # the new dab is inside what was repainted
        areas.append(sum(r.width() * r.height() for r in spy.rects))
    QTest.mouseRelease(vp, left, none, QPoint(245, 150))
    # brush 20 image px: a few dab diameters on screen plus the cursor ring, never the viewport
    brush_on_screen = 20 * view.zoom() + 12
    assert max(areas) <= (3 * brush_on_screen + 20) ** 2
    assert max(areas) < viewport_area / 4
    assert view.document.mask.any()


def test_zoom_change_repaints_the_whole_viewport(big_canvas):
    view, spy = big_canvas, big_canvas.spy
    spy.rects.clear()
    view.set_zoom(2.0)
    QApplication.processEvents()
    vp = view.viewport().rect()
    assert any(r.contains(vp) for r in spy.rects)
