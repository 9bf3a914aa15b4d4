"""Modal questions and file pickers, in one place so tests can replace them."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

IMAGE_FILTER = (
    "Images and projects (*.jpg *.jpeg *.png *.tif *.tiff *.webp *.bmp *.gif *.inpaint);;"
    "Images (*.jpg *.jpeg *.png *.tif *.tiff *.webp *.bmp *.gif);;"
    "Inpaint Studio projects (*.inpaint);;All files (*)"
)
PROJECT_FILTER = "Inpaint Studio projects (*.inpaint)"
SAVE_FILTER = "JPEG (*.jpg *.jpeg);;PNG (*.png);;TIFF (*.tif *.tiff);;WebP (*.webp);;BMP (*.bmp)"


def ask_yes_no(parent: QWidget | None, title: str, text: str) -> bool:
    """Modal Yes/No question; True for Yes."""
    answer = QMessageBox.question(
        parent,
        title,
        text,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes


def show_error(parent: QWidget | None, title: str, text: str) -> None:
    QMessageBox.warning(parent, title, text)


def show_warning(parent: QWidget | None, title: str, text: str) -> None:
    QMessageBox.information(parent, title, text)


def get_open_path(parent: QWidget | None, folder: str = "") -> str | None:
    path, _ = QFileDialog.getOpenFileName(parent, "Open photo", folder, IMAGE_FILTER)
    return path or None


def get_save_path(parent: QWidget | None, suggested: str = "") -> str | None:
    path, _ = QFileDialog.getSaveFileName(parent, "Save photo as", suggested, SAVE_FILTER)
    return path or None


def get_open_project_path(parent: QWidget | None, folder: str = "") -> str | None:
    path, _ = QFileDialog.getOpenFileName(parent, "Open project", folder, PROJECT_FILTER)
    return path or None


def get_project_save_path(parent: QWidget | None, suggested: str = "") -> str | None:
    path, _ = QFileDialog.getSaveFileName(parent, "Save project as", suggested, PROJECT_FILTER)
    return path or None


MASK_FILTER = "Masks (*.png *.bmp *.tif *.tiff *.webp);;All files (*)"


def get_open_mask_path(parent: QWidget | None, folder: str = "") -> str | None:
    path, _ = QFileDialog.getOpenFileName(parent, "Load mask (white = fill)", folder, MASK_FILTER)
    return path or None


def get_mask_save_path(parent: QWidget | None, suggested: str = "") -> str | None:
    path, _ = QFileDialog.getSaveFileName(parent, "Save mask as PNG", suggested, "PNG (*.png)")
    return path or None
