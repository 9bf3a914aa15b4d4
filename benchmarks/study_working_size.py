"""Quality and cost of our model's working size on big photos (the crop strategy's trigger).

Run: .venv/bin/python benchmarks/study_working_size.py --data ../shared/data/val
     [--limit 20] [--scale 4] [--sizes 256,384,512,768,full] [--seed 0] [--write-docs]

Photos are upscaled ``--scale`` times (bicubic) to stand in for big scans; masks are the
evaluation's (``training.evaluate.make_case`` at the photo's own size, seed ``--seed``,
upscaled nearest-neighbour so the holes grow with the photo) plus the fill-scaling
benchmark's sparse 1% mask (four scratches and two blotches). The hole is filled with noise
as in ``inpaint-studio evaluate``. Every case runs through ``core.pipeline.inpaint_image``
("crop") with the backend's ``working_size`` replaced by each value of ``--sizes``
("full" = no downscaling). Reported per mask kind and size: hole PSNR, gradient ratio (see
the evaluation), model input megapixels and seconds per photo.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common as c  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402
from bench_fill_scaling import TimedInpainter  # noqa: E402

SPARSE = "sparse 1%"


def big_cases(truth: np.ndarray, kinds: list[str], seed: int, index: int, scale: int):
    """Yield (kind, big truth, big noisy input, big mask) for one photo."""
    from inpaint_studio.training.evaluate import make_case

    h, w = truth.shape[:2]
    big = cv2.resize(truth, (w * scale, h * scale), interpolation=cv2.INTER_CUBIC)
    rng = np.random.default_rng([seed, index, 99])
    for kind in kinds:
        if kind == SPARSE:
            mask = c.scratch_mask(w * scale, h * scale, 0.01)
        else:
            _noisy, small = make_case(truth, kind, seed, index)
            mask = cv2.resize(small, (w * scale, h * scale), interpolation=cv2.INTER_NEAREST)
        noisy = big.copy()
        hole = mask != 0
        noisy[hole] = rng.integers(0, 256, (int(hole.sum()), 3), dtype=np.uint8)
        yield kind, big, noisy, mask


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    c.add_common_args(parser)
    parser.add_argument("--data", required=True, help="folder of held-out photos (val)")
    parser.add_argument("--limit", type=int, default=20, help="photos used (first N, sorted)")
    parser.add_argument("--scale", type=int, default=4, help="upscale factor of the photos")
    parser.add_argument("--sizes", default="256,384,512,768,full")
    parser.add_argument("--kinds", default=f"thin,medium,thick,{SPARSE}")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from inpaint_studio.backends import registry
    from inpaint_studio.core.pipeline import inpaint_image
    from inpaint_studio.training.data import list_photos, read_rgb
    from inpaint_studio.training.evaluate import gradient_ratio, psnr

    sizes = [None if s.strip() == "full" else int(s) for s in args.sizes.split(",")]
    kinds = [k.strip() for k in args.kinds.split(",")]
    model = registry.create("ours")
    model.load("cpu")
    warm = np.zeros((64, 64), np.uint8)
    warm[20:40, 20:40] = 255
    inpaint_image(np.full((64, 64, 3), 128, np.uint8), warm, model)

    results: dict[tuple[str, int | None], list[tuple[float, float, float, float]]] = {}
    photos = list_photos(args.data)[: args.limit]
    for index, path in enumerate(photos):
        truth = read_rgb(path)
        if index == 0:
            h, w = truth.shape[:2]
        for kind, big, noisy, mask in big_cases(truth, kinds, args.seed, index, args.scale):
            hole = mask != 0
            for size in sizes:
                sized = TimedInpainter(model)  # counts the model input pixels
                sized.info = dataclasses.replace(model.info, working_size=size)
                start = time.perf_counter()
                out = inpaint_image(noisy, mask, sized)
                seconds = time.perf_counter() - start
                row = (psnr(out, big, hole), gradient_ratio(out, big, hole), sized.pixels, seconds)
                results.setdefault((kind, size), []).append(row)
        print(f"{index + 1}/{len(photos)} {path.name}", file=sys.stderr, flush=True)

    rows = []
    for kind in kinds:
        for size in sizes:
            vals = np.array(results[(kind, size)])
            rows.append(
                [
                    kind,
                    "full" if size is None else size,
                    f"{vals[:, 0].mean():.2f}",
                    f"{vals[:, 1].mean():.3f}",
                    f"{vals[:, 2].mean() / 1e6:.2f}",
                    f"{vals[:, 3].mean():.2f}",
                ]
            )
    header = ["mask", "working size", "hole PSNR (dB)", "grad ratio", "model input (MP)", "s/photo"]
    body = "\n".join(
        [
            f"{len(photos)} photos of `{args.data}` (first by name, e.g. {w}x{h}) upscaled "
            f"{args.scale}x to about {w * args.scale}x{h * args.scale}; evaluation masks "
            f"(seed {args.seed}) upscaled with them, plus the fill-scaling benchmark's sparse "
            "1% mask; our model through the crop strategy with each working size.",
            "",
            c.markdown_table(header, rows),
        ]
    )
    c.report("study_working_size", "Working size: quality and cost on big photos", body, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
