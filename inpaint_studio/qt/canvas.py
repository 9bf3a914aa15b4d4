"""CanvasView: the photo, the mask overlay, zoom/pan, the brush and the before/after view.

The image and the translucent red mask overlay are two QImages converted once per document;
afterwards only dirty rectangles are rewritten (`update_region`) and repainted, so a stroke on a
24 MP photo never re-converts the whole image. A press -> release gesture is drawn live into the
document's mask by a `core.brush.StrokeRecorder` and leaves as ONE `Edit` through
`stroke_finished`; whoever owns the undo stack pushes it (applying it again is idempotent).
"""

from __future__ import annotations

import enum
import math

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QTransform
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsScene,
    QGraphicsView,
    QStyleOptionGraphicsItem,
    QWidget,
)

from inpaint_studio.core.brush import MAX_BRUSH_SIZE, StrokeRecorder
from inpaint_studio.core.display_colour import DisplayTransform
from inpaint_studio.core.document import Document
from inpaint_studio.core.geometry import Rect
from inpaint_studio.core.history import Edit
from inpaint_studio.core.lasso import lasso_edit
from inpaint_studio.qt.convert import mask_to_qimage, rgb_to_qimage, write_mask, write_rgb
from inpaint_studio.qt.signals import emit

MIN_ZOOM = 1 / 64
MAX_ZOOM = 64.0
WHEEL_ZOOM_PER_DEGREE = 1.0025  # 120 units (one notch) -> x1.35


class Tool(enum.Enum):
    BRUSH = "brush"
    ERASER = "eraser"
    LASSO = "lasso"  # drag an outline; release fills it (core.lasso)


def _qrectf(rect: Rect) -> QRectF:
    return QRectF(rect.x, rect.y, rect.w, rect.h)


class ImageLayerItem(QGraphicsItem):
    """Scene item drawing a QImage at 1 scene unit per pixel, only over the exposed area."""

    def __init__(self, image: QImage | None = None) -> None:
        super().__init__()
        self._image = image if image is not None else QImage()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)

    @property
    def image(self) -> QImage:
        return self._image

    def set_image(self, image: QImage) -> None:
        if image.size() != self._image.size():
            self.prepareGeometryChange()
        self._image = image
        self.update()

    def boundingRect(self) -> QRectF:  # Qt override
        return QRectF(0, 0, self._image.width(), self._image.height())

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:  # Qt override
        if self._image.isNull():
            return
        exposed = option.exposedRect.toAlignedRect().intersected(self._image.rect())
        if not exposed.isEmpty():
            painter.drawImage(exposed, self._image, exposed)


