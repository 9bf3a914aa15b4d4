"""Train the coarse corrector on cached whole-photo-sized cases (`train-corrector`).

`--stage coarse` of `train` solves the multigrid prior on every 256 px crop as it goes: on a
2-core CPU that solve is most of a step (about 0.1 s per 320x480 crop, bound by memory
traffic), and a 256 px crop holding a thick mask (strokes up to 255 px wide, boxes up to
300 px) leaves the corrector far less context than a whole photo gives it at inference.
The corrector reads only the prior's fill pooled to 1/4 size and the pooled hole, so both
can be computed once: `build_cache` draws 320x480 crops (480x320 for portrait photos; a
BSDS-sized photo almost whole), masks from the training mixture, solves the prior and keeps
(pooled fill, pooled hole, pooled truth) at 80x120, 134 kB a case, in shards of up to
`SHARD` cases. `train_on_cache` then fine-tunes the corrector on random batches of the
cache (horizontal flips; loss: minus the mean per-case hole PSNR at 1/4 size, as `--stage
coarse`, with the residual faded in from the rim as inference fades it unless `fade` is
off) at hundreds of cases a second, with an EMA copy, a cosine learning rate and a held-out
cache (`--val-data`) scored every `check_every` steps; the EMA weights are written into a
copy of the initial weights file (all other tensors unchanged): `weights.pt` at the end,
`best.pt` at the check with the best held-out gain (if any beat the initial weights);
`log.csv` and `curve.png` (train and held-out gain) beside them. The file's metadata keeps
this stage's settings and those of the stages its corrector came from.
"""

from __future__ import annotations

import copy
import csv
import glob
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.nn import functional as F

from inpaint_studio.backends.coarse_net import COARSE_FACTOR, coarse_inputs, ring_fade
from inpaint_studio.backends.ffc_net import PRIORS
from inpaint_studio.backends.weights import load_weights, save_weights
from inpaint_studio.training.data import list_photos, read_rgb
from inpaint_studio.training.masks import random_training_mask
from inpaint_studio.training.train import plot_losses

SHAPE = (320, 480)  # (short, long) side of a cached case, px
SCALE_MAX = 1.25  # photos are scaled by a random factor from "just fits" to this
SHARD = 256  # cases drawn per shard (split into a landscape and a portrait file)
FIELDS = ["step", "seconds", "loss", "train_gain", "val_gain", "lr"]


@dataclass
class CacheConfig:
    """One cache: photos from `data`, cases drawn with `seed`, until `shards` or `minutes`."""

    data: str
    cache: str
    seed: int = 1
    shards: int = 0  # 0: until the time budget
    minutes: float = 0.0  # 0: until `shards`
    prior: str = "multigrid"
    threads: int = 0


@dataclass
class CorrectorConfig:
    """Settings of one fine-tune of the corrector on a cache."""

    cache: str
    val_cache: str
    init: str
    out: str
    minutes: float = 40.0
    max_steps: int = 0  # 0: until the time budget
    batch: int = 32
    lr: float = 3e-4
    lr_min_frac: float = 0.05
    ema: float = 0.995
    seed: int = 0
    threads: int = 0
    check_every: int = 200
    fade: bool = True  # score the residual faded in from the rim, as inference adds it


def _draw_case(images: list[np.ndarray], rng: np.random.Generator):
    """One random case: (landscape?, (H,W,3) uint8 crop, (H,W) uint8 {0,255} mask)."""
    img = images[int(rng.integers(len(images)))]
    h, w = img.shape[:2]
    land = w >= h
    th, tw = (SHAPE[0], SHAPE[1]) if land else (SHAPE[1], SHAPE[0])
    fit = max(th / h, tw / w)
    f = max(float(rng.uniform(fit, max(fit, SCALE_MAX))), fit)
    if abs(f - 1) > 1e-3:
        size = (max(tw, round(w * f)), max(th, round(h * f)))
        img = cv2.resize(img, size, interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC)
    h, w = img.shape[:2]
    y = int(rng.integers(0, h - th + 1))
    x = int(rng.integers(0, w - tw + 1))
    crop = img[y : y + th, x : x + tw]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    return land, np.ascontiguousarray(crop), random_training_mask((th, tw), rng)


