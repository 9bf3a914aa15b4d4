"""PatchMatch inpainting (copies patches from the rest of the image) via PyPatchMatch."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import numpy as np

from inpaint_studio.backends.base import BackendInfo, composite
from inpaint_studio.errors import BackendError, BackendUnavailable

DEFAULT_PATCH_SIZE = 3  # patch radius: compared patches are 7x7 px

INFO = BackendInfo(
    name="patchmatch",
    title="PatchMatch",
    description="Fills holes with patches copied from the rest of the image; keeps texture "
    "sharp, no understanding of objects. Large crops are downscaled to 1024 px.",
    working_size=1024,
    neural=False,
)

_INSTALL_HINT = "install the PyPatchMatch package (pip install PyPatchMatch)"


def is_available() -> tuple[bool, str]:
    """Cheap check without importing the package: (ok, reason shown when not ok)."""
    if importlib.util.find_spec("patchmatch") is None:
        return False, f"PatchMatch is not installed: {_INSTALL_HINT}."
    return True, ""


class PatchMatchInpainter:
    """PyPatchMatch ``patch_match.inpaint``; CPU only, deterministic for a fixed seed."""

    info: BackendInfo = INFO

    def __init__(self, patch_size: int = DEFAULT_PATCH_SIZE, seed: int | None = 0) -> None:
        self.patch_size = int(patch_size)
        self.seed = seed
        self._pm: ModuleType | None = None

    def load(self, device: str = "cpu") -> None:
        """Import PyPatchMatch and its native library; raises BackendUnavailable."""
        if self._pm is not None:
            return
        try:
            from patchmatch import patch_match
        except Exception as exc:  # ImportError, or OSError from the native library
            raise BackendUnavailable(
                f"PatchMatch could not be loaded ({exc}): {_INSTALL_HINT}."
            ) from exc
        if not getattr(patch_match, "patchmatch_available", True):
            raise BackendUnavailable(
                "PatchMatch's native library could not be loaded; reinstall PyPatchMatch "
                "(pip install --force-reinstall PyPatchMatch)."
            )
        self._pm = patch_match

    def inpaint(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """(H,W,3) uint8 RGB + (H,W) uint8 mask (non-zero = fill) -> (H,W,3) uint8."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise BackendError(f"Expected an RGB 8-bit image, got {image.dtype} {image.shape}.")
        if mask.dtype != np.uint8 or mask.shape != image.shape[:2]:
            raise BackendError(
                f"Expected a {image.shape[:2]} 8-bit mask, got {mask.dtype} {mask.shape}."
            )
        if not mask.any():
            return image.copy()
        if self._pm is None:
            self.load()
        pm = self._pm
        # PyPatchMatch: mask non-zero = hole; 0/255 also works with the original 1.x API
        hole = np.where(mask != 0, np.uint8(255), np.uint8(0))
        if mask.all():
            raise BackendError("PatchMatch needs some known pixels around the hole to copy from.")
        try:
            if self.seed is not None and hasattr(pm, "set_random_seed"):
                pm.set_random_seed(self.seed)
            filled = pm.inpaint(np.ascontiguousarray(image), hole, patch_size=self.patch_size)
        except (RuntimeError, ValueError, OSError) as exc:
            raise BackendError(f"PatchMatch failed: {exc}") from exc
        return composite(image, np.asarray(filled, dtype=np.uint8), hole)

    def unload(self) -> None:
        """Drop the module reference (the native library stays loaded by Python)."""
        self._pm = None
