"""Coarse corrector: a small U-Net that corrects a smooth prior's fill at 1/4 resolution.

A smooth prior (ffc_net.PRIORS) is the best a Gaussian model of the hole can do from its rim;
what it misses on big holes is mostly large-scale structure (a horizon that goes on, a wall
that stays one colour, a textured field whose rim is noisy). Those are learnable at low
resolution, where a CPU trains on 16x more crops per minute than at full size (46 vs 2.9
crops/s at 64 vs 256 px). `coarse_residual` area-downscales the full-size prior fill by
`COARSE_FACTOR`, marks every block holding a hole pixel as hole, lets `CoarseCorrector`
predict the low-resolution error of that fill (truth minus fill) in the hole and upsamples
it bilinearly to the input size; `faded_residual` fades it in from the hole's rim
(`depth_weight`). Any input size works (ceil pooling, slicing), so it traces to TorchScript.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

COARSE_FACTOR = 4


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1),
        nn.GELU(),
        nn.Conv2d(cout, cout, 3, padding=1),
        nn.GELU(),
    )


def _upsample(x: torch.Tensor, factor: int, like: torch.Tensor) -> torch.Tensor:
    """Bilinear upsampling of x by `factor`, cropped to like's height and width."""
    up = F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False)
    return up[..., : like.shape[-2], : like.shape[-1]]


def _up2(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Nearest 2x upsampling of x cropped to like's height and width."""
    up = x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
    return up[..., : like.shape[-2], : like.shape[-1]]


class CoarseCorrector(nn.Module):
    """(N,3,h,w) prior fill in [0,1] + (N,1,h,w) hole {0,1} -> (N,3,h,w) residual, 0 off the hole.

    A 4-level U-Net (widths w, 2w, 4w, 4w; two dilated convs at 1/8 of its input); any h, w.
    The head starts at zero, so an untrained corrector leaves the prior as it is."""

    def __init__(self, width: int = 32):
        super().__init__()
        w = width
        self.enc0 = _block(4, w)
        self.enc1 = _block(w, 2 * w)
        self.enc2 = _block(2 * w, 4 * w)
        self.enc3 = _block(4 * w, 4 * w)
        self.mid = nn.Sequential(
            nn.Conv2d(4 * w, 4 * w, 3, padding=2, dilation=2),
            nn.GELU(),
            nn.Conv2d(4 * w, 4 * w, 3, padding=4, dilation=4),
            nn.GELU(),
        )
        self.dec2 = _block(8 * w, 2 * w)
        self.dec1 = _block(4 * w, w)
        self.dec0 = _block(2 * w, w)
        self.head = nn.Conv2d(w, 3, 3, padding=1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, prior: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        x = torch.cat([prior * 2 - 1, hole], dim=1)
        a = self.enc0(x)
        b = self.enc1(F.avg_pool2d(a, 2, ceil_mode=True))
        c = self.enc2(F.avg_pool2d(b, 2, ceil_mode=True))
        d = self.enc3(F.avg_pool2d(c, 2, ceil_mode=True))
        d = d + self.mid(d)
        y = self.dec2(torch.cat([_up2(d, c), c], dim=1))
        y = self.dec1(torch.cat([_up2(y, b), b], dim=1))
        y = self.dec0(torch.cat([_up2(y, a), a], dim=1))
        return self.head(y) * hole


def depth_weight(hole: torch.Tensor, factor: int = COARSE_FACTOR) -> torch.Tensor:
    """(N,1,H,W) hole {0,1} -> (N,1,H,W) in [0,1]: how much of the corrector's residual a hole
    pixel takes; 0 off the hole. Each `factor`-px block scores 0 if it holds a known pixel,
    1/2 if it is all hole but next to such a block, 1 deeper; the scores are interpolated
    bilinearly between block centres: a fade over about 2 * factor px, from at most about
    1/3 at the rim (blocks aligned with it) to 1.

    The corrector predicts block means; next to known pixels the full-size prior is already
    right (a scratch a few px wide is filled from its sides), so its residual fades in. On
    held-out photos this matches a per-pixel fade over 8 px within 0.01 dB at 1/50 of its
    cost (repeated 3x3 pooling at full size took 47 ms at 512x512)."""
    inner = 1 - F.max_pool2d(1 - hole, factor, ceil_mode=True)
    return _upsample(ring_fade(inner), factor, hole) * hole


def ring_fade(inner: torch.Tensor) -> torch.Tensor:
    """(N,1,h,w) block scores {0,1} (1: all hole) -> (N,1,h,w) in {0, 1/2, 1}: an inner block
    next to a 0 block scores 1/2, deeper ones keep 1."""
    return (inner - F.max_pool2d(-inner, 3, 1, 1)) / 2


def coarse_inputs(
    fill: torch.Tensor, known: torch.Tensor, factor: int = COARSE_FACTOR
) -> tuple[torch.Tensor, torch.Tensor]:
    """(N,3,H,W) full-size prior fill in [0,1], (N,1,H,W) known {0,1} -> low-res (fill
    (N,3,h,w), hole (N,1,h,w)): h, w = ceil(H / factor), ceil(W / factor), each block the area
    mean of the fill, a block with any hole pixel is hole. fp32.

    Pooling the fill the net already has costs under 1 ms; solving the prior again at low
    resolution (the first corrector's input) took 22-34 ms per call whatever the size, and
    gave the corrector a worse start (docs/benchmarks.md section 1)."""
    with torch.autocast(device_type=fill.device.type, enabled=False):
        hole = F.max_pool2d(1 - known.float(), factor, ceil_mode=True)
        return F.avg_pool2d(fill.float(), factor, ceil_mode=True), hole


def coarse_residual(
    corrector: CoarseCorrector, fill: torch.Tensor, known: torch.Tensor, factor: int = COARSE_FACTOR
) -> torch.Tensor:
    """The corrector's residual upsampled to the input: (N,3,H,W), 0 wherever a low-res block
    is known (`faded_residual` is what gets added to a fill)."""
    small_fill, small_hole = coarse_inputs(fill, known, factor)
    return _upsample(corrector(small_fill, small_hole).float(), factor, fill)


def faded_residual(
    corrector: CoarseCorrector, fill: torch.Tensor, known: torch.Tensor
) -> torch.Tensor:
    """What the corrector adds to the full-size prior fill: (N,3,H,W), 0 off the hole.

    fill (N,3,H,W) in [0,1]: the prior's fill of the hole, known (N,1,H,W) {0,1};
    `coarse_residual` times `depth_weight` of the hole."""
    return coarse_residual(corrector, fill, known) * depth_weight(1 - known)
