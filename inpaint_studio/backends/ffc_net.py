"""The project's own inpainting generator: a compact LaMa-style Fast Fourier Convolution net.

Input (N, 4, H, W): RGB in [0, 1] with the hole zeroed, plus the mask channel (1 = hole);
H and W must be multiples of `PAD_MULTIPLE`. Output (N, 3, H, W) RGB in [0, 1] (not yet
composited: callers keep the known pixels).

Design (see resources/models/README.md): a strided-conv encoder to 1/8 resolution, a stack
of FFC residual blocks whose global branch convolves in the Fourier domain (an image-wide
receptive field in the first block, which large holes need), and a transposed-conv decoder
with additive skips from the encoder at 1/4, 1/2 and full resolution, which keep thin
scratch repairs crisp and speed up training on a small compute budget. With a prior
(`NetConfig.prior`, a key of `PRIORS`), a smooth RGB fill computed inside the net joins the
input (7 channels) and the output is that fill plus the net's residual; the shipped weights use
"multigrid", the thin plate under tension solved by multigrid-preconditioned CG. With
`NetConfig.coarse` > 0 a `CoarseCorrector` (coarse_net.py) first adds its 1/4-size residual
to the prior fill, faded in from the hole's rim (`faded_residual`).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from inpaint_studio.backends.coarse_net import CoarseCorrector, faded_residual

PAD_MULTIPLE = 8


@dataclass(frozen=True)
class NetConfig:
    """Width/depth of the generator; saved with the weights."""

    base: int = 32
    blocks: int = 6
    global_ratio: float = 0.75
    prior: str = "none"  # a key of PRIORS: predict a residual over that smooth fill
    coarse: int = 0  # width of a CoarseCorrector refining the prior at 1/4 size; 0 = none

    def to_dict(self) -> dict:
        return asdict(self)


class FourierUnit(nn.Module):
    """1x1 conv applied to the real/imaginary parts of the 2-D FFT (computed in fp32)."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels * 2, channels * 2, 1, bias=False)
        self.bn = nn.BatchNorm2d(channels * 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        dtype = x.dtype
        with torch.autocast(device_type=x.device.type, enabled=False):
            ff = torch.fft.rfft2(x.float(), norm="ortho")
            ff = torch.cat([ff.real, ff.imag], dim=1)
            ff = F.relu(self.bn(self.conv(ff.to(self.conv.weight.dtype))))
            re, im = ff.float().chunk(2, dim=1)
            out = torch.fft.irfft2(torch.complex(re, im), s=(h, w), norm="ortho")
        return out.to(dtype)


class SpectralTransform(nn.Module):
    """LaMa's global branch: reduce, Fourier unit with a residual, expand."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        mid = cout // 2
        self.reduce = nn.Sequential(
            nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU(inplace=True)
        )
        self.fu = FourierUnit(mid)
        self.expand = nn.Conv2d(mid, cout, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.reduce(x)
        return self.expand(x + self.fu(x))


class FFC(nn.Module):
    """Fast Fourier Convolution: local (3x3) and global (spectral) paths exchanging features."""

    def __init__(self, channels: int, ratio: float):
        super().__init__()
        self.cg = int(channels * ratio)
        self.cl = channels - self.cg
        pad = dict(padding=1, padding_mode="reflect", bias=False)
        self.l2l = nn.Conv2d(self.cl, self.cl, 3, **pad)
        self.l2g = nn.Conv2d(self.cl, self.cg, 3, **pad)
        self.g2l = nn.Conv2d(self.cg, self.cl, 3, **pad)
        self.g2g = SpectralTransform(self.cg, self.cg)
        self.bn_l = nn.BatchNorm2d(self.cl)
        self.bn_g = nn.BatchNorm2d(self.cg)

    def forward(self, xl: torch.Tensor, xg: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        yl = F.relu(self.bn_l(self.l2l(xl) + self.g2l(xg)))
        yg = F.relu(self.bn_g(self.l2g(xl) + self.g2g(xg)))
        return yl, yg


class FFCResBlock(nn.Module):
    """Two FFCs with a residual connection on both the local and the global streams."""

    def __init__(self, channels: int, ratio: float):
        super().__init__()
        self.a = FFC(channels, ratio)
        self.b = FFC(channels, ratio)

    def forward(self, xl: torch.Tensor, xg: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        yl, yg = self.b(*self.a(xl, xg))
        return xl + yl, xg + yg


def _neighbour_sum(x: torch.Tensor) -> torch.Tensor:
    """Sum of the 4 neighbours of every pixel of (N,C,H,W), edges replicated (a new tensor)."""
    p = F.pad(x, (1, 1, 1, 1), mode="replicate")
    s = p[..., :-2, 1:-1] + p[..., 2:, 1:-1]
    s += p[..., 1:-1, :-2]
    s += p[..., 1:-1, 2:]
    return s


def _neighbour_mean(x: torch.Tensor) -> torch.Tensor:
    """Mean of the 4 neighbours of every pixel of (N,C,H,W), edges replicated."""
    return _neighbour_sum(x).mul_(0.25)


def pyramid_fill(
    rgb: torch.Tensor, known: torch.Tensor, levels: int, coarse_iters: int, fine_iters: int
) -> torch.Tensor:
    """(N,3,H,W) RGB + (N,1,H,W) known {0,1} -> (N,3,H,W) fill: push-pull pyramid with
    coarse_iters / fine_iters Jacobi steps towards the membrane per coarse / full-res level."""
    with torch.autocast(device_type=rgb.device.type, enabled=False):
        rgb, known = rgb.float(), known.float()
        stack = [(rgb * known, known)]
        for _ in range(levels):
            c, w = stack[-1]
            stack.append((F.avg_pool2d(c, 2, ceil_mode=True), F.avg_pool2d(w, 2, ceil_mode=True)))
        c, w = stack[-1]
        fill = c.sum(dim=(2, 3), keepdim=True) / w.sum(dim=(2, 3), keepdim=True).clamp_min(1e-6)
        fill = fill.expand_as(c)
        for depth in range(len(stack) - 1, -1, -1):
            c, w = stack[depth]
            up = F.interpolate(fill, size=c.shape[-2:], mode="bilinear", align_corners=False)
            alpha = w if depth == 0 else (w * 8).clamp(max=1.0)
            held = alpha * (c / w.clamp_min(1e-6))
            free = 1 - alpha
            fill = held + free * up
            for _ in range(fine_iters if depth == 0 else coarse_iters):
                fill = held + free * _neighbour_mean(fill)
        return fill


def pushpull_fill(rgb: torch.Tensor, known: torch.Tensor, levels: int = 12) -> torch.Tensor:
    """Smooth hole fill: (N,3,H,W) RGB, (N,1,H,W) known in {0,1} -> (N,3,H,W), known kept.

    Push: average colour and known-fraction down an image pyramid. Pull: from the coarsest
    level up, each level keeps its own colour where it is (mostly) known and takes the
    upsampled coarser fill elsewhere. A membrane-like interpolation in O(HW), computed in
    fp32 without autocast. Always `levels` levels, with no shape-dependent branch, so a traced
    TorchScript export behaves like this code at every input size (a side of 1 px stays 1 px
    under ceil-mode pooling, so the extra levels are no-ops once a side has shrunk to 1).
    """
    return pyramid_fill(rgb, known, levels, 0, 0)


MEMBRANE_COARSE_ITERS = 32
MEMBRANE_FINE_ITERS = 8


def membrane_fill(rgb: torch.Tensor, known: torch.Tensor, levels: int = 12) -> torch.Tensor:
    """Harmonic (membrane) hole fill: (N,3,H,W) RGB, (N,1,H,W) known in {0,1} -> (N,3,H,W).

    The push-pull pyramid of `pushpull_fill`, but after each level's pull the hole is relaxed
    towards the solution of Laplace's equation with the known pixels held (Jacobi steps on
    the 4-neighbour mean: 32 per coarse level, 8 at full resolution), coarse to fine like a
    multigrid solve. Holes get the smoothest surface that meets their rim: a linear ramp is
    continued exactly, and thin scratches take the colours on both sides instead of blocky
    pyramid averages. Known pixels kept; fp32 without autocast; fixed loop counts, so it
    traces to TorchScript like `pushpull_fill`. 3.5-5x its cost (still O(HW)).
    """
    return pyramid_fill(rgb, known, levels, MEMBRANE_COARSE_ITERS, MEMBRANE_FINE_ITERS)


TENSION_MU = 1.0
TENSION_STEPS = 16


def _laplace(u: torch.Tensor) -> torch.Tensor:
    """Minus the 4-neighbour Laplacian of (N,C,H,W), edges mirrored (a symmetric PSD operator)."""
    return _neighbour_sum(u).mul_(-1).add_(u, alpha=4)


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image, per-channel inner product of two (N,C,H,W) tensors -> (N,C,1,1)."""
    return torch.linalg.vecdot(a.flatten(2), b.flatten(2))[..., None, None]


