"""CanvasView: painting gestures, eraser, brush keys, zoom/pan, before/after, partial updates."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from inpaint_studio.core.document import Document
from inpaint_studio.core.geometry import Rect
from inpaint_studio.core.history import Edit
from inpaint_studio.qt.canvas import CanvasView, Tool
from inpaint_studio.qt.convert import qimage_to_rgb
from tests.qt.conftest import make_photo


@pytest.fixture
def canvas(qtbot):
    view = CanvasView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.set_document(Document(make_photo()))
    view.show()
    qtbot.waitExposed(view)
    view.actual_size()
    view.set_brush_size(10)
    return view


def _vp(view: CanvasView, x: float, y: float) -> QPoint:
    """Viewport point over the centre of image pixel (x, y)."""
    return view.image_to_viewport(x + 0.5, y + 0.5).toPoint()


def _drag(view: CanvasView, points, button=Qt.MouseButton.LeftButton) -> None:
    vp = view.viewport()
    QTest.mousePress(vp, button, Qt.KeyboardModifier.NoModifier, _vp(view, *points[0]))
    for p in points[1:]:
        QTest.mouseMove(vp, _vp(view, *p))
    QTest.mouseRelease(vp, button, Qt.KeyboardModifier.NoModifier, _vp(view, *points[-1]))


def test_mouse_stroke_is_one_edit_and_updates_overlay(canvas):
    doc = canvas.document
    image_before = qimage_to_rgb(canvas.displayed_image())
    edits: list[Edit] = []
    canvas.stroke_finished.connect(edits.append)
    _drag(canvas, [(100, 100), (120, 102), (140, 104), (160, 106)])
    assert len(edits) == 1
    edit = edits[0]
    assert edit.label == "Brush" and edit.image_after is None
    assert doc.mask[100, 100] == 255 and doc.mask[106, 160] == 255 and doc.mask[103, 130] == 255
    assert doc.mask[100, 96] == 255 and doc.mask[100, 92] == 0  # radius 5 round dab
    assert doc.mask[150, 100] == 0 and doc.mask[100, 200] == 0
    assert Rect.of_mask(doc.mask).intersect(edit.rect) == Rect.of_mask(doc.mask)
    assert np.array_equal(edit.mask_after, doc.mask[edit.rect.slices])
    assert edit.mask_before.max() == 0
    # the overlay is translucent red exactly where the mask is set; the photo is untouched
    overlay = canvas.mask_overlay()
    assert overlay.pixelColor(130, 103).getRgb() == (255, 40, 40, 128)
    assert overlay.pixelColor(10, 10).alpha() == 0
    assert np.array_equal(qimage_to_rgb(canvas.displayed_image()), image_before)


def test_eraser_tool(canvas):
    doc = canvas.document
    doc.mask[90:120, 90:200] = 255
    canvas.update_region(Rect(90, 90, 110, 30), image=False)
    edits: list[Edit] = []
    canvas.stroke_finished.connect(edits.append)
    canvas.set_tool(Tool.ERASER)
    _drag(canvas, [(100, 105), (180, 105)])
    assert len(edits) == 1 and edits[0].label == "Erase"
    assert doc.mask[105, 140] == 0 and doc.mask[92, 140] == 255
    assert canvas.mask_overlay().pixelColor(140, 105).alpha() == 0


def test_click_without_change_gives_no_edit(canvas):
    canvas.document.mask[:] = 255
    edits: list[Edit] = []
    canvas.stroke_finished.connect(edits.append)
    _drag(canvas, [(50, 50)])
    assert edits == []


def test_cancel_stroke_restores_mask(canvas):
    doc = canvas.document
    canvas.begin_stroke(50, 50)
    canvas.extend_stroke(90, 60)
    assert doc.mask.any() and canvas.is_stroking()
    canvas.cancel_stroke()
    assert not doc.mask.any() and not canvas.is_stroking()


def test_brush_size_keys_and_limits(canvas):
    sizes: list[int] = []
    canvas.brush_size_changed.connect(sizes.append)
    QTest.keyClick(canvas, Qt.Key.Key_BracketRight)
    assert canvas.brush_size > 10
    QTest.keyClick(canvas, Qt.Key.Key_BracketLeft)
    QTest.keyClick(canvas, Qt.Key.Key_BracketLeft)
    assert canvas.brush_size < 10 and sizes[-1] == canvas.brush_size
    canvas.set_brush_size(10_000)
    assert canvas.brush_size == 500
    for _ in range(60):
        canvas.adjust_brush_size(-1)
    assert canvas.brush_size == 1
    canvas.set_brush_size(0)
    assert canvas.brush_size == 1


def test_brush_radius_follows_size(canvas):
    canvas.set_brush_size(41)
    canvas.begin_stroke(150, 120)
    canvas.end_stroke()
    row = canvas.document.mask[120]
    assert abs(int((row > 0).sum()) - 41) <= 2


def test_before_after_key_shows_original(canvas):
    doc = canvas.document
    original = doc.image.copy()
    edit = Edit.capture(
        "paint", doc, Rect(10, 10, 50, 40), new_image_patch=np.zeros((40, 50, 3), np.uint8)
    )
    canvas.update_region(doc.apply(edit))
    assert qimage_to_rgb(canvas.displayed_image())[20, 20].max() == 0
    shown: list[bool] = []
    canvas.original_shown.connect(shown.append)
    QTest.keyPress(canvas, Qt.Key.Key_Backslash)
    assert canvas.showing_original
    assert np.array_equal(qimage_to_rgb(canvas.displayed_image()), original)
    assert not canvas.begin_stroke(5, 5)  # no painting on the "before" view
    QTest.keyRelease(canvas, Qt.Key.Key_Backslash)
    assert not canvas.showing_original and shown == [True, False]
    assert qimage_to_rgb(canvas.displayed_image())[20, 20].max() == 0


def test_update_region_touches_only_the_rect(canvas):
    doc = canvas.document
    doc.image[0:5, 0:5] = 0  # changed without notification: must not show up
    doc.image[100:110, 100:110] = 0
    canvas.update_region(Rect(100, 100, 10, 10), image=True, mask=False)
    shown = qimage_to_rgb(canvas.displayed_image())
    assert shown[105, 105].max() == 0
    assert shown[2, 2].max() > 0


def _wheel(view: CanvasView, pos: QPointF, degrees: int) -> None:
    event = QWheelEvent(
        pos,
        view.viewport().mapToGlobal(pos),
        QPoint(0, 0),
        QPoint(0, degrees),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(view.viewport(), event)


def test_wheel_zooms_around_cursor_and_fit(canvas):
    canvas.set_zoom(2.0)
    pos = QPointF(120, 90)
    inverse, _ = canvas.viewportTransform().inverted()
    under = inverse.map(pos)
    _wheel(canvas, pos, 120)
    assert canvas.zoom() > 2.0
    inverse, _ = canvas.viewportTransform().inverted()
    after = inverse.map(pos)
    assert abs(after.x() - under.x()) < 1.0 and abs(after.y() - under.y()) < 1.0
    _wheel(canvas, pos, -240)
    assert canvas.zoom() < 2.0
    canvas.fit()
    visible = canvas.visible_image_rect()
    assert visible == Rect(0, 0, 320, 240)
    canvas.actual_size()
    assert canvas.zoom() == 1.0


def test_middle_button_and_space_drag_pan(canvas):
    canvas.set_zoom(4.0)
    h = canvas.horizontalScrollBar()
    v = canvas.verticalScrollBar()
    h.setValue(h.maximum() // 2)
    v.setValue(v.maximum() // 2)
    start = (h.value(), v.value())
    vp = canvas.viewport()
    QTest.mousePress(
        vp, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, QPoint(200, 150)
    )
    QTest.mouseMove(vp, QPoint(150, 120))
    QTest.mouseRelease(
        vp, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, QPoint(150, 120)
    )
    assert (h.value(), v.value()) == (start[0] + 50, start[1] + 30)
    assert not canvas.document.mask.any()  # panning never paints
    QTest.keyPress(canvas, Qt.Key.Key_Space)
    QTest.mousePress(
        vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(150, 120)
    )
    QTest.mouseMove(vp, QPoint(170, 120))
    QTest.mouseRelease(
        vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(170, 120)
    )
    QTest.keyRelease(canvas, Qt.Key.Key_Space)
    assert h.value() == start[0] + 30
    assert not canvas.document.mask.any()


def test_brush_cursor_scales_with_zoom(canvas):
    canvas.set_brush_size(20)
    QTest.mouseMove(canvas.viewport(), QPoint(100, 100))
    small = canvas._cursor_viewport_rect()
    canvas.set_zoom(3.0)
    QTest.mouseMove(canvas.viewport(), QPoint(101, 100))
    big = canvas._cursor_viewport_rect()
    assert big.width() > 2.5 * (small.width() - 6)