class CanvasView(QGraphicsView):
    """Shows a Document; paints/erases its mask; zoom, pan, brush cursor, before/after."""

    stroke_finished = Signal(object)  # core Edit of one press -> release gesture
    brush_size_changed = Signal(int)
    tool_changed = Signal(object)  # Tool
    zoom_changed = Signal(float)
    original_shown = Signal(bool)  # before/after key held / released

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self._image_item = ImageLayerItem()
        self._mask_item = ImageLayerItem()
        self._mask_item.setZValue(1)
        self.scene().addItem(self._image_item)
        self.scene().addItem(self._mask_item)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setBackgroundBrush(QColor(48, 48, 48))
        self.setMouseTracking(True)
        self.viewport().setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setAcceptDrops(False)  # file drops go to the window

        self._doc: Document | None = None
        self._image_qimage = QImage()
        self._mask_qimage = QImage()
        self._original_pixels: np.ndarray | None = None
        self._original_qimage: QImage | None = None
        self._showing_original = False
        self._tool = Tool.BRUSH
        self._brush_size = 40
        self._recorder: StrokeRecorder | None = None
        self._lasso: list[tuple[float, float]] | None = None  # outline being drawn (image px)
        self._lasso_erase = False
        self._cursor: QPointF | None = None  # brush centre in scene coordinates
        self._space_held = False
        self._pan_last: QPointF | None = None
        self._gesture_button = Qt.MouseButton.LeftButton  # the button drawing the gesture
        self._fit_mode = True
        self._display = DisplayTransform(None)

    # --- document -------------------------------------------------------------------------
    @property
    def document(self) -> Document | None:
        return self._doc

    def set_document(self, doc: Document | None) -> None:
        """Show `doc` (converted once), fitted to the view; None shows an empty canvas."""
        self.cancel_stroke()
        self._doc = doc
        self._original_qimage = None
        self._showing_original = False
        icc = getattr(getattr(doc, "original", None), "icc_profile", None)
        self._display = DisplayTransform(icc)  # the photo's profile -> sRGB, for the screen
        if doc is None:
            self._image_qimage = QImage()
            self._mask_qimage = QImage()
            self._original_pixels = None
        else:
            self._image_qimage = rgb_to_qimage(self._display.apply(doc.image))
            self._mask_qimage = mask_to_qimage(doc.mask)
            original = doc.original
            pixels = getattr(original, "pixels", None)
            if isinstance(pixels, np.ndarray) and pixels.shape == doc.image.shape:
                self._original_pixels = pixels  # the loaded file's pixels (never edited)
            else:
                self._original_pixels = doc.image.copy()
        self._image_item.set_image(self._image_qimage)
        self._mask_item.set_image(self._mask_qimage)
        self._mask_item.setVisible(True)
        self.scene().setSceneRect(self._image_item.boundingRect())
        self.fit()

    @property
    def display_profile(self) -> str | None:
        """The name of the ICC profile the photo is converted from for the screen, "" when
        unnamed; None when it is shown as it is (no profile, or sRGB)."""
        return self._display.description if self._display.active else None

    def update_region(self, rect: Rect, image: bool = True, mask: bool = True) -> None:
        """Re-read the document's pixels inside `rect` only and repaint that area."""
        doc = self._doc
        if doc is None:
            return
        rect = rect.clip(doc.width, doc.height)
        if rect.is_empty():
            return
        if image:
            write_rgb(self._image_qimage, self._display.apply(doc.image[rect.slices]), rect)
            if not self._showing_original:
                self._image_item.update(_qrectf(rect))
        if mask:
            write_mask(self._mask_qimage, doc.mask, rect)
            self._mask_item.update(_qrectf(rect))

    def displayed_image(self) -> QImage:
        """The QImage drawn as the photo right now (the original while before/after is held)."""
        return self._image_item.image

    def mask_overlay(self) -> QImage:
        return self._mask_qimage

    # --- before / after -------------------------------------------------------------------
    @property
    def showing_original(self) -> bool:
        return self._showing_original

    def show_original(self, show: bool) -> None:
        """Display the pixels as loaded (no mask) instead of the edited image, or go back."""
        if self._doc is None or show == self._showing_original:
            return
        if show:
            self.end_stroke()
            if self._original_qimage is None:
                self._original_qimage = rgb_to_qimage(self._display.apply(self._original_pixels))
            self._image_item.set_image(self._original_qimage)
        else:
            self._image_item.set_image(self._image_qimage)
        self._mask_item.setVisible(not show)
        self._showing_original = show
        self.viewport().update()
        emit(self.original_shown, show)

    # --- tools ----------------------------------------------------------------------------
    @property
    def tool(self) -> Tool:
        return self._tool

    def set_tool(self, tool: Tool) -> None:
        if tool != self._tool:
            self._tool = tool
            emit(self.tool_changed, tool)

    @property
    def brush_size(self) -> int:
        """Brush diameter in image pixels (1..500)."""
        return self._brush_size

    def set_brush_size(self, size: int) -> None:
        size = int(min(MAX_BRUSH_SIZE, max(1, size)))
        if size == self._brush_size:
            return
        old = self._cursor_viewport_rect()
        self._brush_size = size
        self._update_cursor_area(old)
        emit(self.brush_size_changed, size)

    def adjust_brush_size(self, steps: int) -> None:
        """`[` / `]`: shrink or grow the brush by ~15% per step (at least 1 px)."""
        size = self._brush_size
        for _ in range(abs(steps)):
            delta = max(1, round(size * 0.15))
            size = size + delta if steps > 0 else size - delta
        self.set_brush_size(size)

    # --- zoom -----------------------------------------------------------------------------
    def zoom(self) -> float:
        """Current scale: screen pixels per image pixel."""
        return float(self.transform().m11())

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Scale to `zoom`, keeping the image point under viewport point `anchor` in place."""
        zoom = min(MAX_ZOOM, max(MIN_ZOOM, zoom))
        if anchor is None:
            anchor = QPointF(self.viewport().rect().center())
        scene_point = self._to_scene(anchor)
        self._fit_mode = False
        self.setTransform(QTransform.fromScale(zoom, zoom))
        moved = self.viewportTransform().map(scene_point) - anchor
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + round(moved.x()))
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + round(moved.y()))
        self._zoom_updated()

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        self.set_zoom(self.zoom() * factor, anchor)

    def fit(self) -> None:
        """Ctrl+0: show the whole image."""
        rect = self.scene().sceneRect()
        if rect.isEmpty():
            self.resetTransform()
        else:
            self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
            if self.zoom() > MAX_ZOOM:
                self.setTransform(QTransform.fromScale(MAX_ZOOM, MAX_ZOOM))
        self._fit_mode = True
        self._zoom_updated()

    def actual_size(self) -> None:
        """Ctrl+1: one image pixel per screen pixel."""
        self.set_zoom(1.0)

    def _zoom_updated(self) -> None:
        smooth = self.zoom() < 1.0
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
        self.viewport().update()
        emit(self.zoom_changed, self.zoom())

    # --- coordinates ----------------------------------------------------------------------
    def _to_scene(self, pos: QPointF) -> QPointF:
        inverse, _ok = self.viewportTransform().inverted()
        return inverse.map(QPointF(pos))

    def image_to_viewport(self, x: float, y: float) -> QPointF:
        """Viewport position of image point (x, y) (scene units: pixel (i, j) spans i..i+1)."""
        return self.viewportTransform().map(QPointF(x, y))

    # --- strokes (image coordinates: pixel centres at integers) ----------------------------
    def is_stroking(self) -> bool:
        return self._recorder is not None or self._lasso is not None

    def begin_stroke(self, x: float, y: float, erase: bool | None = None) -> bool:
        """Start a gesture at image point (x, y); erase defaults to the current tool."""
        doc = self._doc
        if doc is None or self._showing_original:
            return False
        self.end_stroke()
        if erase is None:
            erase = self._tool == Tool.ERASER
        self._recorder = StrokeRecorder(doc.mask, self._brush_size / 2, erase=erase)
        self.extend_stroke(x, y)
        return True

    def extend_stroke(self, x: float, y: float) -> None:
        """Draw to (x, y) live and repaint only the dirty rectangle of the mask overlay."""
        if self._recorder is None:
            return
        dirty = self._recorder.add_point(x, y)
        self.update_region(dirty, image=False, mask=True)

    def end_stroke(self) -> Edit | None:
        """Finish the gesture: emits and returns its single Edit (None if nothing changed)."""
        if self._lasso is not None:
            return self.end_lasso()
        recorder, self._recorder = self._recorder, None
        if recorder is None:
            return None
        edit = recorder.finish("Erase" if recorder.erase else "Brush")
        if edit is not None:
            emit(self.stroke_finished, edit)
        return edit

    def begin_lasso(self, x: float, y: float, erase: bool = False) -> bool:
        """Start an outline at image point (x, y); `erase` takes its inside out of the mask."""
        if self._doc is None or self._showing_original:
            return False
        self.end_stroke()
        self._lasso, self._lasso_erase = [(x, y)], erase
        return True

    def extend_lasso(self, x: float, y: float) -> None:
        """Add (x, y) to the outline; only the outline is repainted, the mask waits."""
        if self._lasso is None or self._lasso[-1] == (x, y):
            return
        corners = (self._lasso[0], self._lasso[-1], (x, y))  # new segment, old / new closing
        self._lasso.append((x, y))
        xs, ys = [c[0] + 0.5 for c in corners], [c[1] + 0.5 for c in corners]
        scene = QRectF(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
        area = self.viewportTransform().mapRect(scene).toAlignedRect()
        self.viewport().update(area.adjusted(-3, -3, 3, 3))

    def end_lasso(self) -> Edit | None:
        """Fill the closed outline into the mask: emits and returns its Edit (None if nothing
        changed or fewer than three points)."""
        points, self._lasso = self._lasso, None
        self.viewport().update()
        if points is None or self._doc is None:
            return None
        edit = lasso_edit(self._doc.mask, points, erase=self._lasso_erase)
        if edit is not None:
            self._doc.apply(edit)
            self.update_region(edit.rect, image=False, mask=True)
            emit(self.stroke_finished, edit)
        return edit

    def cancel_stroke(self) -> None:
        """Abandon a gesture, putting back the mask pixels it changed."""
        if self._lasso is not None:  # nothing was written yet
            self._lasso = None
            self.viewport().update()
        recorder, self._recorder = self._recorder, None
        if recorder is None or self._doc is None:
            return
        edit = recorder.finish("cancelled")
        if edit is not None:
            self._doc.revert(edit)
            self.update_region(edit.rect, image=False, mask=True)

    # --- brush cursor ---------------------------------------------------------------------
    def _cursor_viewport_rect(self) -> QRect | None:
        if self._cursor is None:
            return None
        r = self._brush_size / 2 + 1
        c = self._cursor
        scene_rect = QRectF(c.x() - r, c.y() - r, 2 * r, 2 * r)
        return self.viewportTransform().mapRect(scene_rect).toAlignedRect().adjusted(-3, -3, 3, 3)

    def _update_cursor_area(self, old: QRect | None) -> None:
        for rect in (old, self._cursor_viewport_rect()):
            if rect is not None:
                self.viewport().update(rect)

    def _move_cursor(self, scene_pos: QPointF | None) -> None:
        old = self._cursor_viewport_rect()
        self._cursor = scene_pos
        self._update_cursor_area(old)

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:  # Qt override
        if self._lasso is not None:
            self._draw_lasso(painter)
        if self._tool == Tool.LASSO and self._recorder is None:
            return  # no brush circle: the cross cursor marks the point
        if self._cursor is None or self._doc is None or self._showing_original:
            return
        if self._space_held or self._pan_last is not None:
            return
        r = self._brush_size / 2
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        light = QPen(QColor(255, 255, 255, 220), 0)  # width 0 = cosmetic 1 px at any zoom
        painter.setPen(light)
        painter.drawEllipse(self._cursor, r, r)
        dark = QPen(QColor(0, 0, 0, 220), 0, Qt.PenStyle.DashLine)
        painter.setPen(dark)
        painter.drawEllipse(self._cursor, r, r)
        painter.restore()

    def _draw_lasso(self, painter: QPainter) -> None:
        """The outline so far (scene = image + 0.5), closed by a dotted line to its start."""
        points = [QPointF(x + 0.5, y + 0.5) for x, y in self._lasso or []]
        if len(points) < 2:
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        for pen in (
            QPen(QColor(255, 255, 255, 230), 0),
            QPen(QColor(0, 0, 0, 230), 0, Qt.PenStyle.DashLine),
        ):
            painter.setPen(pen)
            painter.drawPolyline(points)
        painter.setPen(QPen(QColor(255, 255, 255, 160), 0, Qt.PenStyle.DotLine))
        painter.drawLine(points[-1], points[0])
        painter.restore()

    # --- events ---------------------------------------------------------------------------
    def wheelEvent(self, event) -> None:  # Qt override
        degrees = event.angleDelta().y() or event.angleDelta().x()
        if degrees == 0 or self._doc is None:
            event.ignore()
            return
        self.zoom_by(WHEEL_ZOOM_PER_DEGREE**degrees, event.position())
        self._move_cursor(self._to_scene(event.position()))
        event.accept()

    def _start_pan(self, pos: QPointF) -> None:
        self._pan_last = QPointF(pos)
        self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)

    def mousePressEvent(self, event) -> None:  # Qt override
        pos = event.position()
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (
            button == Qt.MouseButton.LeftButton and self._space_held
        ):
            self._start_pan(pos)
            event.accept()
            return
        if button in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            scene = self._to_scene(pos)
            self._move_cursor(scene)
            x, y = scene.x() - 0.5, scene.y() - 0.5
            erase = button == Qt.MouseButton.RightButton  # right drag always takes away
            self._gesture_button = button
            if self._tool == Tool.LASSO:
                started = self.begin_lasso(x, y, erase=erase)
            else:
                started = self.begin_stroke(x, y, erase=True if erase else None)
            if started:
                event.accept()
                return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # Qt override
        pos = event.position()
        if self._pan_last is not None:
            delta = pos - self._pan_last
            self._pan_last = QPointF(pos)
            h, v = self.horizontalScrollBar(), self.verticalScrollBar()
            h.setValue(h.value() - round(delta.x()))
            v.setValue(v.value() - round(delta.y()))
            event.accept()
            return
        scene = self._to_scene(pos)
        self._move_cursor(scene)
        if self._lasso is not None:
            self.extend_lasso(scene.x() - 0.5, scene.y() - 0.5)
            event.accept()
            return
        if self._recorder is not None:
            self.extend_stroke(scene.x() - 0.5, scene.y() - 0.5)
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # Qt override
        button = event.button()
        if self._pan_last is not None and button in (
            Qt.MouseButton.MiddleButton,
            Qt.MouseButton.LeftButton,
        ):
            self._pan_last = None
            self.viewport().setCursor(
                Qt.CursorShape.OpenHandCursor if self._space_held else Qt.CursorShape.CrossCursor
            )
            event.accept()
            return
        if button == self._gesture_button and self.is_stroking():
            scene = self._to_scene(event.position())
            if self._lasso is not None:
                self.extend_lasso(scene.x() - 0.5, scene.y() - 0.5)
            else:
                self.extend_stroke(scene.x() - 0.5, scene.y() - 0.5)
            self.end_stroke()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def contextMenuEvent(self, event) -> None:  # Qt override: the right button erases
        event.accept()

    def leaveEvent(self, event) -> None:  # Qt override
        self._move_cursor(None)
        super().leaveEvent(event)

    def keyPressEvent(self, event) -> None:  # Qt override
        key = event.key()
        if key in (Qt.Key.Key_Space, Qt.Key.Key_Backslash):
            if not event.isAutoRepeat():
                if key == Qt.Key.Key_Space:
                    self._space_held = True
                    self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
                    self._update_cursor_area(self._cursor_viewport_rect())
                else:
                    self.show_original(True)
            event.accept()
            return
        if key in (Qt.Key.Key_BracketLeft, Qt.Key.Key_BracketRight):
            self.adjust_brush_size(1 if key == Qt.Key.Key_BracketRight else -1)
            event.accept()
            return
        if key == Qt.Key.Key_Escape and self.is_stroking():  # drop the gesture in progress
            self.cancel_stroke()
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:  # Qt override
        key = event.key()
        if key in (Qt.Key.Key_Space, Qt.Key.Key_Backslash):
            if not event.isAutoRepeat():
                if key == Qt.Key.Key_Space:
                    self._space_held = False
                    if self._pan_last is None:
                        self.viewport().setCursor(Qt.CursorShape.CrossCursor)
                    self._update_cursor_area(self._cursor_viewport_rect())
                else:
                    self.show_original(False)
            event.accept()
            return
        super().keyReleaseEvent(event)

    def focusOutEvent(self, event) -> None:  # Qt override
        # a key released while another widget has focus never reaches us: reset held keys
        self._space_held = False
        self.show_original(False)
        super().focusOutEvent(event)

    def resizeEvent(self, event) -> None:  # Qt override
        super().resizeEvent(event)
        if self._fit_mode and self._doc is not None:
            self.fit()

    def visible_image_rect(self) -> Rect:
        """Part of the image currently visible in the viewport (image pixels)."""
        if self._doc is None:
            return Rect(0, 0, 0, 0)
        inverse, _ok = self.viewportTransform().inverted()
        r = inverse.mapRect(QRectF(self.viewport().rect()))
        x0, y0 = math.floor(r.left()), math.floor(r.top())
        x1, y1 = math.ceil(r.right()), math.ceil(r.bottom())
        return Rect(x0, y0, x1 - x0, y1 - y0).clip(self._doc.width, self._doc.height)
