"""Losses that need no downloaded network: masked L1, gradient, FFT, PatchGAN + R1 + FM."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def masked_l1(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Mean |pred - target| over pixels where weight (N,1,H,W) is 1; images (N,3,H,W)."""
    denom = weight.sum() * pred.shape[1] + 1e-6
    return ((pred - target).abs() * weight).sum() / denom


def masked_mse(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Mean squared error over pixels where weight (N,1,H,W) is 1; images (N,3,H,W)."""
    denom = weight.sum() * pred.shape[1] + 1e-6
    return ((pred - target).square() * weight).sum() / denom


def _sobel(x: torch.Tensor) -> torch.Tensor:
    """Per-channel Sobel gradients of (N,C,H,W) -> (N,2C,H,W)."""
    kx = torch.tensor([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=x.dtype, device=x.device) / 4
    k = torch.stack([kx, kx.t()]).unsqueeze(1).repeat(x.shape[1], 1, 1, 1)
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), k, groups=x.shape[1])


def gradient_loss(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """L1 between Sobel gradients inside the (dilated) hole: rewards sharp, aligned edges."""
    return masked_l1(_sobel(pred), _sobel(target), weight)


def fft_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 between log-amplitude spectra (fp32): penalises lost high-frequency detail."""
    a = torch.fft.rfft2(pred.float(), norm="ortho").abs()
    b = torch.fft.rfft2(target.float(), norm="ortho").abs()
    return (torch.log1p(a) - torch.log1p(b)).abs().mean()


class PatchDiscriminator(nn.Module):
    """PatchGAN: (N,3,H,W) in [0,1] -> logits (N,1,H/8,W/8) and intermediate features."""

    def __init__(self, base: int = 32):
        super().__init__()
        chans = [3, base, base * 2, base * 4]
        self.layers = nn.ModuleList(
            nn.Sequential(nn.Conv2d(chans[i], chans[i + 1], 4, 2, 1), nn.LeakyReLU(0.2, True))
            for i in range(3)
        )
        self.mid = nn.Sequential(nn.Conv2d(chans[3], chans[3], 3, 1, 1), nn.LeakyReLU(0.2, True))
        self.out = nn.Conv2d(chans[3], 1, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        feats = []
        x = x * 2 - 1
        for layer in self.layers:
            x = layer(x)
            feats.append(x)
        x = self.mid(x)
        feats.append(x)
        return self.out(x), feats


def patch_mask(mask: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Hole mask (N,1,H,W) -> per-patch hole indicator (N,1,h,w) by max pooling."""
    return F.adaptive_max_pool2d(mask, size)


def d_loss(
    real_logits: torch.Tensor, fake_logits: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Non-saturating D loss: real patches real; fake patches fake only where they hold a hole."""
    m = patch_mask(mask, fake_logits.shape[-2:])
    real = F.softplus(-real_logits).mean()
    fake = (F.softplus(fake_logits) * m + F.softplus(-fake_logits) * (1 - m)).mean()
    return real + fake


def g_adv_loss(fake_logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Non-saturating G loss on the patches that contain hole pixels."""
    m = patch_mask(mask, fake_logits.shape[-2:])
    return (F.softplus(-fake_logits) * m).sum() / (m.sum() + 1e-6)


def r1_penalty(real_logits: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """R1: squared gradient norm of D's output w.r.t. real images (real.requires_grad=True)."""
    (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
    return grad.pow(2).flatten(1).sum(1).mean()


def feature_matching(
    real_feats: list[torch.Tensor], fake_feats: list[torch.Tensor]
) -> torch.Tensor:
    """Mean L1 between D features of the real and the generated image."""
    pairs = zip(real_feats, fake_feats, strict=True)
    return sum((r.detach() - f).abs().mean() for r, f in pairs) / len(real_feats)
