"""Model speed: one 512x512 fill with our network (fp32 vs bf16 on CPU; CUDA when present).

    .venv/bin/python benchmarks/bench_model_speed.py [--repeats 10] [--size 512]

Times `NeuralInpainter.inpaint` (tensor conversion, forward pass, compositing) on a photo-like
512x512 crop with a 10% mask, median of N runs after two warm-up runs, with the whole
network (as for holes wider than neural.REFINE_MIN_WIDTH) and without the FFC network (the
path holes up to that width take; this mask's stroke is 42 px wide), and the coarse
corrector's share (when the weights have one); then the network's smooth prior alone on the
same input (its share of each fill), and the other priors.
Target: at most 0.5 s on the 2-core development CPU.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common as c  # noqa: E402
import numpy as np  # noqa: E402


def _case(size: int) -> tuple[np.ndarray, np.ndarray]:
    """(size,size,3) uint8 photo-like image and (size,size) uint8 mask covering ~10%."""
    import cv2

    from inpaint_studio import paths

    photo = cv2.imread(str(paths.sample_photo()))[:, :, ::-1]
    image = np.ascontiguousarray(cv2.resize(photo, (size, size), interpolation=cv2.INTER_AREA))
    mask = np.zeros((size, size), np.uint8)
    cv2.line(mask, (size // 8, size // 5), (size * 7 // 8, size * 4 // 5), 255, size // 12)
    return image, mask


def _time(fn, repeats: int) -> float:
    """Median seconds of fn() over `repeats` calls, after two warm-up calls."""
    for _ in range(2):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _time_prior(name: str, image, mask, repeats: int) -> float:
    """Median seconds of the network's smooth prior alone on the same padded input (CPU)."""
    import torch

    from inpaint_studio.backends.ffc_net import PRIORS
    from inpaint_studio.backends.torch_utils import to_tensors

    img, m, _size = to_tensors(image, mask, "cpu", 8)
    img, m = img.contiguous(), m.contiguous()  # plain NCHW, as InpaintNet.forward hands it over
    with torch.inference_mode():
        return _time(lambda: PRIORS[name](img * (1 - m), 1 - m), repeats)


def _time_traced_prior(net, image, mask, repeats: int) -> float:
    """Median seconds of the network's traced prior (what a fill runs) on the same input."""
    import torch

    from inpaint_studio.backends.torch_utils import to_tensors

    img, m = (t.contiguous() for t in to_tensors(image, mask, "cpu", 8)[:2])
    with torch.inference_mode(), torch.jit.optimized_execution(False):
        return _time(lambda: net._traced_prior(img * (1 - m), 1 - m), repeats)


def _time_coarse(net, precision: str, image, mask, repeats: int) -> float:
    """Median seconds of the coarse corrector's share of a fill (pooling the prior's fill,
    its U-Net and upsampling, plus the rim fade) on the same padded input."""
    import torch

    from inpaint_studio.backends.coarse_net import faded_residual
    from inpaint_studio.backends.ffc_net import PRIORS
    from inpaint_studio.backends.torch_utils import to_tensors

    img, m, _size = to_tensors(image, mask, "cpu", 8)
    img, m = img.contiguous(), m.contiguous()
    amp = torch.autocast("cpu", torch.bfloat16, enabled=precision == "bf16")
    with torch.inference_mode():
        fill = PRIORS[net.config.prior](img * (1 - m), 1 - m)
        with amp:
            return _time(lambda: faded_residual(net.coarse, fill, 1 - m), repeats)


def main() -> None:
    """Print a markdown table of median seconds per fill."""
    import torch

    from inpaint_studio.backends.neural import NeuralInpainter
    from inpaint_studio.backends.torch_utils import cpu_supports_bf16

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--devices", default="cpu,cuda", help="cpu, cuda or both (cuda if present)")
    args = ap.parse_args()
    devices = {d.strip() for d in args.devices.split(",")}
    image, mask = _case(args.size)
    rows = []
    precisions = ["fp32"] + (["bf16"] if cpu_supports_bf16() else [])
    if "cpu" not in devices:
        precisions = []
    for precision in precisions:
        net = NeuralInpainter(precision=precision)
        net.load("cpu")
        net.refine_min_width = 0  # the whole network, whatever the hole's width
        rows.append((f"CPU {precision}", _time(partial(net.inpaint, image, mask), args.repeats)))
        net.refine_min_width = math.inf
        seconds = _time(partial(net.inpaint, image, mask), args.repeats)
        rows.append((f"CPU {precision}: without the FFC network (thin holes)", seconds))
        if net.net.coarse is not None:
            seconds = _time_coarse(net.net, precision, image, mask, args.repeats)
            rows.append((f"CPU {precision}: of which the coarse corrector", seconds))
        prior_name = net.net.config.prior
        if net.net._traced_prior is not None:
            seconds = _time_traced_prior(net.net, image, mask, args.repeats)
            rows.append((f"CPU {precision}: of which the `{prior_name}` prior, traced", seconds))
        net.unload()
    from inpaint_studio.backends.ffc_net import PRIORS

    for name in PRIORS if "cpu" in devices else ():  # untraced, as in training
        role = "the shipped" if name == prior_name else "for comparison, the"
        rows.append(
            (f"CPU: {role} `{name}` prior alone", _time_prior(name, image, mask, args.repeats))
        )
    if "cuda" in devices and torch.cuda.is_available():
        net = NeuralInpainter()
        net.load("cuda")
        net.refine_min_width = 0
        rows.append(
            (
                f"CUDA {net.precision} ({torch.cuda.get_device_name(0)})",
                _time(partial(net.inpaint, image, mask), args.repeats),
            )
        )
        net.unload()
    print(
        f"CPU: {c.cpu_model()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"torch threads {torch.get_num_threads()}"
    )
    print(
        f"Command: python benchmarks/bench_model_speed.py --repeats {args.repeats} "
        f"--size {args.size} --devices {args.devices}\n"
    )
    print(f"| device / precision | {args.size}x{args.size} fill, median s |")
    print("|---|---|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.3f} |")


if __name__ == "__main__":
    main()
