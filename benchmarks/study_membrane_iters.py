"""How many relaxation steps the smooth priors need: hole PSNR and time per schedule.

Run: .venv/bin/python benchmarks/study_membrane_iters.py --data data/train [--limit 20]
     [--schedules 0:0,32:8,32:8:16,m6:2:5] [--seed 0] [--threads 1] [--write-docs]

Each schedule is COARSE:FINE[:STEPS[:MU]]: Jacobi steps per coarse pyramid level : steps at
full resolution of ``backends.ffc_net.pyramid_fill`` (0:0 is the plain push-pull fill;
``membrane_fill`` uses 32:8), then STEPS conjugate-gradient steps of
``backends.ffc_net.tension_relax`` with curvature weight MU (default 1; ``tension_fill``
uses 32:8:16:1). mSTEPS:SMOOTH:LEVELS[:MU] is ``backends.ffc_net.multigrid_fill`` (the same
energy, solved by STEPS multigrid-preconditioned CG steps, SMOOTH Jacobi steps per
level, LEVELS coarser levels; the shipped prior is m6:2:5). Cases are the evaluation's
(``make_case``, seed ``--seed``, all four mask kinds) on whole photos, without the region
pipeline. Tune on training photos (``data/train``), not on ``val``.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common as c  # noqa: E402
import numpy as np  # noqa: E402

KINDS = ("scratch", "thin", "medium", "thick")


def _schedule(text: str) -> Callable:
    """'32:8', '32:8:16', '32:8:16:0.5' (pyramid_fill, then tension_relax CG steps with mu) or
    'm6:2:5[:0.5]' (multigrid_fill: PCG steps, smoothing steps, grid levels, mu) -> a fill
    (rgb (1,3,H,W), known (1,1,H,W)) -> (1,3,H,W)."""
    from inpaint_studio.backends.ffc_net import multigrid_fill, pyramid_fill, tension_relax

    if text.startswith("m"):
        parts = text[1:].split(":")
        steps, smooth, levels = (int(v) for v in parts[:3])
        mu = float(parts[3]) if len(parts) > 3 else 1.0
        return functools.partial(
            multigrid_fill, steps=steps, mu=mu, smooth=smooth, grid_levels=levels
        )
    parts = text.split(":")
    coarse, fine = int(parts[0]), int(parts[1])
    steps = int(parts[2]) if len(parts) > 2 else 0
    mu = float(parts[3]) if len(parts) > 3 else 1.0

    def fill(rgb, known):
        out = pyramid_fill(rgb, known, 12, coarse, fine)
        return tension_relax(out, known, steps, mu) if steps else out

    return fill


def main() -> int:
    import torch

    from inpaint_studio.training.data import list_photos, read_rgb
    from inpaint_studio.training.evaluate import make_case, psnr

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    c.add_common_args(parser)
    c.add_photo_args(parser, limit=20)
    parser.add_argument("--schedules", default="0:0,8:8,16:8,32:8,64:8,32:16,32:4")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    labels = args.schedules.split(",")
    schedules = {label: _schedule(label) for label in labels}
    scores = {(label, k): [] for label in labels for k in KINDS}
    seconds = dict.fromkeys(labels, 0.0)
    paths = list_photos(args.data)[: args.limit]
    for index, path in enumerate(paths):
        truth = read_rgb(path)
        for kind in KINDS:
            noisy, mask = make_case(truth, kind, args.seed, index)
            hole = mask != 0
            img = torch.from_numpy(noisy).permute(2, 0, 1)[None].float() / 255
            known = torch.from_numpy((~hole).astype(np.float32))[None, None]
            with torch.inference_mode():
                for label, fill in schedules.items():
                    start = time.perf_counter()
                    out = fill(img * known, known)
                    seconds[label] += time.perf_counter() - start
                    pixels = out[0].permute(1, 2, 0).mul(255).round().clamp(0, 255).byte().numpy()
                    scores[(label, kind)].append(psnr(pixels, truth, hole))
    cases = len(paths) * len(KINDS)
    rows = [
        [
            label,
            *(f"{np.mean(scores[(label, k)]):.2f}" for k in KINDS),
            c.fmt_s(seconds[label] / cases),
        ]
        for label in labels
    ]
    body = "\n".join(
        [
            f"{len(paths)} photos of `{args.data}`, seed {args.seed}, whole photos, "
            f"{args.threads} torch thread(s). Hole PSNR (dB) per mask kind; time per fill.",
            "",
            c.markdown_table(["coarse:fine[:CG steps[:mu]]", *KINDS, "time"], rows),
        ]
    )
    c.report("study_membrane_iters", "Smooth priors: relaxation steps", body, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