@torch.no_grad()
def _pooled_case(crop: np.ndarray, mask: np.ndarray, prior: str):
    """(H,W,3) uint8 crop, (H,W) mask -> pooled (fill, hole, truth) tensors, (1,C,H/4,W/4)."""
    img = torch.from_numpy(crop).permute(2, 0, 1)[None].float() / 255
    known = 1 - torch.from_numpy(mask)[None, None].float() / 255
    fill = PRIORS[prior](img * known, known)
    small_fill, small_hole = coarse_inputs(fill, known)
    truth = F.avg_pool2d(img, COARSE_FACTOR, ceil_mode=True)
    return small_fill.half(), small_hole.to(torch.uint8), truth.half()


def build_cache(cfg: CacheConfig, log=print) -> int:
    """Write shards of cases to cfg.cache; returns the number of cases written.

    Shard k is the same for a given (data, seed) however the run is budgeted."""
    if cfg.shards <= 0 and cfg.minutes <= 0:
        raise ValueError("give a number of shards or a time budget (minutes)")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.cache)
    out.mkdir(parents=True, exist_ok=True)
    images = [read_rgb(p) for p in list_photos(cfg.data)]
    rng = np.random.default_rng(cfg.seed)
    start = time.perf_counter()
    shard = cases = 0
    while not (cfg.shards and shard >= cfg.shards):
        if cfg.minutes and time.perf_counter() - start >= cfg.minutes * 60:
            break
        groups: dict[bool, list] = {True: [], False: []}
        for _ in range(SHARD):
            land, crop, mask = _draw_case(images, rng)
            groups[land].append((crop, mask))
        for land, items in groups.items():
            if not items:
                continue
            parts = [_pooled_case(crop, mask, cfg.prior) for crop, mask in items]
            fill, hole, truth = (torch.cat(t).numpy() for t in zip(*parts, strict=True))
            name = f"s{cfg.seed}_{shard:04d}_{'L' if land else 'P'}.npz"
            np.savez(out / name, fill=fill, hole=hole, truth=truth)
        shard += 1
        cases += SHARD
        log(f"{cases} cases in {time.perf_counter() - start:.0f} s")
    return cases


