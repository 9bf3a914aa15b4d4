"""Train loop: `inpaint-studio train --data DIR --out RUN [--minutes M] [--resume]`.

`--stage all` trains the whole generator (reconstruction + GAN losses); `--stage net` the
same without its coarse corrector (frozen, so holes that skip the FFC network keep their
fill); `--stage coarse`
trains only its coarse corrector (backends/coarse_net.py, added with `--coarse WIDTH` when
the --init weights have none) on the mean per-image hole PSNR at 1/4 resolution,
everything else frozen.

Writes RUN/checkpoint.pt (generator, EMA, discriminator, optimisers, step, elapsed time),
RUN/log.csv, RUN/loss.png and RUN/weights.pt (the EMA generator in fp16, the shipping
format). Works on CPU (bf16 autocast where `cpu_bf16_is_fast`: AMX, or AMD with
AVX512-BF16; else fp32) and CUDA (bf16 autocast).
"""

from __future__ import annotations

import copy
import csv
import math
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from inpaint_studio.backends.coarse_net import COARSE_FACTOR, coarse_inputs
from inpaint_studio.backends.ffc_net import PRIORS, InpaintNet, NetConfig, count_parameters
from inpaint_studio.backends.torch_utils import cpu_bf16_is_fast
from inpaint_studio.backends.weights import load_weights, save_weights
from inpaint_studio.training import losses
from inpaint_studio.training.batches import BatchStream
from inpaint_studio.training.data import PhotoCrops


@dataclass
class TrainConfig:
    """Everything that defines a run; stored in the checkpoint."""

    data: str
    out: str
    minutes: float = 60.0
    max_steps: int = 0  # 0 = until the time budget is spent
    batch: int = 8
    crop: int = 256
    lr: float = 1e-3
    lr_min: float = 5e-5
    d_lr: float = 2e-4
    seed: int = 0
    device: str = "auto"
    base: int = 24
    blocks: int = 5
    prior: str = "multigrid"  # the net predicts a residual over a smooth fill (ffc_net.PRIORS)
    hole_loss: str = "l1"  # "l1" | "mse": the hole term; mse is what hole PSNR measures
    w_hole: float = 1.0
    w_known: float = 0.2
    w_grad: float = 1.0
    w_fft: float = 0.2
    w_adv: float = 0.02
    w_fm: float = 0.5
    r1_gamma: float = 0.01
    r1_every: int = 4
    gan_start: int = 400  # steps of reconstruction-only warm-up before the GAN losses
    ema: float = 0.995
    checkpoint_minutes: float = 5.0
    threads: int = 0
    loader_workers: int = -1  # processes making batches ahead; -1 = auto (CUDA: up to 8, CPU: 0)
    init: str = ""  # weights file to start the generator from (fine-tuning); "" = random init
    stage: str = "all"  # "all": the whole generator; "net": all but the corrector; "coarse"
    coarse: int = 0  # add a coarse corrector of this width if the generator has none
    cuda_graph: bool = True  # on CUDA, replay the parameter-free prior from a CUDA graph


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def make_batch(batch: tuple[np.ndarray, np.ndarray], device: torch.device):
    """numpy batch (see batches.numpy_batch) -> (images (N,3,S,S) float [0,1], masks
    (N,1,S,S) float {0,1}) on device."""
    imgs, masks = batch  # uint8 crosses to the device (4x less to copy), then becomes float
    img_t = torch.from_numpy(imgs).to(device).permute(0, 3, 1, 2).float().div_(255)
    mask_t = torch.from_numpy(masks).to(device).unsqueeze(1).float().div_(255)
    return img_t, mask_t


