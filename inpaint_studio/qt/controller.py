"""EditorController: the editing logic between the window, the canvas, the undo stack and the
worker (open, save, project files, autosave, strokes, clear mask, inpaint requests and results).
No widgets or dialogs: failures are raised (open/save) or emitted as one-line messages (inpaint,
autosave) for the window to show.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, Signal

from inpaint_studio.core.document import Document
from inpaint_studio.core.geometry import Rect
from inpaint_studio.core.history import Edit
from inpaint_studio.core.project import ProjectSnapshot, is_project_path
from inpaint_studio.errors import ImageSaveError
from inpaint_studio.qt.autosave import SessionAutosave
from inpaint_studio.qt.blocking import run_while_painting
from inpaint_studio.qt.canvas import CanvasView
from inpaint_studio.qt.settings import Settings
from inpaint_studio.qt.signals import emit
from inpaint_studio.qt.undo import BudgetUndoStack
from inpaint_studio.qt.worker import (
    ENV_NO_WARM_UP,
    InpainterFactory,
    InpaintRequest,
    InpaintResult,
    WorkerHost,
)

if TYPE_CHECKING:  # importing it loads OpenCV, which opening a photo does not need
    from inpaint_studio.core.damage_detect import Detection


def context_crop(mask_rect: Rect, width: int, height: int, min_margin: int) -> Rect:
    """Crop sent to the model: mask bbox grown by max(min_margin, its longest side), clipped."""
    margin = max(int(min_margin), mask_rect.w, mask_rect.h)
    return mask_rect.expand(margin).clip(width, height)


DETECT_CONTEXT = 64  # px of photo around a painted area that Detect within mask looks at


class EditorController(QObject):
    """Owns the Document, its BudgetUndoStack and the worker thread; drives the CanvasView."""

    document_changed = Signal()
    busy_changed = Signal(bool)
    progress = Signal(int, int)  # model calls done, total (0, 0 = unknown)
    status = Signal(str)  # short status-bar message
    error = Signal(str)  # one-line message for a message box
    inpaint_applied = Signal(object)  # InpaintResult that became an undo step
    inpaint_dropped = Signal(int, str)  # request_id, why it was not applied
    _detect_tiles = Signal(int, int)  # detector tiles done, total (emitted on its thread)

    def __init__(
        self,
        canvas: CanvasView,
        settings: Settings | None = None,
        factory: InpainterFactory | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = (settings or Settings()).validated()
        self.canvas = canvas
        self.stack = BudgetUndoStack(self.settings.history_budget_bytes, self)
        self.host = WorkerHost(factory, self)
        self.worker = self.host.worker
        self._next_id = 0
        self._current: InpaintRequest | None = None  # the only request whose result we want
        self._deferred: InpaintResult | None = None  # arrived mid-stroke, applied at release
        self._confirmed_overwrite: Path | None = None
        self._detector = None  # backends.damage_net.DamageDetector, loaded on first use
        self._detecting = False

        canvas.set_brush_size(self.settings.brush_size)
        canvas.stroke_finished.connect(self._on_stroke_finished)
        self.stack.region_changed.connect(canvas.update_region)
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        self._detect_tiles.connect(self._on_detect_tiles)  # queued: a slot of this object
        self.worker.cancelled.connect(self._on_cancelled)
        self.worker.progress.connect(self._on_progress)
        self.autosave = SessionAutosave(self)

    # --- state ----------------------------------------------------------------------------
    @property
    def document(self) -> Document | None:
        return self.stack.document

    def is_modified(self) -> bool:
        """True when the undo stack is away from its clean (opened / saved) state."""
        return self.document is not None and not self.stack.isClean()

    def is_busy(self) -> bool:
        return self._current is not None

    def update_settings(self, settings: Settings) -> None:
        self.settings = settings.validated()
        self.stack.set_budget_bytes(self.settings.history_budget_bytes)
        self.autosave.apply_settings(self.settings)

    # --- documents ------------------------------------------------------------------------
    @property
    def load_notices(self) -> list[str]:
        """What the user should know about the open photo's file (nothing was lost)."""
        original = self.document.original if self.document is not None else None
        notes = [] if original is None else list(original.notices)
        profile = self.canvas.display_profile
        if profile is not None:
            notes.append(
                f"Colours shown in sRGB from its embedded profile ({profile or 'unnamed'}); "
                "edits and exports keep the photo's own."
            )
        return notes

    def open_path(self, path: str | Path) -> list[str]:
        """Open a photo or a .inpaint project as the new document; returns load warnings.

        Raises InpaintStudioError (the current document is kept on failure)."""
        if is_project_path(path):
            self.open_project(path)
            return []
        return self.open_image(path)

    def open_image(self, path: str | Path) -> list[str]:
        """Load an image file (pixel limit from settings) as the new document; its warnings."""
        from inpaint_studio.core.imageio import load_image

        loaded = load_image(path, max_pixels=self.settings.max_pixels)
        try:
            source_bytes = Path(path).read_bytes()  # kept unchanged in project files
        except OSError:
            source_bytes = None
        if source_bytes is not None and len(source_bytes) != loaded.source_bytes_size:
            source_bytes = None  # the file changed while it was being read
        self.set_document(Document.from_loaded(loaded, source_bytes))
        return list(loaded.warnings)

    def open_project(self, path: str | Path) -> None:
        """Open a project: image, mask and every undo step (History panel, Ctrl+Z) come back.

        Raises ProjectFileError (the current document is kept on failure)."""
        from inpaint_studio.core.project import read_project

        project = read_project(
            path,
            max_pixels=self.settings.max_pixels,
            budget_bytes=self.settings.history_budget_bytes,
        )
        h = project.history
        self._install(project.document, h.edits, h.index, h.index, h.evicted)
        emit(self.status, f"Opened project {Path(path).name} ({len(h)} steps)")

    def recover(self, path: str | Path) -> None:
        """Restore an autosaved session (crash recovery) and make its file this session's
        autosave; the document keeps the path it had. Raises ProjectFileError."""
        from inpaint_studio.core.project import read_project

        project = read_project(
            path,
            max_pixels=self.settings.max_pixels,
            budget_bytes=self.settings.history_budget_bytes,
        )
        doc, h = project.document, project.history
        doc.path = project.document_path
        self._install(doc, h.edits, h.index, project.clean_index, h.evicted)
        self.autosave.adopt(Path(path))
        emit(self.status, f"Recovered the unsaved session ({len(h)} steps)")

    def set_document(self, doc: Document | None) -> None:
        """Replace the document: cancels a running fill, empties the undo stack."""
        self._install(doc)

    def _install(
        self,
        doc: Document | None,
        edits: tuple[Edit, ...] = (),
        index: int = 0,
        clean_index: int = 0,
        evicted: int = 0,
    ) -> None:
        self.cancel_inpaint(quiet=True)
        self._deferred = None
        self._confirmed_overwrite = None
        self.canvas.set_document(None)  # drop the old QImages before converting the new one
        self.stack.reset(doc)
        if doc is not None and edits:
            self.stack.load_history(edits, index, clean_index, evicted)
        self.canvas.set_document(doc)
        emit(self.document_changed)

    def snapshot(self) -> ProjectSnapshot:
        """Frozen copy of the session (document + every step) for writing on any thread."""
        doc = self._require_document()
        stack = self.stack
        return ProjectSnapshot.capture(
            doc,
            stack.edits(),
            stack.index(),
            clean_index=stack.cleanIndex(),
            evicted=stack.evicted,
        )

    def save_project(self, path: str | Path) -> Path:
        """Write the session as a .inpaint project (atomic); it becomes the document's path.

        Raises ProjectFileError."""
        from inpaint_studio.core.project import write_project

        doc = self._require_document()
        self.canvas.end_stroke()
        target = Path(path)
        snapshot = self.snapshot()
        clean = dataclasses.replace(snapshot, clean_index=snapshot.index, document_path=str(target))
        write_project(target, clean)
        doc.mark_saved(target)
        self.stack.setClean()
        emit(self.status, f"Saved project {target.name}")
        return target

    def save(self, path: str | Path, quality: int | None = None) -> Path:
        """Export the image by extension (EXIF/ICC kept via like=original); marks clean.

        JPEG quality: `quality`, else the setting, else None: a JPEG opened from a file keeps
        its unedited blocks as they were and other sources get the estimated quality.
        Raises ImageSaveError."""
        from inpaint_studio.core.imageio import save_image

        doc = self._require_document()
        self.canvas.end_stroke()
        if quality is None:
            quality = self.settings.jpeg_quality
        target = Path(path)
        revision, index = doc.revision, self.stack.index()
        image = doc.image_copy()  # a fill finishing while this saves changes the document
        alpha = None if doc.alpha is None else doc.alpha.copy()
        how = run_while_painting(
            lambda: save_image(target, image, alpha=alpha, like=doc.original, quality=quality)
        )
        doc.mark_saved(target, revision)
        if self.stack.index() == index:  # else the file lacks what was applied meanwhile
            self.stack.setClean()
        emit(self.status, f"Saved {target.name}" + (f" ({how})" if how else ""))
        return target

    def is_original_path(self, path: str | Path) -> bool:
        """True when `path` is the file the document was opened from."""
        doc = self.document
        source = getattr(doc.original, "source_path", None) if doc is not None else None
        if source is None:
            return False
        try:
            return Path(path).resolve() == Path(source).resolve()
        except OSError:
            return False

    def needs_overwrite_confirmation(self, path: str | Path) -> bool:
        """Saving over the opened original asks once per document."""
        if not self.is_original_path(path):
            return False
        return self._confirmed_overwrite != Path(path).resolve()

    def confirm_overwrite(self, path: str | Path) -> None:
        self._confirmed_overwrite = Path(path).resolve()

    def _require_document(self) -> Document:
        doc = self.document
        if doc is None:
            raise RuntimeError("no document is open")
        return doc

    # --- edits ----------------------------------------------------------------------------
    def _on_stroke_finished(self, edit) -> None:
        if self.document is not None:
            self.stack.push_edit(edit)
        if self._deferred is not None:
            result, self._deferred = self._deferred, None
            self._on_finished(result)

    def undo(self) -> None:
        self.canvas.end_stroke()
        self.stack.undo()

    def redo(self) -> None:
        self.canvas.end_stroke()
        self.stack.redo()

    def clear_mask(self) -> bool:
        """Clear the whole mask as one undo step; False if it was already empty."""
        doc = self.document
        if doc is None:
            return False
        self.canvas.end_stroke()
        edit = doc.clear_mask_edit()
        if edit is None:
            return False
        self.stack.push_edit(edit)
        return True

    def grow_mask(self, pixels: int) -> bool:
        """Grow (pixels > 0) or shrink (< 0) the mask by |pixels| px as one undo step; False
        if nothing changed (no mask, or nothing left to shrink)."""
        doc = self.document
        if doc is None:
            return False
        self.canvas.end_stroke()
        edit = doc.grow_mask_edit(pixels)
        if edit is None:
            return False
        self.stack.push_edit(edit)
        return True

    def detect_damage(
        self, sensitivity: float, polarity: str = "both", within_mask: bool = False
    ) -> Detection | None:
        """Find dust, scratches and creases (`backends.damage_net`; polarity "both", "light"
        or "dark") as one undo step: added to the mask, or with within_mask only looked for
        in the painted area, of which it keeps what it finds (the rest of the mask goes).
        Runs on a thread while the window keeps painting; None (and a status message) if
        within_mask finds no mask painted; raises BackendError with one line if the
        detector cannot load or run."""
        from inpaint_studio.backends.base import resolve_device

        doc = self._require_document()
        self.canvas.end_stroke()
        area = doc.mask_rect() if within_mask else doc.bounds
        if area.is_empty():
            emit(self.status, "Detect within mask: paint roughly over the damaged area first")
            return None
        crop = area.expand(DETECT_CONTEXT).clip(doc.width, doc.height)
        image = doc.image_copy(crop)  # a fill finishing meanwhile changes the document
        device = resolve_device(self.settings.device)

        def find() -> Detection:
            from inpaint_studio.backends.damage_net import DamageDetector

            if self._detector is None or self._detector.device != device:
                self._detector = DamageDetector(device=device)
            return self._detector.detect(image, sensitivity, progress=tiles_done, polarity=polarity)

        def tiles_done(done: int, total: int) -> None:
            if total > 1:
                emit(self._detect_tiles, done, total)

        self._detecting = True
        try:
            found = run_while_painting(find)
        finally:
            self._detecting = False  # a tile's message still queued must not hide the result
        if within_mask:
            self._keep_found_damage(doc, found, crop)
        else:
            self._add_found_damage(doc, found)
        return found

    def _add_found_damage(self, doc: Document, found: Detection) -> None:
        plural = "s" if found.regions != 1 else ""
        edit = doc.mask_union_edit(
            found.mask, label=f"Detect damage: {found.regions} region{plural}"
        )
        if edit is None:
            emit(
                self.status,
                "Detect damage: nothing new found"
                if found.regions
                else "Detect damage: none found",
            )
            return
        self.stack.push_edit(edit)
        emit(
            self.status,
            f"Detect damage: {found.regions} region{plural} ({100 * found.fraction:.2f}% of the "
            "photo) added to the mask. Check it, erase what is not damage, then Inpaint; "
            "Ctrl+Z takes it back.",
        )

    def _keep_found_damage(self, doc: Document, found: Detection, crop: Rect) -> None:
        painted = doc.mask[crop.slices] != 0
        kept = int(np.count_nonzero(painted & (found.mask != 0)))
        if kept == 0:
            emit(self.status, "Detect within mask: no damage found there; the mask is unchanged")
            return
        share = 100 * kept / max(1, int(np.count_nonzero(painted)))
        edit = doc.mask_intersect_edit(crop, found.mask, label="Detect within mask")
        if edit is None:
            emit(self.status, "Detect within mask: all of the painted area looks damaged")
            return
        self.stack.push_edit(edit)
        emit(
            self.status,
            f"Detect within mask: kept the damage found there ({share:.0f}% of the painted "
            "area). Check it, then Inpaint; Ctrl+Z brings the painted area back.",
        )

    def _on_detect_tiles(self, done: int, total: int) -> None:
        if self._detecting:
            emit(self.status, f"Looking for dust and scratches… {100 * done // total}%")

    def load_mask(self, path: str | Path) -> bool:
        """Add a mask file (white = fill, the photo's size) to the mask as one undo step.

        Raises MaskError with one line for unreadable or wrong-size files; False if the file
        adds nothing to the painted mask.
        """
        from inpaint_studio.core.imageio import load_mask

        doc = self._require_document()
        self.canvas.end_stroke()
        mask = load_mask(path, (doc.width, doc.height))
        edit = doc.mask_union_edit(mask, label=f"Load mask {Path(path).name}")
        if edit is None:
            return False
        self.stack.push_edit(edit)
        return True

    def save_mask(self, path: str | Path) -> Path:
        """Write the painted mask as a grayscale PNG (white = fill), atomically."""
        from inpaint_studio.core.imageio import save_mask

        doc = self._require_document()
        target = Path(path)
        if target.suffix.lower() != ".png":
            target = target.with_name(target.name + ".png")
        if self.is_original_path(target):
            raise ImageSaveError("Refusing to write the mask over the opened photo.")
        save_mask(target, doc.mask)
        return target

    # --- inpainting -----------------------------------------------------------------------
    def build_request(
        self,
        backend: str,
        device: str | None = None,
        strategy: str | None = None,
        grain: float | None = None,
        min_hole_width: float | None = None,
    ) -> InpaintRequest | None:
        """Frozen request for the painted mask (copies of the crop), or None if no mask;
        grain: core.grain strength, min_hole_width: core.regions' (None = the settings')."""
        doc = self.document
        if doc is None:
            return None
        hole = doc.mask_rect()
        if hole.is_empty():
            return None
        crop = context_crop(hole, doc.width, doc.height, self.settings.context_margin)
        self._next_id += 1
        return InpaintRequest(
            request_id=self._next_id,
            image=doc.image_copy(crop),
            mask=doc.mask_copy(crop),
            origin=crop,
            backend=backend,
            device=device or self.settings.device,
            strategy=strategy or self.settings.strategy,
            grain=self.settings.grain_strength if grain is None else grain,
            min_hole_width=(
                self.settings.min_hole_width if min_hole_width is None else min_hole_width
            ),
        )

    def start_inpaint(
        self,
        backend: str,
        device: str | None = None,
        strategy: str | None = None,
        grain: float | None = None,
        min_hole_width: float | None = None,
    ) -> int | None:
        """Send the mask to the worker; returns the request id (None if nothing to fill).

        A newer request supersedes (cancels) a running one."""
        self.canvas.end_stroke()
        request = self.build_request(backend, device, strategy, grain, min_hole_width)
        if request is None:
            emit(self.status, "Paint over what to remove first.")
            return None
        was_busy = self.is_busy()
        self._current = request
        self._deferred = None
        self.host.submit(request)
        emit(self.status, f"Inpainting with {backend}…")
        emit(self.progress, 0, 0)
        if not was_busy:
            emit(self.busy_changed, True)
        return request.request_id

    def cancel_inpaint(self, quiet: bool = False) -> bool:
        """Esc: cancel the running fill (its result will be dropped); False if none runs."""
        if self._current is None:
            return False
        rid = self._current.request_id
        self._current = None
        self._deferred = None
        self.host.cancel()
        emit(self.busy_changed, False)
        if not quiet:
            emit(self.status, "Inpainting cancelled.")
        emit(self.inpaint_dropped, rid, "cancelled")
        return True

    def _finish_request(self) -> None:
        self._current = None
        emit(self.busy_changed, False)

    def _on_progress(self, request_id: int, done: int, total: int) -> None:
        if self._current is not None and request_id == self._current.request_id:
            emit(self.progress, done, total)

    def _on_failed(self, request_id: int, message: str) -> None:
        if self._current is None or request_id != self._current.request_id:
            return  # a superseded request failing is not news
        self._finish_request()
        emit(self.status, "Inpainting failed.")
        emit(self.error, message)

    def _on_cancelled(self, request_id: int) -> None:
        if self._current is not None and request_id == self._current.request_id:
            self._finish_request()  # cancelled from the worker side (should not happen)

    def _on_finished(self, result: InpaintResult) -> None:
        request = self._current
        if request is None or result.request_id != request.request_id:
            emit(self.inpaint_dropped, result.request_id, "stale")
            return
        if self.canvas.is_stroking():
            self._deferred = result  # the stroke owns the mask until release
            return
        self._finish_request()
        doc = self.document
        origin = result.origin
        if doc is None or origin.clip(doc.width, doc.height) != origin:
            emit(self.inpaint_dropped, result.request_id, "document changed")
            return
        if not np.array_equal(doc.image[origin.slices], request.image):
            emit(self.status, "The photo changed while filling; the result was discarded.")
            emit(self.inpaint_dropped, result.request_id, "image changed")
            return
        # paste only where the request asked AND the mask is still painted
        # (uint8 0/255 straight from the boolean: np.where(.., 255, 0) would be int64, 8x bigger)
        fill_mask = ((request.mask != 0) & (doc.mask[origin.slices] != 0)).view(np.uint8) * 255
        edit = doc.fill_edit(origin, fill_mask, result.image, f"Inpaint ({result.backend})")
        if edit is None:
            emit(self.inpaint_dropped, result.request_id, "mask erased")
            return
        self.stack.push_edit(edit)
        if result.notice:
            emit(self.status, f"{result.notice} ({result.backend}, {result.elapsed_s:.1f} s).")
        else:
            emit(
                self.status,
                f"Filled with {result.backend} on {result.device} in {result.elapsed_s:.2f} s",
            )
        emit(self.inpaint_applied, result)

    def warm_up(self, backend: str, device: str | None = None) -> bool:
        """Load a neural `backend` on the worker thread before the first fill (no torch import
        here); False when skipped: INPAINT_STUDIO_NO_WARMUP set, busy, not neural, unavailable."""
        from inpaint_studio.backends import registry

        if os.environ.get(ENV_NO_WARM_UP) or self.is_busy():
            return False
        try:
            if not registry.info(backend).neural or not registry.is_available(backend)[0]:
                return False
        except Exception:  # unknown name or a broken plugin: the fill will say why
            return False
        return self.host.warm_up(backend, device or self.settings.device)

    # --- shutdown -------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Clean end of the session: cancel a running fill, stop the worker thread and wait for
        it (never terminate), delete the autosave."""
        self.cancel_inpaint(quiet=True)
        self.host.stop()
        self.autosave.shutdown()
