"""Train the damage detector (`backends.damage_net.DamageNet`) on synthetic scan damage.

Crops of a photo folder get damage drawn by `training.damage_synth.damage_crop`; the loss is
binary cross-entropy (damage pixels weighted `pos_weight`) plus a soft Dice term, Adam with a
cosine learning rate. Time budget (`minutes`) and/or `max_steps`, a checkpoint every
`save_every` steps and at the end (`--resume` continues it), a CSV log and a loss-curve PNG,
fixed seed: batch k depends only on (seed, k). bf16 autocast on CPUs where it is fast.
"""

from __future__ import annotations

import csv
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from inpaint_studio.backends.damage_net import DamageNet, features, load_detector, save_detector
from inpaint_studio.backends.torch_utils import autocast_for, pick_precision
from inpaint_studio.training.damage_synth import damage_crop
from inpaint_studio.training.data import PhotoCrops
from inpaint_studio.training.train import _lr_at, plot_losses

FIELDS = ["step", "seconds", "loss", "bce", "dice", "lr"]


@dataclass
class DetectorConfig:
    """Settings of one detector training run (stored in the checkpoint and the weights)."""

    data: str
    out: str
    minutes: float = 30.0
    max_steps: int = 0  # 0: until the time budget
    batch: int = 16
    crop: int = 192
    lr: float = 2e-3
    lr_min: float = 1e-4
    pos_weight: float = 3.0
    seed: int = 0
    init: str = ""  # start from these detector weights (a fine-tune); "" = from scratch
    threads: int = 0  # 0: torch's default
    device: str = "cpu"
    save_every: int = 200
    log_every: int = 10


def make_batch(crops: PhotoCrops, cfg: DetectorConfig, step: int):
    """Batch `step`: ((N,4,S,S) float32 input, (N,1,S,S) float32 {0,1} labels), numpy."""
    rng = np.random.default_rng([cfg.seed, step])
    xs, ys = [], []
    for _ in range(cfg.batch):
        img, label = damage_crop(crops.sample(rng), rng)
        xs.append(features(img))
        ys.append(label[None].astype(np.float32))
    return np.stack(xs), np.stack(ys)


def detector_loss(logits: torch.Tensor, labels: torch.Tensor, pos_weight: float):
    """(N,1,H,W) logits and {0,1} labels -> (total, bce, dice) scalars."""
    weight = torch.tensor(pos_weight, device=logits.device)
    bce = F.binary_cross_entropy_with_logits(logits, labels, pos_weight=weight)
    prob = torch.sigmoid(logits)
    inter = (prob * labels).sum()
    dice = 1 - (2 * inter + 1) / (prob.sum() + labels.sum() + 1)
    return bce + dice, bce, dice


def train_detector(cfg: DetectorConfig, resume: bool = False, log=print) -> Path:
    """Run until the time budget or max_steps; returns the path of the exported weights."""
    if cfg.minutes <= 0 and cfg.max_steps <= 0:
        raise ValueError("give a time budget (minutes) or max_steps")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    crops = PhotoCrops(cfg.data, crop=cfg.crop, scale=(0.5, 1.5))
    if cfg.init:
        try:
            net, _ = load_detector(cfg.init, cfg.device)
        except Exception as exc:  # noqa: BLE001 - torch.load's errors on damaged files vary
            raise ValueError(f"cannot read the detector weights {cfg.init}: {exc}") from exc
        net.train()
    else:
        net = DamageNet().to(cfg.device)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    step, spent = 0, 0.0
    ckpt = out / "checkpoint.pt"
    if resume and ckpt.exists():
        blob = torch.load(str(ckpt), map_location=cfg.device, weights_only=False)
        net.load_state_dict(blob["net"])
        opt.load_state_dict(blob["opt"])
        step, spent = int(blob["step"]), float(blob["seconds"])
        log(f"resumed at step {step} ({spent / 60:.1f} min trained)")
    precision = pick_precision(cfg.device)
    if cfg.device == "cpu":
        net = net.to(memory_format=torch.channels_last)
    csv_path = out / "log.csv"
    if not (resume and csv_path.exists()):
        with csv_path.open("w", newline="") as f:
            csv.DictWriter(f, fieldnames=FIELDS).writeheader()
    budget = cfg.minutes * 60 if cfg.minutes > 0 else math.inf
    start = time.perf_counter() - spent
    rows: list[dict] = []

    def save() -> None:
        nonlocal rows
        seconds = time.perf_counter() - start
        torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "step": step,
                    "seconds": seconds, "config": asdict(cfg)}, str(ckpt))  # fmt: skip
        with csv_path.open("a", newline="") as f:
            csv.DictWriter(f, fieldnames=FIELDS).writerows(rows)
        rows = []
        plot_losses(csv_path, out / "loss.png", keys=("bce", "dice"))
        meta = {"config": asdict(cfg), "steps": step, "seconds": round(seconds, 1),
                "precision": precision}  # fmt: skip
        save_detector(net, out / "weights.pt", meta)

    net.train()
    acc = np.zeros(3)
    while True:
        elapsed = time.perf_counter() - start
        if elapsed >= budget or (cfg.max_steps and step >= cfg.max_steps):
            break
        frac = step / cfg.max_steps if cfg.max_steps else elapsed / budget
        for group in opt.param_groups:
            group["lr"] = _lr_at(cfg, frac)
        x, y = make_batch(crops, cfg, step)
        xt = torch.from_numpy(x).to(cfg.device)
        if cfg.device == "cpu":
            xt = xt.contiguous(memory_format=torch.channels_last)
        yt = torch.from_numpy(y).to(cfg.device)
        with autocast_for(cfg.device, precision):
            logits = net(xt)
        loss, bce, dice = detector_loss(logits.float(), yt, cfg.pos_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        acc += [loss.item(), bce.item(), dice.item()]
        if step % cfg.log_every == 0:
            mean = acc / cfg.log_every
            acc[:] = 0
            rows.append({"step": step, "seconds": round(time.perf_counter() - start, 1),
                         "loss": f"{mean[0]:.5f}", "bce": f"{mean[1]:.5f}",
                         "dice": f"{mean[2]:.5f}", "lr": f"{_lr_at(cfg, frac):.6f}"})  # fmt: skip
            rate = step * cfg.batch / max(time.perf_counter() - start, 1e-9)
            log(f"step {step} loss {mean[0]:.4f} (bce {mean[1]:.4f}, dice {mean[2]:.4f}) "
                f"{rate:.1f} crops/s, {(time.perf_counter() - start) / 60:.1f} min")  # fmt: skip
        if step % cfg.save_every == 0:
            save()
    save()
    return out / "weights.pt"
