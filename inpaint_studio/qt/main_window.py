"""MainWindow: assembles the canvas, actions, menus, toolbar, history dock and status bar.

Editing logic lives in `EditorController`; the window only wires actions to it and turns its
failures into message boxes (through `qt.dialogs`, which tests replace).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QStandardItemModel
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDockWidget,
    QLabel,
    QMainWindow,
    QProgressBar,
    QSpinBox,
    QUndoView,
    QWidget,
)

from inpaint_studio.core.brush import MAX_BRUSH_SIZE
from inpaint_studio.core.document import Document
from inpaint_studio.core.maskops import EDITOR_STEP as MASK_STEP
from inpaint_studio.core.project import PROJECT_SUFFIX, is_project_path
from inpaint_studio.errors import InpaintStudioError
from inpaint_studio.qt import dialogs
from inpaint_studio.qt.canvas import CanvasView, Tool
from inpaint_studio.qt.controller import EditorController
from inpaint_studio.qt.settings import DEVICES, Settings, save_settings
from inpaint_studio.qt.worker import InpainterFactory

# Edit > Detection sensitivity: (%, name); chosen on held-out photos (study_damage_detect.py)
DETECT_LEVELS = ((25, "Low"), (50, "Medium"), (75, "High"))
# Edit > Damage to find: (core.damage_detect polarity, name)
DETECT_POLARITIES = (
    ("both", "Light and dark"),
    ("light", "Light only (prints: scratches, dust)"),
    ("dark", "Dark only (film scans: dust)"),
)

WARM_UP_DELAY_MS = 1000  # after the first canvas paint: load the neural model in the background
APP_TITLE = "Inpaint Studio"
SAVE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp")


class DeviceCombo(QComboBox):
    """auto / cpu / cuda; CUDA availability is checked (torch imported) on first opening only."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        for name in DEVICES:
            self.addItem(name, name)
        self.setToolTip("Device for neural models (auto = CUDA when available)")
        self._checked = False

    def check_cuda(self) -> None:
        if self._checked:
            return
        self._checked = True
        try:
            import torch

            ok = bool(torch.cuda.is_available())
            reason = "PyTorch reports no CUDA GPU."
        except Exception as exc:  # torch missing or broken: CPU only
            ok, reason = False, f"PyTorch is not usable: {exc}"
        if not ok:
            index = self.findData("cuda")
            model = self.model()
            if isinstance(model, QStandardItemModel) and index >= 0:
                model.item(index).setEnabled(False)
                self.setItemData(index, reason, Qt.ItemDataRole.ToolTipRole)
            if self.currentData() == "cuda":
                self.setCurrentIndex(self.findData("auto"))

    def showPopup(self) -> None:  # Qt override
        self.check_cuda()
        super().showPopup()


def _export_suffix(doc: Document) -> str:
    """Extension for exports: the photo's own (also for projects), else .png."""
    for path in (doc.path, getattr(doc.original, "source_path", None)):
        if path is not None and Path(path).suffix.lower() in SAVE_EXTENSIONS:
            return Path(path).suffix
    return ".png"


