"""The built-in "ours" backend: the project's own FFC inpainting network (weights shipped)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from inpaint_studio.backends.base import BackendInfo, composite
from inpaint_studio.core.regions import hole_width
from inpaint_studio.errors import BackendError, BackendUnavailable, OutOfMemory
from inpaint_studio.paths import resources_dir

WEIGHTS_NAME = "inpaint_ffc.pt"

# Smallest padded input side: the 1/8 bottleneck needs >= 2 px for its reflect padding.
MIN_INPUT_SIZE = 16

# Holes at most this wide (model input px, core.regions.hole_width) skip the FFC network:
# thin damage is filled by the prior and the coarse corrector alone. On held-out training
# photos the network added nothing there (model card History 14) and it is 55-60% of a
# fill's time. The region planner hands thin damage over at least 20 px wide
# (min_hole_width; 32 until 2026-12-04), so it takes the short path; 48 leaves room.
REFINE_MIN_WIDTH = 48.0

# Windows bigger than the working size (holes in big photos) go to the model at 384 px, not
# 512: a 1% mask at 48 MP then filled in 1.77-1.79x the 6 MP time instead of 2.02x (24 MP:
# 1.09-1.20 s instead of 1.50 s), for -0.04 to -0.30 dB on thin / medium / thick masks of
# 4x-upscaled photos; scratches and dust are tiled at their own scale and unchanged
# (docs/benchmarks.md sections 1 and 5).
SCALED_SIZE = 384

INFO = BackendInfo(
    name="ours",
    title="Inpaint Studio FFC (built-in)",
    description="The project's own network, trained on natural photos: a smooth prior, a "
    "learned corrector and, for holes wider than 48 px, a Fast Fourier Convolution network.",
    pad_multiple=8,
    working_size=512,
    scaled_size=SCALED_SIZE,
    supports_cuda=True,
    neural=True,
)


FAST_INFO = BackendInfo(
    name="ours-fast",
    title="Inpaint Studio prior + corrector (fast)",
    description="The built-in model without its FFC network on any hole: the smooth prior and "
    "the learned coarse corrector only. On holes wider than 48 px about twice as fast as the "
    "default; on held-out photos as accurate.",
    pad_multiple=INFO.pad_multiple,
    working_size=INFO.working_size,
    scaled_size=INFO.scaled_size,
    supports_cuda=True,
    neural=True,
)


def default_weights_path() -> Path:
    """resources/models/inpaint_ffc.pt."""
    return resources_dir() / "models" / WEIGHTS_NAME


def is_available() -> tuple[bool, str]:
    """Cheap check (no torch import): the shipped weights file exists."""
    path = default_weights_path()
    if path.is_file():
        return True, ""
    return False, f"weights file {path} is missing"


def _load_channels_last(weights: Path, device: str):
    """(InpaintNet in channels_last memory format on device, its prior traced, meta dict)
    from a weights file."""
    import torch

    from inpaint_studio.backends.weights import load_weights

    net, meta = load_weights(weights, device)
    net = net.to(memory_format=torch.channels_last)
    net.trace_prior()
    return net, meta


class NeuralInpainter:
    """Our network on CPU (bf16 where supported) or CUDA (bf16/fp16 autocast)."""

    info = INFO
    refine_min_width = REFINE_MIN_WIDTH  # holes up to this wide skip the FFC network

    def __init__(self, weights: str | Path | None = None, precision: str = "auto"):
        self.weights = Path(weights) if weights else default_weights_path()
        self.requested_precision = precision
        self.precision = "fp32"
        self.device = "cpu"
        self.net = None
        self.meta: dict = {}

    def load(self, device: str = "cpu") -> None:
        """Load weights onto device ("cpu" | "cuda" | "auto"); raises BackendError."""
        import torch

        from inpaint_studio.backends.base import resolve_device
        from inpaint_studio.backends.torch_utils import off_thread, pick_precision, short_reason

        if not self.weights.is_file():
            raise BackendUnavailable(f"Model weights not found: {self.weights}")
        self.device = resolve_device(device)
        try:
            net, self.meta = off_thread(_load_channels_last, self.weights, self.device)
        except (MemoryError, torch.cuda.OutOfMemoryError) as exc:
            raise OutOfMemory(
                f"Not enough memory to load the built-in model on {self.device}."
            ) from exc
        except ValueError as exc:  # our own format checks: already one clear sentence
            raise BackendError(f"Cannot load model weights: {exc}") from exc
        except Exception as exc:  # noqa: BLE001 - truncated zip, pickle, EOF, CUDA errors...
            raise BackendError(
                f"Cannot load model weights {self.weights.name}: the file is damaged or not an "
                f"Inpaint Studio weights file ({short_reason(exc)})"
            ) from exc
        self.net = net
        self.precision = pick_precision(self.device, self.requested_precision)

    def inpaint(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """(H,W,3) uint8 RGB + (H,W) uint8 mask (255 = fill) -> (H,W,3) uint8, known kept."""
        if self.net is None:
            raise BackendError("The model is not loaded.")
        if not mask.any():
            return image.copy()
        import torch

        from inpaint_studio.backends.torch_utils import (
            autocast_for,
            map_torch_errors,
            to_image,
            to_tensors,
        )

        with map_torch_errors("The built-in model"), torch.inference_mode():
            img, m, size = to_tensors(
                image, mask, self.device, INFO.pad_multiple, min_size=MIN_INPUT_SIZE
            )
            x = torch.cat([img * (1 - m), m], dim=1).contiguous(memory_format=torch.channels_last)
            refine = hole_width(mask) > self.refine_min_width
            with autocast_for(self.device, self.precision):
                out = self.net(x, refine=refine)
            filled = to_image(out, size)
        return composite(image, filled, mask)

    def unload(self) -> None:
        """Drop the network (and CUDA cache)."""
        self.net = None
        if self.device == "cuda":
            import torch

            torch.cuda.empty_cache()


class FastNeuralInpainter(NeuralInpainter):
    """The shipped weights' prior + coarse corrector, without the FFC network ("ours-fast")."""

    info = FAST_INFO
    refine_min_width = math.inf
