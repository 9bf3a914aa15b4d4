"""The damage detector network: a photo in, the probability of scan damage per pixel out.

`DamageNet` is a small U-Net (widths 16 / 32 / 48 / 64, three stride-2 levels, two dilated
3x3 convs at 1/8 resolution: a receptive field of about 130 px, enough to see a scratch as a
line across the photo; 0.23M parameters). Its input is the photo in [0, 1] plus one feature
channel, the grey value minus its 15 px median (`core.damage_detect.residual`, scaled by
1/64), which hands it "narrow and lighter or darker than around it" for free; it returns
logits. `DamageDetector` runs it on any photo size in tiles with a margin (bounded memory),
at bf16 where that is fast. Trained by `inpaint-studio train-detector` on synthetic damage
(`training/damage_synth.py`); weights in `resources/models/damage_detect.pt`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from inpaint_studio.backends.torch_utils import autocast_for, map_torch_errors, pick_precision
from inpaint_studio.core.damage_detect import (
    DEFAULT_SENSITIVITY,
    GROW,
    Detection,
    propose_mask,
    residual,
)
from inpaint_studio.errors import BackendError
from inpaint_studio.paths import resources_dir

WEIGHTS_NAME = "damage_detect.pt"
TILE = 768  # px of photo per tile (plus MARGIN on each side)
MARGIN = 64  # px of context around each tile: more than the median's half-window, a
# multiple of the net's 8 px stride


def _block(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation), nn.GELU()
    )


class DamageNet(nn.Module):
    """(N,4,H,W) float [photo RGB 0..1, residual/64] -> (N,1,H,W) damage logits (H, W % 8 == 0)."""

    def __init__(self, widths: tuple[int, int, int, int] = (16, 32, 48, 64)) -> None:
        super().__init__()
        a, b, c, d = widths
        self.widths = widths
        self.enc1 = nn.Sequential(_block(4, a), _block(a, a))
        self.enc2 = nn.Sequential(_block(a, b, 2), _block(b, b))
        self.enc3 = nn.Sequential(_block(b, c, 2), _block(c, c))
        self.mid = nn.Sequential(
            _block(c, d, 2), _block(d, d, dilation=2), _block(d, d, dilation=4)
        )
        self.dec3 = _block(d + c, c)
        self.dec2 = _block(c + b, b)
        self.dec1 = _block(b + a, a)
        self.head = nn.Conv2d(a, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        m = self.mid(e3)
        up = F.interpolate(m, scale_factor=2.0, mode="nearest")
        d3 = self.dec3(torch.cat([up, e3], 1))
        d2 = self.dec2(torch.cat([F.interpolate(d3, scale_factor=2.0, mode="nearest"), e2], 1))
        d1 = self.dec1(torch.cat([F.interpolate(d2, scale_factor=2.0, mode="nearest"), e1], 1))
        return self.head(d1)


def features(rgb: np.ndarray) -> np.ndarray:
    """(H,W,3) uint8 RGB -> (4,H,W) float32 network input: RGB / 255 and residual / 64."""
    import cv2

    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    out = np.empty((4, *rgb.shape[:2]), np.float32)
    out[:3] = np.moveaxis(rgb, 2, 0)
    out[:3] *= 1 / 255
    out[3] = residual(grey)
    out[3] *= 1 / 64
    return out


def default_weights() -> Path:
    """The shipped detector weights: resources/models/damage_detect.pt."""
    return resources_dir() / "models" / WEIGHTS_NAME


def save_detector(net: DamageNet, path: str | Path, meta: dict | None = None) -> None:
    """Write the weights in fp16 with the widths and `meta` (training config, steps)."""
    state = {k: v.detach().to(torch.float16) for k, v in net.state_dict().items()}
    torch.save({"widths": list(net.widths), "state": state, "meta": meta or {}}, str(path))


def load_detector(path: str | Path, device: str = "cpu") -> tuple[DamageNet, dict]:
    """(net in eval mode on `device`, fp32, its meta) from a `save_detector` file."""
    blob = torch.load(str(path), map_location="cpu", weights_only=True)
    net = DamageNet(tuple(blob["widths"]))
    net.load_state_dict({k: v.float() for k, v in blob["state"].items()})
    return net.to(device).eval(), dict(blob.get("meta", {}))


class DamageDetector:
    """A loaded `DamageNet`: `probability(rgb)` gives the (H,W) float32 0..1 damage map,
    `detect(rgb)` the proposed mask. Raises BackendError when the weights cannot be read."""

    def __init__(self, path: str | Path | None = None, device: str = "cpu") -> None:
        path = Path(path) if path is not None else default_weights()
        if not path.is_file():
            raise BackendError(f"the damage detector's weights are missing: {path}")
        self.device = device
        try:
            self.net, self.meta = load_detector(path, device)
        except Exception as exc:  # noqa: BLE001 - torch.load's errors on damaged files vary
            raise BackendError(f"cannot read the damage detector's weights {path}: {exc}") from exc
        if device == "cpu":
            self.net = self.net.to(memory_format=torch.channels_last)
        self.precision = pick_precision(device)

    @torch.inference_mode()
    def _run(self, rgb: np.ndarray) -> np.ndarray:
        h, w = rgb.shape[:2]
        ph, pw = (-h) % 8, (-w) % 8
        x = torch.from_numpy(features(rgb))[None].to(self.device)
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="replicate")
        if self.device == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast_for(self.device, self.precision):
            logits = self.net(x)
        return torch.sigmoid(logits.float())[0, 0, :h, :w].cpu().numpy()

    def detect(
        self,
        rgb: np.ndarray,
        sensitivity: float = DEFAULT_SENSITIVITY,
        grow: int = GROW,
        progress=None,
        polarity: str = "both",
    ) -> Detection:
        """(H,W,3) uint8 RGB -> the proposed damage mask (`core.damage_detect.propose_mask`;
        polarity "both", "light" or "dark"); progress(done, total) after each tile if given."""
        import cv2

        prob = self.probability(rgb, progress)
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if polarity != "both" else None
        return propose_mask(prob, sensitivity, grow, grey=grey, polarity=polarity)

    def probability(self, rgb: np.ndarray, progress=None) -> np.ndarray:
        """(H,W,3) uint8 RGB -> (H,W) float32 damage probability, in tiles of TILE px with
        MARGIN px of context; progress(done, total) after each tile if given."""
        h, w = rgb.shape[:2]
        out = np.empty((h, w), np.float32)
        tiles = [(y, x) for y in range(0, h, TILE) for x in range(0, w, TILE)]
        for i, (y, x) in enumerate(tiles):
            y0, x0 = max(0, y - MARGIN), max(0, x - MARGIN)
            y1, x1 = min(h, y + TILE + MARGIN), min(w, x + TILE + MARGIN)
            with map_torch_errors("damage detector"):
                prob = self._run(np.ascontiguousarray(rgb[y0:y1, x0:x1]))
            ty, tx = min(h, y + TILE), min(w, x + TILE)
            out[y:ty, x:tx] = prob[y - y0 : ty - y0, x - x0 : tx - x0]
            if progress is not None:
                progress(i + 1, len(tiles))
        return out