def _apply_tension(v: torch.Tensor, hole: torch.Tensor, mu: float) -> torch.Tensor:
    """(laplace + mu laplace^2) v on the hole pixels, 0 elsewhere (a new tensor)."""
    w = _laplace(v)
    return w.add_(_laplace(w), alpha=mu).mul_(hole)


def _cg_tension(
    u: torch.Tensor,
    hole: torch.Tensor,
    steps: int,
    mu: float,
    precondition: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """`steps` conjugate-gradient steps on u's hole (N,1,H,W {0,1}) towards the minimum of
    |grad u|^2 + mu |laplace u|^2 (grid units), the other pixels held; u (N,C,H,W) fp32 is
    updated in place and returned (fresh tensors per op were slower). With `precondition`
    (residual -> approximate error), flexible preconditioned CG (Polak-Ribiere updates)."""
    r = _apply_tension(u, hole, mu).neg_()
    z = r if precondition is None else precondition(r)
    p = z.clone()
    rz = _dot(r, z)
    for _ in range(steps):
        ap = _apply_tension(p, hole, mu)
        alpha = rz / _dot(p, ap).clamp_min(1e-20)
        u.addcmul_(p, alpha)
        r.addcmul_(ap, alpha, value=-1)
        if precondition is None:
            rz_next = _dot(r, r)
            p.mul_(rz_next / rz.clamp_min(1e-20)).add_(r)
        else:
            z_next = precondition(r)
            beta = _dot(r, z_next - z) / rz.clamp_min(1e-20)
            rz_next = _dot(r, z_next)
            p = z_next + beta * p
            z = z_next
        rz = rz_next
    return u


def tension_relax(
    fill: torch.Tensor, known: torch.Tensor, steps: int = TENSION_STEPS, mu: float = TENSION_MU
) -> torch.Tensor:
    """(N,3,H,W) fill in [0,1], (N,1,H,W) known {0,1} -> (N,3,H,W): `steps` conjugate-gradient
    steps on the hole towards the minimum of |grad u|^2 + mu |laplace u|^2, known pixels held,
    per-image and per-channel step sizes, clamped to [0, 1]. fp32 without autocast."""
    with torch.autocast(device_type=fill.device.type, enabled=False):
        u = fill.float().clone()
        return _cg_tension(u, 1 - known.float(), steps, mu).clamp_(0, 1)


# Thin plate under tension solved to convergence (`multigrid_fill`): multigrid-preconditioned
# conjugate gradients; iteration counts chosen on held-out training photos (docs/benchmarks.md
# section 8).
MULTIGRID_STEPS = 6
MULTIGRID_SMOOTH = 2
MULTIGRID_LEVELS = 5


def _smooth(
    e: torch.Tensor, f: torch.Tensor, hole: torch.Tensor, mu: float, steps: int
) -> torch.Tensor:
    """Damped Jacobi steps on (laplace + mu laplace^2) e = f over the hole, in place."""
    diagonal = 4 + 20 * mu
    omega = 1.6 * diagonal / (8 + 64 * mu)  # 0.8 x the stable limit 2 / max eig(D^-1 A)
    for _ in range(steps):
        e.add_(f - _apply_tension(e, hole, mu), alpha=omega / diagonal)
    return e


def _v_cycle(f: torch.Tensor, holes: list[torch.Tensor], mu: float, smooth: int) -> torch.Tensor:
    """Approximate solution of (laplace + mu laplace^2) e = f on holes[0]: a symmetric
    multigrid V-cycle (Jacobi smoothing, 2x2 sum restriction, nearest-pixel prolongation,
    each level's hole = its majority-hole blocks, mu scaled to the level's pixel size)."""
    hole = holes[0]
    e = torch.zeros_like(f)
    if len(holes) == 1:
        return _smooth(e, f, hole, mu, 4 * smooth)
    e = _smooth(e, f, hole, mu, smooth)
    r = f - _apply_tension(e, hole, mu)
    coarse = F.avg_pool2d(r, 2, ceil_mode=True, divisor_override=1).mul_(holes[1])
    coarse = _v_cycle(coarse, holes[1:], mu / 4, smooth)
    up = coarse.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
    e.add_(up[..., : f.shape[-2], : f.shape[-1]].mul(hole))
    return _smooth(e, f, hole, mu, smooth)


def multigrid_fill(
    rgb: torch.Tensor,
    known: torch.Tensor,
    levels: int = 12,
    steps: int = MULTIGRID_STEPS,
    mu: float = TENSION_MU,
    smooth: int = MULTIGRID_SMOOTH,
    grid_levels: int = MULTIGRID_LEVELS,
) -> torch.Tensor:
    """Thin plate under tension, solved: (N,3,H,W) RGB, (N,1,H,W) known {0,1} -> (N,3,H,W).

    The minimum of |grad u|^2 + mu |laplace u|^2 over the hole with the known pixels held,
    the energy `tension_relax` approaches with plain CG steps, which stop far from it on
    large holes (the error left is smooth, and plain iterations shrink smooth error slowest).
    Starts from `pushpull_fill`, then `steps` flexible conjugate-gradient steps, each
    preconditioned by one multigrid V-cycle (grid_levels coarser levels, `smooth` Jacobi
    steps per level on the way down and up). In [0, 1]; fp32 without autocast; fixed loop
    counts (traces to TorchScript)."""
    with torch.autocast(device_type=rgb.device.type, enabled=False):
        known = known.float()
        hole = 1 - known
        holes = [hole]
        for _ in range(grid_levels):
            holes.append((F.avg_pool2d(holes[-1], 2, ceil_mode=True) > 0.5).float())
        u = pyramid_fill(rgb.float(), known, levels, 0, 0).clone()
        precondition = functools.partial(_v_cycle, holes=holes, mu=mu, smooth=smooth)
        return _cg_tension(u, hole, steps, mu, precondition).clamp_(0, 1)


def tension_fill(rgb: torch.Tensor, known: torch.Tensor, levels: int = 12) -> torch.Tensor:
    """Thin plate under tension: (N,3,H,W) RGB, (N,1,H,W) known in {0,1} -> (N,3,H,W) in [0,1].

    `membrane_fill`, then 16 conjugate-gradient steps (`tension_relax`, mu = 1 px^2). The
    curvature term carries the slope of the rim into the hole for about a pixel before the
    membrane takes over, so scratches a few pixels wide meet their sides smoothly instead of
    with a kink. Known pixels kept; fixed loop counts, so it traces to TorchScript like the
    other priors. About 2x the cost of `membrane_fill` (0.039 vs 0.020 s at 512x512 on a
    2-core AMD EPYC: benchmarks/bench_model_speed.py).
    """
    return tension_relax(membrane_fill(rgb, known, levels), known)


PRIORS = {
    "pushpull": pushpull_fill,
    "membrane": membrane_fill,
    "tension": tension_fill,
    "multigrid": multigrid_fill,
}


def _conv(cin: int, cout: int, k: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, padding=k // 2, padding_mode="reflect", bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


def _up(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class InpaintNet(nn.Module):
    """(N,4,H,W) masked RGB + mask in [0,1] -> (N,3,H,W) RGB in [0,1]; H, W multiples of 8."""

    def __init__(self, config: NetConfig | None = None):
        super().__init__()
        self.config = config or NetConfig()
        b = self.config.base
        if self.config.prior != "none" and self.config.prior not in PRIORS:
            raise ValueError(f"unknown prior {self.config.prior!r}")
        self.use_prior = self.config.prior != "none"
        if self.config.coarse and not self.use_prior:
            raise ValueError("a coarse corrector needs a prior to correct")
        self.coarse = CoarseCorrector(self.config.coarse) if self.config.coarse else None
        self.stem = _conv(7 if self.use_prior else 4, b, 5)
        self.down1 = _conv(b, b * 2, 3, 2)
        self.down2 = _conv(b * 2, b * 4, 3, 2)
        self.down3 = _conv(b * 4, b * 8, 3, 2)
        self.blocks = nn.ModuleList(
            FFCResBlock(b * 8, self.config.global_ratio) for _ in range(self.config.blocks)
        )
        self.split = int(b * 8 * self.config.global_ratio)
        self.up3 = _up(b * 8, b * 4)
        self.up2 = _up(b * 4, b * 2)
        self.up1 = _up(b * 2, b)
        self.head = nn.Conv2d(b, 3, 3, padding=1, padding_mode="reflect")
        if self.use_prior:  # start as the prior: a small residual on top of the smooth fill
            with torch.no_grad():
                self.head.weight.mul_(0.01)
                self.head.bias.zero_()
        self._traced_prior: Callable | None = None  # see trace_prior
        self._graphed_prior: Callable | None = None  # see graph_prior

    def trace_prior(self, example: tuple[int, int] = (64, 96)) -> None:
        """From now on run the prior as a TorchScript trace (for inference: call after the
        weights are on their device). Same outputs at any size (tested); about a third less
        time per call on a 2-core CPU, since the prior is hundreds of small tensor ops and
        the trace skips the Python between them (bench_model_speed.py). Tracing and its
        slow first call (about 1.5 s together) happen here."""
        if not self.use_prior:
            return
        device = self.head.weight.device
        h, w = example
        known = torch.ones(1, 1, h, w, device=device)
        known[..., h // 4 : h // 2, w // 4 : w // 2] = 0
        rgb = torch.full((1, 3, h, w), 0.5, device=device) * known
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit's notice
            traced = torch.jit.trace(PRIORS[self.config.prior], (rgb, known), check_trace=False)
            with torch.jit.optimized_execution(False):
                traced(rgb, known)
        self._traced_prior = traced

    def graph_prior(self, x: torch.Tensor, tolerance: float = 1e-4) -> float | None:
        """Training on CUDA: from now on replay the prior from a CUDA graph captured on the
        network input x (N,4,H,W) (inputs of other shapes run it as before). Returns the
        largest difference of the replay from a direct call on x; over `tolerance` (or a
        capture that fails, returned as None) leaves the prior as it was."""
        if not self.use_prior or x.device.type != "cuda":
            return None
        from inpaint_studio.backends.cuda_graph import GraphedFunction

        rgb, known = (t.float() for t in _prior_inputs(x))
        try:
            graphed = GraphedFunction(PRIORS[self.config.prior], (rgb, known))
            error = graphed.max_error(rgb, known)
        except RuntimeError:
            return None
        if error <= tolerance:
            self._graphed_prior = graphed
        return error

    def forward(self, x: torch.Tensor, refine: bool = True) -> torch.Tensor:
        """(N,4,H,W) RGB in [0,1] with the hole zeroed + hole mask -> (N,3,H,W) in [0,1].
        refine=False (inference only, needs the prior): the prior fill plus the corrector's
        residual, without the FFC network."""
        prior = None
        if self.use_prior:
            rgb, known = _prior_inputs(x)
            if self._graphed_prior is not None:
                prior = self._graphed_prior(rgb.float(), known.float())
            elif self._traced_prior is None:
                prior = PRIORS[self.config.prior](rgb, known)
            else:  # unoptimised execution: no re-profiling for each new window size
                off = torch.autocast(device_type=x.device.type, enabled=False)
                with off, torch.jit.optimized_execution(False):
                    prior = self._traced_prior(rgb.float(), known.float())
            if self.coarse is not None:
                prior = (prior + faded_residual(self.coarse, prior, known)).clamp(0, 1)
            prior = prior.to(x.dtype)
            if not refine:
                return prior
            x = torch.cat([x, prior.contiguous(memory_format=torch.channels_last)], dim=1)
        s0 = self.stem(x)
        s1 = self.down1(s0)
        s2 = self.down2(s1)
        z = self.down3(s2)
        cl = z.shape[1] - self.split
        zl, zg = z[:, :cl], z[:, cl:]
        for block in self.blocks:
            zl, zg = block(zl, zg)
        z = torch.cat([zl, zg], dim=1)
        y = self.up3(z) + s2
        y = self.up2(y) + s1
        y = self.up1(y) + s0
        if prior is not None:
            return (prior + self.head(y)).clamp(0, 1)
        return torch.sigmoid(self.head(y))


def _prior_inputs(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Network input (N,4,H,W) -> the prior's (rgb (N,3,H,W), known (N,1,H,W)), plain NCHW:
    the prior's many small shifted adds run 2x faster on those than on views of the
    channels_last input (bench_model_speed.py shows the share)."""
    return x[:, :3].contiguous(), (1 - x[:, 3:4]).contiguous()


def count_parameters(net: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)
