"""Inpainter protocol and backend description shared by every backend."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class BackendInfo:
    """What a backend is and what it needs from the region planner."""

    name: str
    title: str
    description: str
    pad_multiple: int = 1
    working_size: int | None = None  # longest crop side the backend works best at
    # longest side a window bigger than working_size is downscaled to (None: working_size)
    scaled_size: int | None = None
    supports_cuda: bool = False
    neural: bool = False


@runtime_checkable
class Inpainter(Protocol):
    """A loaded-on-demand inpainting method."""

    info: BackendInfo

    def load(self, device: str = "cpu") -> None:
        """Prepare for inference on device "cpu" or "cuda"; raises BackendError."""

    def inpaint(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """(H,W,3) uint8 RGB + (H,W) uint8 mask (255 = fill) -> (H,W,3) uint8, known pixels kept."""

    def unload(self) -> None:
        """Free weights and device memory."""


def composite(original: np.ndarray, filled: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Keep `original` where mask == 0 and `filled` where mask != 0; all (H,W,3) uint8."""
    out = original.copy()
    sel = mask != 0
    out[sel] = filled[sel]
    return out


def resolve_device(device: str) -> str:
    """Map "auto" | "cpu" | "cuda" to an available device name (torch imported lazily)."""
    if device == "cpu":
        return "cpu"
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return "cpu"
    has_cuda = torch.cuda.is_available()
    if device == "cuda" and not has_cuda:
        from inpaint_studio.errors import BackendError

        raise BackendError("CUDA was requested but no CUDA GPU is available to PyTorch.")
    return "cuda" if has_cuda and device in ("auto", "cuda") else "cpu"
