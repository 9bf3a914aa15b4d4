"""Our model blended with PatchMatch: as accurate, a little texture in large holes, slower."""

from __future__ import annotations

import numpy as np

from inpaint_studio.backends import neural, patchmatch_backend
from inpaint_studio.backends.base import BackendInfo, composite

PATCHMATCH_WEIGHT = 0.25  # chosen on held-out training photos (resources/models/README.md)

INFO = BackendInfo(
    name="blend",
    title="Built-in + PatchMatch blend",
    description="3:1 blend of the built-in model and PatchMatch: a little texture in large "
    "holes, several times slower (PatchMatch runs on the CPU).",
    pad_multiple=1,
    working_size=neural.INFO.working_size,
    scaled_size=neural.INFO.scaled_size,
    supports_cuda=neural.INFO.supports_cuda,
    neural=True,
)


def is_available() -> tuple[bool, str]:
    """Both parts installed: (ok, reason shown when not ok)."""
    for check in (neural.is_available, patchmatch_backend.is_available):
        ok, reason = check()
        if not ok:
            return False, reason
    return True, ""


class BlendInpainter:
    """(1 - w) * ours + w * PatchMatch inside the hole (w = 0.25), known pixels kept."""

    info: BackendInfo = INFO

    def __init__(self, weight: float = PATCHMATCH_WEIGHT) -> None:
        self.weight = float(weight)
        self.model = neural.NeuralInpainter()
        self.patchmatch = patchmatch_backend.PatchMatchInpainter()

    def load(self, device: str = "cpu") -> None:
        """Load both parts; raises BackendUnavailable / BackendError like each of them."""
        self.patchmatch.load("cpu")
        self.model.load(device)

    def inpaint(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """(H,W,3) uint8 RGB + (H,W) uint8 mask (255 = fill) -> (H,W,3) uint8, known kept."""
        if not mask.any():
            return image.copy()
        ours = self.model.inpaint(image, mask).astype(np.float32)
        texture = self.patchmatch.inpaint(image, mask).astype(np.float32)
        mixed = ours + self.weight * (texture - ours)
        return composite(image, np.clip(mixed.round(), 0, 255).astype(np.uint8), mask)

    def unload(self) -> None:
        """Free both parts."""
        self.model.unload()
        self.patchmatch.unload()
