"""Quality and cost of our model's working size on big photos (the crop strategy's trigger).

Run: .venv/bin/python benchmarks/study_working_size.py --data ../shared/data/val
     [--limit 20] [--scale 1.5,4] [--sizes 256,384,512,512/384,full] [--seed 0] [--write-docs]

Photos are upscaled by each ``--scale`` factor (bicubic) to stand in for big scans; masks are the
evaluation's (``training.evaluate.make_case`` at the photo's own size, seed ``--seed``,
upscaled nearest-neighbour so the holes grow with the photo) plus the fill-scaling
benchmark's sparse 1% mask (four scratches and two blotches). The hole is filled with noise
as in ``inpaint-studio evaluate``. Every case runs through ``core.pipeline.inpaint_image``
("crop") with the backend's ``working_size`` replaced by each value of ``--sizes``
("full" = no downscaling; "512/384" = windows up to 512 px at full resolution, bigger ones
downscaled to 384 px, ``BackendInfo.scaled_size``). Reported per photo size, mask kind and
working size: hole PSNR, gradient ratio (see the evaluation), model input megapixels and
seconds per photo.
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


def big_cases(truth: np.ndarray, kinds: list[str], seed: int, index: int, scale: float):
    """Yield (kind, big truth, big noisy input, big mask) for one photo."""
    from inpaint_studio.training.evaluate import make_case

    h, w = truth.shape[:2]
    bw, bh = round(w * scale), round(h * scale)
    big = cv2.resize(truth, (bw, bh), interpolation=cv2.INTER_CUBIC)
    rng = np.random.default_rng([seed, index, 99])
    for kind in kinds:
        if kind == SPARSE:
            mask = c.scratch_mask(bw, bh, 0.01)
        else:
            _noisy, small = make_case(truth, kind, seed, index)
            mask = cv2.resize(small, (bw, bh), interpolation=cv2.INTER_NEAREST)
        noisy = big.copy()
        hole = mask != 0
        noisy[hole] = rng.integers(0, 256, (int(hole.sum()), 3), dtype=np.uint8)
        yield kind, big, noisy, mask


def _size_fields(size: str) -> dict:
    """ "512" / "512/384" (working size / size downscaled windows go to) / "full" -> fields."""
    if size == "full":
        return {"working_size": None, "scaled_size": None}
    working, _, scaled = size.partition("/")
    return {"working_size": int(working), "scaled_size": int(scaled) if scaled else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    c.add_common_args(parser)
    c.add_photo_args(parser, limit=20)
    parser.add_argument("--scale", default="4", help="upscale factors of the photos (1.5,4)")
    parser.add_argument("--sizes", default="256,384,512,768,full")
    parser.add_argument("--kinds", default=f"thin,medium,thick,{SPARSE}")
    parser.add_argument(
        "--min-width",
        default=None,
        help="smallest model-space hole widths (px) to compare, e.g. 0,16,32,inf "
        "(0: never tile; inf: thin holes at full resolution; default: the planner's)",
    )
    parser.add_argument("--model", default="ours", help="backend: ours (default) or ours-fast")
    args = parser.parse_args()

    from inpaint_studio.backends import registry
    from inpaint_studio.core.pipeline import inpaint_image
    from inpaint_studio.core.regions import DEFAULT_MIN_HOLE_WIDTH
    from inpaint_studio.training.data import list_photos, read_rgb
    from inpaint_studio.training.evaluate import gradient_ratio, psnr

    tiling = [DEFAULT_MIN_HOLE_WIDTH]
    if args.min_width:
        tiling = [float(v) for v in args.min_width.split(",")]
    configs = [(s.strip(), t) for s in args.sizes.split(",") for t in tiling]
    kinds = [k.strip() for k in args.kinds.split(",")]
    model = registry.create(args.model)
    model.load("cpu")
    warm = np.zeros((64, 64), np.uint8)
    warm[20:40, 20:40] = 255
    inpaint_image(np.full((64, 64, 3), 128, np.uint8), warm, model)

    scales = [float(v) for v in args.scale.split(",")]
    results: dict[tuple, list[tuple[float, float, float, float]]] = {}
    photos = list_photos(args.data)[: args.limit]
    for index, path in enumerate(photos):
        truth = read_rgb(path)
        if index == 0:
            h, w = truth.shape[:2]
        for scale in scales:
            for kind, big, noisy, mask in big_cases(truth, kinds, args.seed, index, scale):
                hole = mask != 0
                for config in configs:
                    size, min_width = config
                    sized = TimedInpainter(model)  # counts the model input pixels
                    sized.info = dataclasses.replace(model.info, **_size_fields(size))
                    start = time.perf_counter()
                    out = inpaint_image(noisy, mask, sized, min_hole_width=min_width)
                    seconds = time.perf_counter() - start
                    row = (psnr(out, big, hole), gradient_ratio(out, big, hole))
                    row += (sized.pixels, seconds)
                    results.setdefault((scale, kind, config), []).append(row)
        print(f"{index + 1}/{len(photos)} {path.name}", file=sys.stderr, flush=True)

    rows = []
    for scale in scales:
        for kind in kinds:
            for config in configs:
                vals = np.array(results[(scale, kind, config)])
                rows.append(
                    [
                        f"{round(w * scale)}x{round(h * scale)} ({scale:g}x)",
                        kind,
                        config[0] if len(tiling) == 1 else f"{config[0]}, min width {config[1]:g}",
                        f"{vals[:, 0].mean():.2f}",
                        f"{vals[:, 1].mean():.3f}",
                        f"{vals[:, 2].mean() / 1e6:.2f}",
                        f"{vals[:, 3].mean():.2f}",
                    ]
                )
    header = ["photo", "mask", "working size", "hole PSNR (dB)", "grad ratio"]
    header += ["model input (MP)", "s/photo"]
    body = "\n".join(
        [
            f"{len(photos)} photos of `{args.data}` (first by name, e.g. {w}x{h}) upscaled "
            f"by each `--scale` factor; evaluation masks (seed {args.seed}) upscaled with "
            "them, plus the fill-scaling benchmark's sparse 1% mask; our model through the "
            "crop strategy with each working size (`W/S`: windows up to W px run at full "
            "resolution, bigger ones are downscaled to S px).",
            "",
            c.markdown_table(header, rows),
        ]
    )
    c.report("study_working_size", "Working size: quality and cost on big photos", body, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
