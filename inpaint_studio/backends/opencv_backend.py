"""Classic diffusion inpainting with OpenCV: Telea (fast marching) and Navier-Stokes."""

from __future__ import annotations

import cv2
import numpy as np

from inpaint_studio.backends.base import BackendInfo, composite
from inpaint_studio.errors import BackendError

DEFAULT_RADIUS = 5

TELEA_INFO = BackendInfo(
    name="telea",
    title="Telea (OpenCV)",
    description="Fast-marching diffusion from the hole edge; instant, good for thin scratches "
    "and small spots, blurry on large holes.",
    working_size=None,
    neural=False,
)

NS_INFO = BackendInfo(
    name="ns",
    title="Navier-Stokes (OpenCV)",
    description="Fluid-dynamics diffusion that continues edges into the hole; fast, good for "
    "thin scratches, blurry on large holes.",
    working_size=None,
    neural=False,
)


def _check(image: np.ndarray, mask: np.ndarray) -> None:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise BackendError(f"Expected an RGB 8-bit image, got {image.dtype} {image.shape}.")
    if mask.dtype != np.uint8 or mask.shape != image.shape[:2]:
        raise BackendError(
            f"Expected a {image.shape[:2]} 8-bit mask, got {mask.dtype} {mask.shape}."
        )


class OpenCVInpainter:
    """cv2.inpaint with a fixed method; runs on the CPU, needs no weights."""

    info: BackendInfo = TELEA_INFO
    method: int = cv2.INPAINT_TELEA

    def __init__(self, radius: int = DEFAULT_RADIUS) -> None:
        self.radius = int(radius)

    def load(self, device: str = "cpu") -> None:
        """Nothing to load; OpenCV always runs on the CPU whatever device is asked for."""

    def inpaint(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """(H,W,3) uint8 RGB + (H,W) uint8 mask (non-zero = fill) -> (H,W,3) uint8."""
        _check(image, mask)
        if not mask.any():
            return image.copy()
        hole = np.where(mask != 0, np.uint8(255), np.uint8(0))
        try:
            filled = cv2.inpaint(np.ascontiguousarray(image), hole, self.radius, self.method)
        except cv2.error as exc:
            raise BackendError(f"OpenCV inpainting failed: {exc.err or exc}") from exc
        return composite(image, filled, hole)

    def unload(self) -> None:
        """Nothing to free."""


class TeleaInpainter(OpenCVInpainter):
    """cv2.INPAINT_TELEA ("telea")."""

    info = TELEA_INFO
    method = cv2.INPAINT_TELEA


class NavierStokesInpainter(OpenCVInpainter):
    """cv2.INPAINT_NS ("ns")."""

    info = NS_INFO
    method = cv2.INPAINT_NS