def load_cache(folder: str | Path) -> dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Cache shards -> {"L"/"P": (fill (N,3,h,w) f16, hole (N,1,h,w) u8, truth f16)}."""
    groups: dict[str, list] = {}
    files = sorted(glob.glob(str(Path(folder) / "*.npz")))
    if not files:
        raise ValueError(f"no cache shards (*.npz) in {folder}")
    for name in files:
        with np.load(name) as data:
            groups.setdefault(name[-5], []).append({k: data[k] for k in ("fill", "hole", "truth")})
    return {
        key: tuple(torch.from_numpy(np.concatenate([s[k] for s in shards])) for k in
                   ("fill", "hole", "truth"))
        for key, shards in groups.items()
    }  # fmt: skip


def psnr_each(pred: torch.Tensor, truth: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """Hole PSNR (dB) of each image: (N,3,h,w) in [0,1], hole (N,1,h,w) {0,1} -> (N,)."""
    sq = ((pred - truth).square() * hole).sum(dim=(1, 2, 3))
    mse = sq / (hole.sum(dim=(1, 2, 3)) * pred.shape[1] + 1e-6)
    return -10 * torch.log10(mse + 1e-5)


def block_fade(hole: torch.Tensor) -> torch.Tensor:
    """(N,1,h,w) 1/4-size hole {0,1} -> the share of the residual each block gets, in [0,1].

    `depth_weight` at block level, from the pooled hole alone: a hole block whose 3x3
    neighbourhood holds a known block scores 0, one next to such a block 1/2, deeper ones 1.
    (Inference scores a block 0 only if it holds a known pixel; the cache keeps no finer
    hole, so this is one block stricter.)"""
    return ring_fade(-F.max_pool2d(-hole, 3, 1, 1))


def _gains(corrector, fill, hole, truth, fade: bool = True) -> torch.Tensor:
    """Per-case PSNR gain (dB) of the corrected over the prior fill, float inputs."""
    with torch.autocast("cpu", torch.bfloat16):
        residual = corrector(fill.contiguous(memory_format=torch.channels_last), hole).float()
    if fade:
        residual = residual * block_fade(hole)
    return psnr_each(fill + residual, truth, hole) - psnr_each(fill, truth, hole)


@torch.no_grad()
def mean_gain(corrector, cache: dict, batch: int = 64, fade: bool = True) -> float:
    """Mean per-case hole PSNR gain (dB, 1/4 size) of `corrector` over a whole cache."""
    gains = []
    for fill, hole, truth in cache.values():
        for i in range(0, len(fill), batch):
            part = (t[i : i + batch].float() for t in (fill, hole, truth))
            gains.append(_gains(corrector, *part, fade=fade))
    return torch.cat(gains).mean().item()


def train_on_cache(cfg: CorrectorConfig, log=print) -> Path:
    """Fine-tune the corrector of cfg.init on cfg.cache; returns the written weights path."""
    if cfg.minutes <= 0 and cfg.max_steps <= 0:
        raise ValueError("give a time budget (minutes) or max_steps")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    data, val = load_cache(cfg.cache), load_cache(cfg.val_cache)
    try:
        net, meta = load_weights(cfg.init)
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the weights {cfg.init}: {exc}") from exc
    if net.coarse is None:
        raise ValueError(f"{cfg.init} has no coarse corrector to fine-tune")
    corrector = net.coarse.train()
    earlier = meta.get("corrector_cache_earlier", [])  # stages this file's corrector came from
    if "corrector_cache_stage" in meta:
        earlier = [*earlier, meta["corrector_cache_stage"]]
    ema = copy.deepcopy(corrector).eval()
    opt = torch.optim.Adam(corrector.parameters(), lr=cfg.lr, betas=(0.9, 0.99))
    start_gain = mean_gain(ema, val, fade=cfg.fade)
    log(f"held-out gain of the initial corrector: {start_gain:.3f} dB")
    keys = sorted(data)
    weights = np.array([len(data[k][0]) for k in keys], float)
    rng = np.random.default_rng(cfg.seed)
    budget = cfg.minutes * 60 if cfg.minutes > 0 else math.inf
    csv_path = out / "log.csv"
    with csv_path.open("w", newline="") as f:
        csv.DictWriter(f, fieldnames=FIELDS).writeheader()
    start, step, recent, best = time.perf_counter(), 0, [], start_gain

    def save(val_gain: float) -> None:
        """weights.pt: the EMA corrector now; best.pt: the one with the best held-out gain."""
        nonlocal best
        net.coarse = ema
        info = {"config": asdict(cfg), "steps": step, "val_gain_db": round(val_gain, 4),
                "seconds": round(time.perf_counter() - start, 1)}  # fmt: skip
        new_meta = {**meta, "corrector_cache_stage": info, "corrector_cache_earlier": earlier}
        save_weights(net, out / "weights.pt", new_meta)
        if val_gain > best:
            best = val_gain
            save_weights(net, out / "best.pt", new_meta)
        net.coarse = corrector

    while True:
        elapsed = time.perf_counter() - start
        if elapsed >= budget or (cfg.max_steps and step >= cfg.max_steps):
            break
        frac = step / cfg.max_steps if cfg.max_steps else elapsed / budget
        cosine = 0.5 * (1 + math.cos(math.pi * frac))
        lr = cfg.lr * (cfg.lr_min_frac + (1 - cfg.lr_min_frac) * cosine)
        for group in opt.param_groups:
            group["lr"] = lr
        key = keys[int(rng.choice(len(keys), p=weights / weights.sum()))]
        idx = torch.from_numpy(rng.integers(0, len(data[key][0]), cfg.batch))
        fill, hole, truth = (t[idx].float() for t in data[key])
        if rng.random() < 0.5:
            fill, hole, truth = fill.flip(-1), hole.flip(-1), truth.flip(-1)
        gain = _gains(corrector, fill, hole, truth, cfg.fade)
        loss = -(psnr_each(fill, truth, hole) + gain).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(corrector.parameters(), 5.0)
        opt.step()
        with torch.no_grad():
            for p_ema, p in zip(ema.parameters(), corrector.parameters(), strict=True):
                p_ema.lerp_(p, 1 - cfg.ema)
        step += 1
        recent.append(gain.mean().item())
        if step % cfg.check_every == 0:
            val_gain = mean_gain(ema, val, fade=cfg.fade)
            row = {"step": step, "seconds": round(time.perf_counter() - start, 1),
                   "loss": f"{loss.item():.4f}", "train_gain": f"{np.mean(recent):.4f}",
                   "val_gain": f"{val_gain:.4f}", "lr": f"{lr:.6f}"}  # fmt: skip
            recent = []
            with csv_path.open("a", newline="") as f:
                csv.DictWriter(f, fieldnames=FIELDS).writerow(row)
            log(f"step {step}: train gain {row['train_gain']} dB, held-out gain "
                f"{val_gain:.3f} dB (start {start_gain:.3f}), {row['seconds']} s")  # fmt: skip
            save(val_gain)
            plot_losses(csv_path, out / "curve.png", ("train_gain", "val_gain"))
    save(mean_gain(ema, val, fade=cfg.fade))
    return out / "weights.pt"