def net_input(img: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Masked RGB + mask channel: (N,4,H,W)."""
    return torch.cat([img * (1 - mask), mask], dim=1)


def reconstruction_losses(
    pred: torch.Tensor, img: torch.Tensor, mask: torch.Tensor
) -> dict[str, torch.Tensor]:
    """Non-adversarial losses of pred vs img (N,3,H,W) in [0,1], mask (N,1,H,W) {0,1}."""
    comp = pred * mask + img * (1 - mask)
    hole_w = torch.nn.functional.max_pool2d(mask, 5, 1, 2)  # include the hole's rim
    return {
        "l1_hole": losses.masked_l1(pred, img, mask),
        "mse_hole": losses.masked_mse(pred, img, mask),
        "l1_known": losses.masked_l1(pred, img, 1 - mask),
        "grad": losses.gradient_loss(comp, img, hole_w),
        "fft": losses.fft_loss(comp, img),
    }


def reconstruction_loss(cfg: TrainConfig, vals: dict[str, torch.Tensor]) -> torch.Tensor:
    """Weighted sum of reconstruction_losses() with the weights of cfg (scalar tensor)."""
    hole = vals["mse_hole"] if cfg.hole_loss == "mse" else vals["l1_hole"]
    return (
        cfg.w_hole * hole
        + cfg.w_known * vals["l1_known"]
        + cfg.w_grad * vals["grad"]
        + cfg.w_fft * vals["fft"]
    )


def _psnr_each(pred: torch.Tensor, truth: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """Hole PSNR (dB) of each image: (N,3,h,w) in [0,1], hole (N,1,h,w) {0,1} -> (N,)."""
    sq = ((pred - truth).square() * hole).sum(dim=(1, 2, 3))
    mse = sq / (hole.sum(dim=(1, 2, 3)) * pred.shape[1] + 1e-6)
    return -10 * torch.log10(mse + 1e-5)


def coarse_losses(
    gen: InpaintNet, img: torch.Tensor, mask: torch.Tensor, amp
) -> dict[str, torch.Tensor]:
    """Low-res hole metrics of gen's coarse corrector against the area-downscaled truth.

    "loss" = minus the mean per-image hole PSNR (dB), what `evaluate` averages (a pooled MSE
    would favour the worst crops and let the corrector hurt the easy ones); also the pooled
    MSE of the corrected and of the prior fill ("mse_hole", "mse_prior"), their ratio and
    the mean PSNR gain over the prior ("psnr_gain", dB). img (N,3,S,S) in [0,1], mask
    (N,1,S,S) {0,1}."""
    known = 1 - mask
    with torch.no_grad():
        fill = PRIORS[gen.config.prior](img * known, known)
        prior, hole = coarse_inputs(fill, known)
        truth = F.avg_pool2d(img, COARSE_FACTOR, ceil_mode=True)
        psnr_prior = _psnr_each(prior, truth, hole)
    with amp:
        residual = gen.coarse(prior.contiguous(memory_format=torch.channels_last), hole)
    pred = prior + residual.float()
    psnr = _psnr_each(pred, truth, hole)
    mse = losses.masked_mse(pred.detach(), truth, hole)
    mse_prior = losses.masked_mse(prior, truth, hole)
    return {
        "loss": -psnr.mean(),
        "mse_hole": mse,
        "mse_prior": mse_prior,
        "mse_ratio": mse / mse_prior,
        "psnr_gain": (psnr.detach() - psnr_prior).mean(),
    }


def _with_coarse(gen: InpaintNet, width: int, log) -> InpaintNet:
    """gen with a fresh (zero-output) coarse corrector of `width` added; same other weights."""
    new = InpaintNet(replace(gen.config, coarse=width))
    missing, unexpected = new.load_state_dict(gen.state_dict(), strict=False)
    if unexpected or not all(k.startswith("coarse.") for k in missing):
        raise ValueError("cannot add a coarse corrector: the weights do not fit the network")
    log(f"added a coarse corrector of width {width} (starts as a no-op)")
    return new.train()


def _trainable(gen: InpaintNet, stage: str) -> list[torch.nn.Parameter]:
    """The parameters `stage` trains; freezes the others."""
    if stage == "coarse":
        if gen.coarse is None:
            raise ValueError("--stage coarse needs a network with a coarse corrector (--coarse W)")
        for p in gen.parameters():
            p.requires_grad_(False)
        for p in gen.coarse.parameters():
            p.requires_grad_(True)
    elif stage == "net" and gen.coarse is not None:
        for p in gen.coarse.parameters():
            p.requires_grad_(False)
    return [p for p in gen.parameters() if p.requires_grad]


def _lr_at(cfg: TrainConfig, frac: float) -> float:
    frac = min(max(frac, 0.0), 1.0)
    return cfg.lr_min + (cfg.lr - cfg.lr_min) * 0.5 * (1 + math.cos(math.pi * frac))


def _running_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Centred running mean of a 1-D array (same length; the window shrinks at the ends)."""
    if window <= 1:
        return values
    kernel = np.ones(window)
    total = np.convolve(values, kernel, mode="same")
    count = np.convolve(np.ones_like(values), kernel, mode="same")
    return total / count


def plot_losses(
    csv_path: Path,
    png_path: Path,
    keys: tuple[str, ...] = ("l1_hole", "grad", "fft", "adv", "d", "mse_ratio"),
) -> None:
    """Draw the loss curves (columns `keys`) of log.csv into a PNG with OpenCV (no
    matplotlib needed)."""
    import cv2

    with csv_path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if len(rows) < 2:
        return
    colors = [(40, 40, 220), (40, 160, 40), (200, 120, 0), (160, 0, 160), (0, 140, 200), (0, 0, 0)]
    w, h, pad = 900, 420, 50
    img = np.full((h, w, 3), 255, np.uint8)
    steps = np.array([float(r["step"]) for r in rows])
    cv2.rectangle(img, (pad, 20), (w - 20, h - pad), (0, 0, 0), 1)
    drawn = 0
    for key, col in zip(keys, colors[: len(keys)], strict=True):
        vals = np.array([float(r.get(key) or "nan") for r in rows])
        ok = np.isfinite(vals) & (vals > 0)
        if ok.sum() < 2:
            continue
        i, drawn = drawn, drawn + 1
        lv = _running_mean(np.log10(vals[ok]), max(1, int(ok.sum()) // 12))
        lo, hi = lv.min(), lv.max() + 1e-9
        xs = pad + (steps[ok] - steps[0]) / max(1, steps[-1] - steps[0]) * (w - pad - 20)
        ys = (h - pad) - (lv - lo) / (hi - lo) * (h - pad - 20)
        pts = np.stack([xs, ys], 1).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(img, [pts], False, col, 2, cv2.LINE_AA)
        label = f"{key} {10 ** lv[0]:.3g}->{10 ** lv[-1]:.3g}"
        cv2.putText(
            img, label, (pad + 10 + 170 * i, h - 15), cv2.FONT_HERSHEY_SIMPLEX, 0.45, col, 1
        )
    cv2.putText(
        img,
        f"log-scaled per curve, running mean of {max(1, len(rows) // 12)} log rows, "
        f"steps {int(steps[0])}-{int(steps[-1])}",
        (pad, 14),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.45,
        (0, 0, 0),
        1,
    )
    cv2.imwrite(str(png_path), img)


def train(cfg: TrainConfig, resume: bool = False, log=print) -> Path:
    """Run training until the time budget or max_steps; returns the exported weights path."""
    if cfg.hole_loss not in ("l1", "mse"):
        raise ValueError(f"hole_loss must be 'l1' or 'mse', not {cfg.hole_loss!r}")
    if cfg.stage not in ("all", "net", "coarse"):
        raise ValueError(f"stage must be 'all', 'net' or 'coarse', not {cfg.stage!r}")
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "checkpoint.pt"
    device = _device(cfg.device)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed crop size: pick the fastest kernels once
    use_bf16 = device.type == "cuda" or cpu_bf16_is_fast()

    torch.manual_seed(cfg.seed)
    random.seed(cfg.seed)
    net_cfg = NetConfig(base=cfg.base, blocks=cfg.blocks, prior=cfg.prior, coarse=cfg.coarse)
    state = None
    if resume and ckpt_path.exists():
        state = torch.load(ckpt_path, map_location=device, weights_only=False)
        saved = NetConfig(**state["net_config"])
        if saved != net_cfg:  # resuming continues the saved network, whatever cfg says
            log(f"resuming with the checkpoint's network {saved} (config asked for {net_cfg})")
            net_cfg = saved
    if state is None and cfg.init:  # fine-tuning keeps the network of the weights file
        gen, _ = load_weights(cfg.init)
        gen.train()
        log(f"starting from the weights in {cfg.init}")
        if cfg.coarse and gen.coarse is None:
            gen = _with_coarse(gen, cfg.coarse, log)
        net_cfg = gen.config
    else:
        gen = InpaintNet(net_cfg)
    gen = gen.to(device).to(memory_format=torch.channels_last)
    disc = losses.PatchDiscriminator().to(device).to(memory_format=torch.channels_last)
    ema = copy.deepcopy(gen).eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    opt_g = torch.optim.Adam(_trainable(gen, cfg.stage), lr=cfg.lr, betas=(0.9, 0.99))
    opt_d = torch.optim.Adam(disc.parameters(), lr=cfg.d_lr, betas=(0.5, 0.99))
    step, elapsed = 0, 0.0
    if state is not None:
        gen.load_state_dict(state["gen"])
        ema.load_state_dict(state["ema"])
        disc.load_state_dict(state["disc"])
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        step, elapsed = state["step"], state["elapsed"]
        log(f"resumed from {ckpt_path} at step {step} ({elapsed / 60:.1f} min trained)")
        del state
    data = PhotoCrops(cfg.data, crop=cfg.crop)
    loader_workers = cfg.loader_workers
    if loader_workers < 0:  # the GPU would wait for the CPU's crops; on CPU they share cores
        loader_workers = min(8, max(1, (os.cpu_count() or 2) - 1)) if device.type == "cuda" else 0
    log(
        f"training {cfg.stage} on {len(data)} photos, {count_parameters(gen) / 1e6:.2f}M "
        "trained params, "
        f"device={device}, bf16={use_bf16}, batch={cfg.batch}, crop={cfg.crop}, "
        f"loader workers={loader_workers}"
    )

    budget_s = cfg.minutes * 60
    csv_path = out / "log.csv"
    fields = [
        "step",
        "elapsed_min",
        "lr",
        "l1_hole",
        "mse_hole",
        "mse_prior",
        "mse_ratio",
        "psnr_gain",
        "l1_known",
        "grad",
        "fft",
        "adv",
        "fm",
        "d",
        "r1",
        "samples_per_s",
    ]
    new_csv = not (resume and csv_path.exists())
    csv_file = csv_path.open("w" if new_csv else "a", newline="")
    writer = csv.DictWriter(csv_file, fieldnames=fields)
    if new_csv:
        writer.writeheader()

    def save_checkpoint() -> None:
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save(
            {
                "gen": gen.state_dict(),
                "ema": ema.state_dict(),
                "disc": disc.state_dict(),
                "opt_g": opt_g.state_dict(),
                "opt_d": opt_d.state_dict(),
                "step": step,
                "elapsed": elapsed,
                "train_config": asdict(cfg),
                "net_config": net_cfg.to_dict(),
            },
            tmp,
        )
        tmp.replace(ckpt_path)
        save_weights(
            ema,
            out / "weights.pt",
            meta={"step": step, "train_minutes": elapsed / 60, "train_config": asdict(cfg)},
        )
        csv_file.flush()
        plot_losses(csv_path, out / "loss.png")

    amp = torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16)
    last_ckpt = time.time()
    window: dict[str, list[float]] = {}
    t_window, n_window = time.time(), 0
    lr = _lr_at(cfg, elapsed / budget_s) if budget_s > 0 else cfg.lr

    def write_row() -> None:
        """Append the mean of the losses since the last row to log.csv."""
        nonlocal t_window, n_window
        if not window:
            return
        row = {k: f"{np.mean(v):.5f}" for k, v in window.items()}
        row.update(
            step=step,
            elapsed_min=f"{elapsed / 60:.2f}",
            lr=f"{lr:.2e}",
            samples_per_s=f"{n_window / max(time.time() - t_window, 1e-9):.2f}",
        )
        writer.writerow(row)
        window.clear()
        t_window, n_window = time.time(), 0

    graph_checked = device.type != "cuda" or not cfg.cuda_graph
    bar = None
    try:
        from tqdm import tqdm

        bar = tqdm(
            total=int(budget_s),
            initial=int(min(elapsed, budget_s)),
            unit="s",
            desc="train",
            file=sys.stderr,
            dynamic_ncols=True,
        )
    except ImportError:  # pragma: no cover - tqdm is a dependency
        pass
    ema_params, gen_params = list(ema.parameters()), list(gen.parameters())
    ema_buffers, gen_buffers = list(ema.buffers()), list(gen.buffers())
    stream = BatchStream(data, cfg.data, cfg.seed, step, cfg.batch, workers=loader_workers)
    try:
        while (elapsed < budget_s) and (cfg.max_steps == 0 or step < cfg.max_steps):
            t0 = time.time()
            lr = _lr_at(cfg, elapsed / budget_s)
            for g in opt_g.param_groups:
                g["lr"] = lr
            img, mask = make_batch(next(stream), device)
            img = img.contiguous(memory_format=torch.channels_last)
            if not graph_checked:  # capture the prior on the first batch (fixed shapes)
                graph_checked = True
                error = gen.graph_prior(net_input(img, mask))
                log(
                    f"prior: CUDA graph replay (max difference from a direct call {error:.2g})"
                    if gen._graphed_prior is not None
                    else f"prior: direct calls (CUDA graph capture failed or differed: {error})"
                )
            gan_on = step >= cfg.gan_start and cfg.w_adv > 0 and cfg.stage != "coarse"
            # Generator step.
            if cfg.stage == "coarse":
                vals = coarse_losses(gen, img, mask, amp)
                loss_g = vals.pop("loss")
            else:
                with amp:
                    x = net_input(img, mask).contiguous(memory_format=torch.channels_last)
                    pred = gen(x)
                pred = pred.float()
                comp = pred * mask + img * (1 - mask)
                vals = reconstruction_losses(pred, img, mask)
                loss_g = reconstruction_loss(cfg, vals)
            if gan_on:
                for p in disc.parameters():
                    p.requires_grad_(False)
                with amp:
                    fake_logits, fake_feats = disc(comp)
                    with torch.no_grad():
                        _, real_feats = disc(img)
                vals["adv"] = losses.g_adv_loss(fake_logits.float(), mask)
                vals["fm"] = losses.feature_matching(
                    [f.float() for f in real_feats], [f.float() for f in fake_feats]
                )
                loss_g = loss_g + cfg.w_adv * vals["adv"] + cfg.w_fm * vals["fm"]
                for p in disc.parameters():
                    p.requires_grad_(True)
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            torch.nn.utils.clip_grad_norm_(opt_g.param_groups[0]["params"], 5.0)
            opt_g.step()
            # Discriminator step.
            if gan_on:
                real = img.detach().requires_grad_(step % cfg.r1_every == 0)
                with amp:
                    real_logits, _ = disc(real)
                    fake_logits, _ = disc(comp.detach())
                loss_d = losses.d_loss(real_logits.float(), fake_logits.float(), mask)
                vals["d"] = loss_d
                if real.requires_grad:
                    r1 = losses.r1_penalty(real_logits.float(), real)
                    vals["r1"] = r1
                    loss_d = loss_d + cfg.r1_gamma * cfg.r1_every * 0.5 * r1
                opt_d.zero_grad(set_to_none=True)
                loss_d.backward()
                opt_d.step()
            # EMA of the generator (parameters and BN statistics).
            with torch.no_grad():  # one fused call per list: fewer launches on a GPU
                decay = min(cfg.ema, (1 + step) / (10 + step))
                torch._foreach_lerp_(ema_params, gen_params, 1 - decay)
                torch._foreach_copy_(ema_buffers, gen_buffers)
            step += 1
            dt = time.time() - t0
            elapsed += dt
            n_window += cfg.batch
            for k, v in vals.items():
                window.setdefault(k, []).append(float(v.detach()))
            if bar is not None:
                bar.update(int(elapsed) - bar.n)
                bar.set_postfix(
                    step=step,
                    loss=f"{float(loss_g.detach()):.4f}",
                    sps=f"{cfg.batch / dt:.1f}",
                )
            if step % 25 == 0:
                write_row()
            if time.time() - last_ckpt > cfg.checkpoint_minutes * 60:
                save_checkpoint()
                last_ckpt = time.time()
    except KeyboardInterrupt:  # keep the work done so far, then let the caller stop
        write_row()
        save_checkpoint()
        if bar is not None:
            bar.close()
        csv_file.close()
        log(f"interrupted at step {step}; checkpoint saved, continue with --resume")
        raise
    finally:
        stream.close()
    write_row()
    save_checkpoint()
    if bar is not None:
        bar.close()
    csv_file.close()
    log(f"done: step {step}, {elapsed / 60:.1f} min; weights in {out / 'weights.pt'}")
    return out / "weights.pt"
