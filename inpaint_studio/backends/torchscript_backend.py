"""TorchScript models in the common LaMa convention, and export of ours in that convention.

Convention: `model(image, mask) -> image`, image (N,3,H,W) float RGB in [0,1], mask (N,1,H,W)
float in {0,1} (1 = fill); H and W padded to a multiple of 8. Files are found in the user
models folder (`paths.user_models_dir()`), and IOPaint's cache
`~/.cache/torch/hub/checkpoints/big-lama.pt` is listed as "lama".
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from inpaint_studio.backends.base import BackendInfo, composite
from inpaint_studio.errors import BackendError, BackendUnavailable
from inpaint_studio.paths import user_models_dir

PREFIX = "torchscript:"
MODEL_SUFFIXES = (".pt", ".pth", ".jit", ".torchscript")
PAD_MULTIPLE = 8
MIN_INPUT_SIZE = 16  # LaMa-style nets downsample 3x with reflect padding: keep >= 2 px there


def iopaint_lama_path() -> Path:
    """Where IOPaint caches big-lama.pt."""
    return Path.home() / ".cache" / "torch" / "hub" / "checkpoints" / "big-lama.pt"


def _info(name: str, path: Path) -> BackendInfo:
    return BackendInfo(
        name=name,
        title=f"TorchScript: {path.name}",
        description=f"User model {path}",
        pad_multiple=PAD_MULTIPLE,
        working_size=512,
        supports_cuda=True,
        neural=True,
    )


def _load_hint(path: Path) -> str | None:
    """Why torch.jit.load refused `path` when the file's layout tells (else None)."""
    try:
        if not zipfile.is_zipfile(path):
            return "the file is not a TorchScript archive"
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return None
    if not any(n.rsplit("/", 1)[-1] == "constants.pkl" for n in names) and any(
        n.rsplit("/", 1)[-1] == "data.pkl" for n in names
    ):
        return (
            "it is a plain PyTorch checkpoint; export the model with torch.jit.trace "
            "or torch.jit.script and save that"
        )
    return None


class TorchScriptInpainter:
    """A LaMa-convention TorchScript file run in fp32 (user models are not assumed bf16-safe)."""

    def __init__(self, path: str | Path, name: str | None = None):
        self.path = Path(path).expanduser()
        self.info = _info(name or f"{PREFIX}{self.path}", self.path)
        self.model = None
        self.device = "cpu"

    def load(self, device: str = "cpu") -> None:
        """torch.jit.load the file on device; raises BackendUnavailable/BackendError."""
        import torch

        from inpaint_studio.backends.base import resolve_device
        from inpaint_studio.backends.torch_utils import off_thread, short_reason

        if not self.path.is_file():
            raise BackendUnavailable(f"Model file not found: {self.path}")
        self.device = resolve_device(device)
        try:
            model = off_thread(torch.jit.load, str(self.path), self.device)
        except Exception as exc:  # noqa: BLE001 - any failure is a bad model file
            why = _load_hint(self.path) or short_reason(exc)
            raise BackendError(
                f"{self.path.name} is not a loadable TorchScript model: {why}"
            ) from exc
        self.model = model.eval()

    def inpaint(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """(H,W,3) uint8 RGB + (H,W) uint8 mask (255 = fill) -> (H,W,3) uint8, known kept."""
        if self.model is None:
            raise BackendError("The model is not loaded.")
        if not mask.any():
            return image.copy()
        import torch

        from inpaint_studio.backends.torch_utils import map_torch_errors, to_image, to_tensors

        with map_torch_errors(self.path.name), torch.inference_mode():
            img, m, size = to_tensors(
                image, mask, self.device, PAD_MULTIPLE, min_size=MIN_INPUT_SIZE
            )
            out = self.model(img, m)
            if not isinstance(out, torch.Tensor) or out.dim() != 4 or out.shape[1] != 3:
                raise BackendError(
                    f"{self.path.name} returned {getattr(out, 'shape', type(out))}, "
                    "expected an (N,3,H,W) image"
                )
            filled = to_image(out, size)
        return composite(image, filled, mask)

    def unload(self) -> None:
        """Drop the model."""
        self.model = None


def create_from_path(path: str | Path) -> TorchScriptInpainter:
    """Backend for an explicit model file (`--model torchscript:PATH`)."""
    return TorchScriptInpainter(path)


def _file_check(path: Path):
    def check() -> tuple[bool, str]:
        return (True, "") if path.is_file() else (False, f"{path} is missing")

    return check


def discover() -> list[tuple]:
    """[(name, BackendInfo, factory, is_available)] for user model files and IOPaint's LaMa."""
    found = []
    folder = user_models_dir()
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in MODEL_SUFFIXES and path.is_file():
                name = f"{PREFIX}{path}"
                found.append(
                    (
                        name,
                        _info(name, path),
                        lambda p=path: TorchScriptInpainter(p),
                        _file_check(path),
                    )
                )
    lama = iopaint_lama_path()
    if lama.is_file():
        found.append(
            (
                "lama",
                _info("lama", lama),
                lambda: TorchScriptInpainter(lama, "lama"),
                _file_check(lama),
            )
        )
    return found


def export_ours(weights: str | Path | None, out_path: str | Path) -> Path:
    """Write our network as a LaMa-convention TorchScript file (fp32, traced); returns path.
    The trace runs the FFC network on every hole (the native backend skips it on thin ones)."""
    import torch

    from inpaint_studio.backends.neural import default_weights_path
    from inpaint_studio.backends.weights import load_weights

    net, _ = load_weights(weights or default_weights_path(), "cpu")

    class LamaConvention(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            out = self.inner(torch.cat([image * (1 - mask), mask], dim=1))
            return out * mask + image * (1 - mask)

    wrapper = LamaConvention(net).eval()
    example = (torch.rand(1, 3, 64, 64), (torch.rand(1, 1, 64, 64) > 0.7).float())
    with torch.inference_mode():
        scripted = torch.jit.trace(wrapper, example, check_trace=False)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    scripted.save(str(tmp))
    tmp.replace(out_path)
    return out_path