class MainWindow(QMainWindow):
    """The editor window: File / Edit / View / Tools menus, tool bar, history dock."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        factory: InpainterFactory | None = None,
        persist_settings: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = (settings or Settings()).validated()
        self._persist_settings = persist_settings
        self._busy_call = False  # an export or a detection runs on a thread (close waits)
        self.canvas = CanvasView(self)
        self.setCentralWidget(self.canvas)
        self.controller = EditorController(self.canvas, self.settings, factory, self)
        self.stack = self.controller.stack
        self.setAcceptDrops(True)
        self.resize(1200, 800)
        self._warm_up_timer = QTimer(self)  # started after the canvas's first paint
        self._warm_up_timer.setSingleShot(True)
        self._warm_up_timer.timeout.connect(self._warm_up)
        self._warm_up_pending = True
        self.canvas.viewport().installEventFilter(self)

        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_history_dock()
        self._build_status_bar()
        self._connect()
        self._update_title()
        self._on_document_changed()

    # --- construction ---------------------------------------------------------------------
    def _choices(self, items, tip: str) -> tuple[QActionGroup, dict]:
        """One exclusive group of checkable actions from (value, text) items; (group,
        {value: action}), none checked yet."""
        group, actions = QActionGroup(self), {}
        for value, text in items:
            action = QAction(text, self)
            action.setCheckable(True)
            action.setData(value)
            action.setStatusTip(tip)
            group.addAction(action)
            actions[value] = action
        return group, actions

    def _action(self, text: str, slot, shortcuts=(), tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcuts:
            action.setShortcuts([QKeySequence(s) for s in shortcuts])
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work even when menus/toolbars are hidden
        return action

    def _build_actions(self) -> None:
        c = self.canvas
        self.open_action = self._action("&Open…", lambda: self.open_file(), ["Ctrl+O"])
        self.save_action = self._action("&Save", lambda: self.save(), ["Ctrl+S"])
        self.save_as_action = self._action(
            "Save &As…", lambda: self.save_as(), [QKeySequence("Ctrl+Shift+S")]
        )
        self.open_project_action = self._action(
            "Open P&roject…",
            lambda: self.open_project(),
            ["Ctrl+Alt+O"],
            "Open a .inpaint project with its whole undo history",
        )
        self.save_project_action = self._action(
            "Save &Project…",
            lambda: self.save_project_as(),
            ["Ctrl+Alt+S"],
            "Save photo, mask and every undo step as a .inpaint project",
        )
        self.quit_action = self._action("&Quit", self.close, ["Ctrl+Q"])
        self.undo_action = self._action("&Undo", self.controller.undo, ["Ctrl+Z"])
        self.redo_action = self._action("&Redo", self.controller.redo, ["Ctrl+Shift+Z", "Ctrl+Y"])
        self.clear_mask_action = self._action(
            "&Clear mask", self.controller.clear_mask, ["Ctrl+Shift+X"], "Erase the whole mask"
        )
        self.grow_mask_action = self._action(
            "&Grow mask",
            lambda: self.controller.grow_mask(MASK_STEP),
            ["Ctrl+]"],
            f"Grow the mask by {MASK_STEP} px: takes in the light halo and JPEG fringe that "
            "dust and scratches leave just outside a tight mask",
        )
        self.shrink_mask_action = self._action(
            "S&hrink mask",
            lambda: self.controller.grow_mask(-MASK_STEP),
            ["Ctrl+["],
            f"Shrink the mask by {MASK_STEP} px",
        )
        self.detect_action = self._action(
            "&Detect dust && scratches",
            lambda: self.detect_damage(),
            ["Ctrl+D"],
            "Find dust specks, scratches and creases and add them to the mask (one undo "
            "step): check the mask, erase what is not damage, then Inpaint",
        )
        self.detect_action.setIconText("Detect damage")
        self.detect_within_action = self._action(
            "Detect &within mask",
            lambda: self.detect_damage(within_mask=True),
            ["Ctrl+Shift+D"],
            "Paint roughly over a damaged area first: keeps only the dust and scratches found "
            "there (one undo step)",
        )
        self.sensitivity_group, self.sensitivity_actions = self._choices(
            [(percent, f"{name} ({percent}%)") for percent, name in DETECT_LEVELS],
            "How faint damage Detect dust & scratches looks for: higher finds more, and "
            "takes more of the photo's own thin details for damage",
        )
        nearest = min(
            self.sensitivity_actions, key=lambda p: abs(p - self.settings.detect_sensitivity)
        )
        self.sensitivity_actions[nearest].setChecked(True)
        self.polarity_group, self.polarity_actions = self._choices(
            DETECT_POLARITIES,
            "Which damage Detect dust & scratches keeps: lighter or darker than the photo "
            "around it. Picking the scan's own kind flags far less of the photo by mistake",
        )
        self.polarity_actions[self.settings.detect_polarity].setChecked(True)
        self.load_mask_action = self._action(
            "&Load mask…",
            lambda: self.load_mask_file(),
            ["Ctrl+Shift+M"],
            "Add a mask image (white = fill, the photo's size) to the painted mask",
        )
        self.save_mask_action = self._action(
            "Save &mask as PNG…",
            lambda: self.save_mask_file(),
            [],
            "Save the painted mask to reuse it later or in other tools",
        )
        self.fit_action = self._action("&Fit to window", c.fit, ["Ctrl+0"])
        self.actual_size_action = self._action("&100%", c.actual_size, ["Ctrl+1"])
        self.zoom_in_action = self._action(
            "Zoom &in", lambda: c.zoom_by(1.25), [QKeySequence.StandardKey.ZoomIn, "Ctrl+="]
        )
        self.zoom_out_action = self._action(
            "Zoom &out", lambda: c.zoom_by(0.8), [QKeySequence.StandardKey.ZoomOut]
        )
        self.brush_action = self._action(
            "&Brush", lambda: c.set_tool(Tool.BRUSH), ["B"], "Paint what to remove"
        )
        self.eraser_action = self._action(
            "&Eraser", lambda: c.set_tool(Tool.ERASER), ["E"], "Erase the mask"
        )
        self.lasso_action = self._action(
            "&Lasso",
            lambda: c.set_tool(Tool.LASSO),
            ["L"],
            "Draw an outline around what to remove; release fills it (right drag: takes it out)",
        )
        group = QActionGroup(self)
        for action in (self.brush_action, self.eraser_action, self.lasso_action):
            action.setCheckable(True)
            group.addAction(action)
        self.brush_action.setChecked(True)
        self.smaller_action = self._action("S&maller brush", lambda: c.adjust_brush_size(-1), ["["])
        self.larger_action = self._action("&Larger brush", lambda: c.adjust_brush_size(1), ["]"])
        self.inpaint_action = self._action(
            "&Inpaint", self.inpaint, ["Return", "Enter"], "Fill the masked area"
        )
        self.cancel_action = self._action("&Cancel", self.controller.cancel_inpaint, ["Esc"])
        self.cancel_action.setEnabled(False)
        self.grain_action = self._action(
            "Match &grain",
            lambda: None,
            ["G"],
            "Give large fills the fine grain of the photo around them (film grain, noise), "
            "so they do not show as smooth smudges",
        )
        self.grain_action.setCheckable(True)
        self.grain_action.setChecked(bool(self.settings.match_grain))
        self.thin_damage_action = self._action(
            "Best quality for &thin damage on big photos",
            lambda: None,
            tip="Thin scratches on very big photos reach the model wider: about 0.6 dB more "
            "accurate fills there, at about 1.25x the time",
        )
        self.thin_damage_action.setCheckable(True)
        self.thin_damage_action.setChecked(bool(self.settings.best_thin_damage))

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        for a in (self.open_action, self.save_action, self.save_as_action):
            file_menu.addAction(a)
        file_menu.addSeparator()
        file_menu.addAction(self.open_project_action)
        file_menu.addAction(self.save_project_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = bar.addMenu("&Edit")
        for a in (self.undo_action, self.redo_action, self.clear_mask_action):
            edit_menu.addAction(a)
        edit_menu.addAction(self.grow_mask_action)
        edit_menu.addAction(self.shrink_mask_action)
        edit_menu.addSeparator()
        edit_menu.addAction(self.detect_action)
        edit_menu.addAction(self.detect_within_action)
        sensitivity_menu = edit_menu.addMenu("Detection &sensitivity")
        for action in self.sensitivity_actions.values():
            sensitivity_menu.addAction(action)
        polarity_menu = edit_menu.addMenu("Damage to &find")
        for action in self.polarity_actions.values():
            polarity_menu.addAction(action)
        edit_menu.addSeparator()
        edit_menu.addAction(self.load_mask_action)
        edit_menu.addAction(self.save_mask_action)
        self.view_menu = bar.addMenu("&View")
        for a in (self.fit_action, self.actual_size_action, self.zoom_in_action):
            self.view_menu.addAction(a)
        self.view_menu.addAction(self.zoom_out_action)
        tools_menu = bar.addMenu("&Tools")
        tools = (self.brush_action, self.eraser_action, self.lasso_action)
        for a in (*tools, self.smaller_action, self.larger_action):
            tools_menu.addAction(a)
        tools_menu.addSeparator()
        tools_menu.addAction(self.grain_action)
        tools_menu.addAction(self.thin_damage_action)
        tools_menu.addAction(self.inpaint_action)
        tools_menu.addAction(self.cancel_action)

    def _build_toolbar(self) -> None:
        bar = self.addToolBar("Tools")
        bar.setObjectName("tools")
        bar.addAction(self.brush_action)
        bar.addAction(self.eraser_action)
        bar.addAction(self.lasso_action)
        self.size_spin = QSpinBox()
        self.size_spin.setRange(1, MAX_BRUSH_SIZE)
        self.size_spin.setSuffix(" px")
        self.size_spin.setToolTip("Brush size ([ and ])")
        self.size_spin.setValue(self.canvas.brush_size)
        bar.addWidget(self.size_spin)
        bar.addAction(self.clear_mask_action)
        bar.addAction(self.detect_action)
        bar.addSeparator()
        bar.addWidget(QLabel(" Model "))
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("Inpainting method")
        self.populate_models()
        bar.addWidget(self.model_combo)
        bar.addWidget(QLabel(" Device "))
        self.device_combo = DeviceCombo()
        self.device_combo.setCurrentIndex(max(0, self.device_combo.findData(self.settings.device)))
        bar.addWidget(self.device_combo)
        bar.addAction(self.grain_action)
        self.grain_spin = QSpinBox()
        self.grain_spin.setRange(10, 400)
        self.grain_spin.setSingleStep(10)
        self.grain_spin.setSuffix(" %")
        self.grain_spin.setToolTip(
            "Match grain strength: 100% gives a large fill as much grain as the photo has around it"
        )
        self.grain_spin.setValue(self.settings.grain_percent)
        self.grain_spin.setEnabled(self.grain_action.isChecked())
        self.grain_action.toggled.connect(self.grain_spin.setEnabled)
        bar.addWidget(self.grain_spin)
        bar.addAction(self.inpaint_action)

    def populate_models(self) -> None:
        """Fill the model combo from registry.available(); unavailable ones are disabled."""
        combo = self.model_combo
        combo.clear()
        try:
            from inpaint_studio.backends import registry

            entries = registry.available()
            default = self.settings.default_backend or registry.DEFAULT_BACKEND
        except Exception as exc:  # a broken plugin must not stop the editor from opening
            self.statusBar().showMessage(f"No inpainting models: {exc}")
            return
        model = combo.model()
        for info, ok, reason in entries:
            combo.addItem(info.title, info.name)
            index = combo.count() - 1
            tip = info.description if ok else f"Unavailable: {reason}"
            combo.setItemData(index, tip, Qt.ItemDataRole.ToolTipRole)
            if not ok and isinstance(model, QStandardItemModel):
                model.item(index).setEnabled(False)
        index = combo.findData(default)
        if index < 0 or not entries[index][1]:  # default unavailable: first usable model
            index = next((i for i, entry in enumerate(entries) if entry[1]), -1)
        combo.setCurrentIndex(index)

    def _build_history_dock(self) -> None:
        self.history_view = QUndoView(self.stack)
        self.history_view.setEmptyLabel("Opened photo")
        self.history_dock = QDockWidget("History", self)
        self.history_dock.setObjectName("history")
        self.history_dock.setWidget(self.history_view)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.history_dock)
        toggle = self.history_dock.toggleViewAction()
        toggle.setText("Show &History panel")
        self.view_menu.addSeparator()
        self.view_menu.addAction(toggle)

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.zoom_label = QLabel()
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(160)
        self.progress_bar.setRange(0, 0)
        self.progress_bar.setVisible(False)
        status.addPermanentWidget(self.progress_bar)
        status.addPermanentWidget(self.zoom_label)

    def _connect(self) -> None:
        c, ctl, stack = self.canvas, self.controller, self.stack
        self.size_spin.valueChanged.connect(c.set_brush_size)
        c.brush_size_changed.connect(self.size_spin.setValue)
        c.tool_changed.connect(self._on_tool_changed)
        c.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f}%"))
        stack.cleanChanged.connect(lambda _clean: self._update_title())
        stack.canUndoChanged.connect(self.undo_action.setEnabled)
        stack.canRedoChanged.connect(self.redo_action.setEnabled)
        stack.undoTextChanged.connect(lambda t: self.undo_action.setText(f"&Undo {t}".strip()))
        stack.redoTextChanged.connect(lambda t: self.redo_action.setText(f"&Redo {t}".strip()))
        stack.steps_evicted.connect(lambda _n: self.history_view.setEmptyLabel("Oldest kept state"))
        ctl.document_changed.connect(self._on_document_changed)
        ctl.busy_changed.connect(self._on_busy_changed)
        ctl.progress.connect(self._on_progress)
        ctl.status.connect(lambda text: self.statusBar().showMessage(text, 8000))
        ctl.error.connect(lambda text: dialogs.show_error(self, APP_TITLE, text))
        ctl.autosave.written.connect(self._on_autosave_written)
        self.undo_action.setEnabled(stack.canUndo())
        self.redo_action.setEnabled(stack.canRedo())

    # --- reactions ------------------------------------------------------------------------
    def _on_tool_changed(self, tool: Tool) -> None:
        actions = {Tool.ERASER: self.eraser_action, Tool.LASSO: self.lasso_action}
        actions.get(tool, self.brush_action).setChecked(True)

    def _on_document_changed(self) -> None:
        has_doc = self.controller.document is not None
        for action in (
            self.save_action,
            self.save_as_action,
            self.save_project_action,
            self.clear_mask_action,
            self.grow_mask_action,
            self.detect_action,
            self.detect_within_action,
            self.shrink_mask_action,
            self.load_mask_action,
            self.save_mask_action,
            self.inpaint_action,
        ):
            action.setEnabled(has_doc)
        oldest = "Oldest kept state" if self.stack.evicted else "Opened photo"
        self.history_view.setEmptyLabel(oldest)
        self._update_title()
        if has_doc:
            self.canvas.setFocus()

    def _on_busy_changed(self, busy: bool) -> None:
        self.progress_bar.setVisible(busy)
        self.progress_bar.setRange(0, 0)
        self.cancel_action.setEnabled(busy)

    def _on_progress(self, done: int, total: int) -> None:
        if total > 1:
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(done)
        else:
            self.progress_bar.setRange(0, 0)

    def _on_autosave_written(self, error: str) -> None:
        if error:  # editing goes on; the previous autosave (if any) is still intact
            self.statusBar().showMessage(error, 15000)

    def _update_title(self) -> None:
        doc = self.controller.document
        modified = self.controller.is_modified()
        if doc is None:
            self.setWindowTitle(APP_TITLE)
            return
        name = doc.path.name if doc.path is not None else "Untitled"
        self.setWindowTitle(f"{name}{'*' if modified else ''} — {APP_TITLE}")

    # --- commands -------------------------------------------------------------------------
    def confirm_discard(self) -> bool:
        """True if there are no unsaved edits or the user agrees to lose them."""
        if not self.controller.is_modified():
            return True
        return dialogs.ask_yes_no(self, APP_TITLE, "The photo has unsaved changes. Discard them?")

    def open_file(self, path: str | Path | None = None) -> bool:
        """Open a photo or project `path` (or ask for one); errors and load warnings are
        shown before editing starts; False on failure (the current document stays)."""
        if not self.confirm_discard():
            return False
        if path is None:
            path = dialogs.get_open_path(self, self.settings.last_folder)
            if not path:
                return False
        return self._open(path)

    def _open(self, path: str | Path) -> bool:
        try:
            warnings = self.controller.open_path(path)
        except InpaintStudioError as exc:
            dialogs.show_error(self, APP_TITLE, str(exc))
            return False
        self.settings = dataclasses.replace(self.settings, last_folder=str(Path(path).parent))
        if warnings:  # something was lost: say so before any edit
            text = " ".join(warnings)
            self.statusBar().showMessage(text, 15000)
            dialogs.show_warning(self, APP_TITLE, text)
        elif notices := self.controller.load_notices:  # e.g. a 16-bit master: status bar only
            self.statusBar().showMessage(f"Opened {Path(path).name}. " + " ".join(notices), 15000)
        else:
            self.statusBar().showMessage(f"Opened {Path(path).name}", 5000)
        return True

    def open_project(self, path: str | Path | None = None) -> bool:
        """Open a .inpaint project (or ask for one); same checks as open_file."""
        if path is None:
            if not self.confirm_discard():
                return False
            path = dialogs.get_open_project_path(self, self.settings.last_folder)
            if not path:
                return False
            return self._open(path)
        return self.open_file(path)

    def save(self) -> bool:
        """Ctrl+S: write back to the opened file or project (asks before overwriting the
        original photo)."""
        doc = self.controller.document
        if doc is None:
            return False
        path = doc.path
        if path is not None and is_project_path(path):
            return self._save_project_to(path)
        if path is None or path.suffix.lower() not in SAVE_EXTENSIONS:
            return self.save_as()
        return self._save_to(path)

    def save_project_as(self, path: str | Path | None = None) -> bool:
        """Ctrl+Alt+S: save the session (photo, mask, whole history) as a .inpaint project."""
        doc = self.controller.document
        if doc is None:
            return False
        if path is None:
            suggested = ""
            if doc.path is not None:
                suggested = str(doc.path.with_suffix(PROJECT_SUFFIX))
            path = dialogs.get_project_save_path(self, suggested)
            if not path:
                return False
        path = Path(path)
        if not is_project_path(path):
            path = path.with_name(path.name + PROJECT_SUFFIX)
        return self._save_project_to(path)

    def _save_project_to(self, path: Path) -> bool:
        try:
            self.controller.save_project(path)
        except InpaintStudioError as exc:
            dialogs.show_error(self, APP_TITLE, str(exc))
            return False
        self._update_title()
        return True

    def offer_recovery(self) -> bool:
        """At start-up: offer each session that crashed (newest first); True if one was
        recovered. A declined session is deleted, an unreadable one renamed *.damaged."""
        autosave = self.controller.autosave
        for orphan in autosave.orphans():
            question = (
                f"Inpaint Studio did not close properly while editing {autosave.describe(orphan)}. "
                "Recover the unsaved work? (No deletes it.)"
            )
            if not dialogs.ask_yes_no(self, APP_TITLE, question):
                autosave.remove(orphan)
                continue
            try:
                self.controller.recover(orphan)
            except InpaintStudioError as exc:
                autosave.set_aside(orphan)
                dialogs.show_error(self, APP_TITLE, str(exc))
                continue
            self._update_title()
            return True
        return False

    def save_as(self, path: str | Path | None = None) -> bool:
        """Ctrl+Shift+S: export to a new file; the format comes from the extension."""
        doc = self.controller.document
        if doc is None:
            return False
        if path is None:
            suggested = ""
            if doc.path is not None:
                suffix = _export_suffix(doc)
                suggested = str(doc.path.with_name(f"{doc.path.stem}-edited{suffix}"))
            path = dialogs.get_save_path(self, suggested)
            if not path:
                return False
        path = Path(path)
        if not path.suffix:
            path = path.with_suffix(_export_suffix(doc))
        return self._save_to(path)

    def _save_to(self, path: Path) -> bool:
        if self.controller.needs_overwrite_confirmation(path):
            question = f"Overwrite the original photo {path.name}? This cannot be undone."
            if not dialogs.ask_yes_no(self, APP_TITLE, question):
                return False
            self.controller.confirm_overwrite(path)
        if not self._busy(f"Saving {path.name}…", lambda: self.controller.save(path)):
            return False
        self._update_title()
        return True

    def _busy(self, message: str, call) -> bool:
        """Run a slow controller call (an export, a detection: seconds on 100 MP) with a wait
        cursor while the window keeps painting (qt/blocking.py); False after showing its
        error."""
        self.statusBar().showMessage(message)
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        self._busy_call = True
        error = None
        try:
            call()
        except InpaintStudioError as exc:
            error = str(exc)
        finally:
            self._busy_call = False
            QApplication.restoreOverrideCursor()
        if error is not None:
            self.statusBar().clearMessage()
            dialogs.show_error(self, APP_TITLE, error)
            return False
        return True

    def detect_damage(self, within_mask: bool = False) -> bool:
        """Edit > Detect dust & scratches: add what the detector finds to the mask; Detect
        within mask: keep only what it finds in the painted area (one undo step each); False
        if no photo is open or it failed (the message is shown)."""
        if self.controller.document is None or self._busy_call:
            return False
        sensitivity, polarity = self.detect_sensitivity() / 100, self.detect_polarity()
        return self._busy(
            "Looking for dust and scratches…",
            lambda: self.controller.detect_damage(sensitivity, polarity, within_mask),
        )

    def load_mask_file(self, path: str | Path | None = None) -> bool:
        """Edit > Load mask: add a mask file to the painted mask (one undo step)."""
        if self.controller.document is None:
            return False
        if path is None:
            path = dialogs.get_open_mask_path(self, self.settings.last_folder)
            if not path:
                return False
        try:
            changed = self.controller.load_mask(path)
        except InpaintStudioError as exc:
            dialogs.show_error(self, APP_TITLE, str(exc))
            return False
        message = f"Loaded mask {Path(path).name}" if changed else "The mask file adds nothing"
        self.statusBar().showMessage(message, 5000)
        return changed

    def save_mask_file(self, path: str | Path | None = None) -> bool:
        """Edit > Save mask as PNG."""
        doc = self.controller.document
        if doc is None:
            return False
        if path is None:
            suggested = str(doc.path.with_name(doc.path.stem + "_mask.png")) if doc.path else ""
            path = dialogs.get_mask_save_path(self, suggested)
            if not path:
                return False
        try:
            written = self.controller.save_mask(path)
        except InpaintStudioError as exc:
            dialogs.show_error(self, APP_TITLE, str(exc))
            return False
        self.statusBar().showMessage(f"Saved mask {written.name}", 5000)
        return True

    def inpaint(self) -> int | None:
        """Enter: fill the mask with the chosen model on the chosen device."""
        backend = self.model_combo.currentData()
        if not backend:
            dialogs.show_error(self, APP_TITLE, "No inpainting model is available.")
            return None
        settings = self.current_settings()
        return self.controller.start_inpaint(
            backend,
            self.device_combo.currentData(),
            grain=settings.grain_strength,
            min_hole_width=settings.min_hole_width,
        )

    def current_settings(self) -> Settings:
        """Settings with what the user changed in this window (brush, model, device, grain,
        thin damage quality)."""
        return dataclasses.replace(
            self.settings,
            brush_size=self.canvas.brush_size,
            default_backend=self.model_combo.currentData() or self.settings.default_backend,
            device=self.device_combo.currentData() or "auto",
            match_grain=int(self.grain_action.isChecked()),
            grain_percent=self.grain_spin.value(),
            best_thin_damage=int(self.thin_damage_action.isChecked()),
            detect_sensitivity=self.detect_sensitivity(),
            detect_polarity=self.detect_polarity(),
        )

    def detect_sensitivity(self) -> int:
        """The checked Detection sensitivity, % (Edit menu)."""
        checked = self.sensitivity_group.checkedAction()
        return int(checked.data()) if checked is not None else self.settings.detect_sensitivity

    def detect_polarity(self) -> str:
        """The checked Damage to find: "both", "light" or "dark" (Edit menu)."""
        checked = self.polarity_group.checkedAction()
        return str(checked.data()) if checked is not None else self.settings.detect_polarity

    def _warm_up(self) -> None:
        """Load the selected model on the worker thread (neural models only; see controller)."""
        backend = self.model_combo.currentData()
        if backend and self.isVisible():
            self.controller.warm_up(backend, self.device_combo.currentData())

    # --- Qt overrides ---------------------------------------------------------------------
    def eventFilter(self, obj, event) -> bool:  # Qt override
        """Start the model warm-up timer once the canvas has first been painted, so a slow
        start (big photo, busy CPU) never imports torch before the photo is on screen."""
        if (
            self._warm_up_pending
            and obj is self.canvas.viewport()
            and event.type() == QEvent.Type.Paint
        ):
            self._warm_up_pending = False
            self.canvas.viewport().removeEventFilter(self)
            self._warm_up_timer.start(WARM_UP_DELAY_MS)
        return super().eventFilter(obj, event)

    def closeEvent(self, event) -> None:  # Qt override
        if self._busy_call:  # an export or a detection is running: close once it is done
            event.ignore()
            return
        if not self.confirm_discard():
            event.ignore()
            return
        self._warm_up_timer.stop()
        self.controller.shutdown()
        self.stack.blockSignals(True)  # its destructor emits cleanChanged into a dying window
        if self._persist_settings:
            save_settings(self.current_settings())
        event.accept()

    def dragEnterEvent(self, event) -> None:  # Qt override
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # Qt override
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()
            self.open_file(urls[0].toLocalFile())
