"""Seconds per training step of the generator (forward + backward), with the smooth prior
called directly and, on CUDA, replayed from a CUDA graph (backends/cuda_graph.py).

    python benchmarks/bench_train_step.py --device cuda --batches 64,256
    python benchmarks/bench_train_step.py --device cpu --batches 4 --repeats 3

Synthetic 256 px crops (random colours, smoothed) with training masks; the shipped
weights. Prints one row per batch size: prior alone and the whole step, each direct and
graphed, and the largest difference of the graphed prior from a direct call. Timings are
medians after a warm-up; only compare rows of one run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from inpaint_studio.backends.ffc_net import PRIORS  # noqa: E402
from inpaint_studio.backends.weights import load_weights  # noqa: E402
from inpaint_studio.paths import resources_dir  # noqa: E402
from inpaint_studio.training.masks import random_training_mask  # noqa: E402
from inpaint_studio.training.train import net_input  # noqa: E402


def _batch(n: int, size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(images (n,3,S,S) in [0,1], masks (n,1,S,S) {0,1}) on device, seed 0."""
    rng = np.random.default_rng(0)
    img = torch.rand(n, 3, size // 8, size // 8, generator=torch.Generator().manual_seed(0))
    img = torch.nn.functional.interpolate(img, size=(size, size), mode="bilinear")
    masks = np.stack([random_training_mask((size, size), rng) for _ in range(n)]) / 255.0
    mask = torch.from_numpy(masks).float().unsqueeze(1)
    return img.to(device), mask.to(device)


def _median_seconds(fn, device: torch.device, repeats: int) -> float:
    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    fn()
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _row(n: int, size: int, device: torch.device, repeats: int) -> str:
    """One table row for batch size n."""
    gen, _ = load_weights(resources_dir() / "models" / "inpaint_ffc.pt")
    gen = gen.to(device).train().to(memory_format=torch.channels_last)
    img, mask = _batch(n, size, device)
    x = net_input(img, mask).contiguous(memory_format=torch.channels_last)
    known = (1 - mask).contiguous()
    rgb = (img * known).contiguous()
    amp = torch.autocast(device.type, dtype=torch.bfloat16)

    def step() -> None:
        with amp:
            out = gen(x)
        out.float().mean().backward()

    def prior() -> None:
        with torch.no_grad():
            PRIORS[gen.config.prior](rgb, known)

    prior_direct = _median_seconds(prior, device, repeats)
    step_direct = _median_seconds(step, device, repeats)
    error = gen.graph_prior(x)
    graphed = gen._graphed_prior
    if graphed is not None:
        prior_graph = _median_seconds(lambda: graphed(rgb, known), device, repeats)
        step_graph = _median_seconds(step, device, repeats)
        cells = f"{prior_graph:.4f} | {step_direct:.4f} | {step_graph:.4f} | "
        rates = f"{n / step_direct:.0f} / {n / step_graph:.0f}"
    else:
        cells = f"- | {step_direct:.4f} | - | "
        rates = f"{n / step_direct:.0f} / -"
    diff = "-" if error is None else f"{error:.2g}"
    return f"| {n} | {prior_direct:.4f} | {cells}{rates} | {diff} |"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batches", default="64,256", help="comma-separated batch sizes")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=10)
    args = ap.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        print("device:", torch.cuda.get_device_name(0), "torch", torch.__version__)
    print(
        "| batch | prior direct (s) | prior graphed (s) | step direct (s) | step graphed (s) "
        "| step crops/s direct / graphed | max diff |"
    )
    print("|---:|---:|---:|---:|---:|---|---:|")
    for n in (int(b) for b in args.batches.split(",")):
        print(_row(n, args.size, device, args.repeats), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
