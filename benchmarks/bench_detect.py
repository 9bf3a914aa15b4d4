"""Detect dust and scratches on big photos: time per photo and per megapixel, and memory.

Run: .venv/bin/python benchmarks/bench_detect.py [--megapixels 6,24,48] [--repeats 3]
     [--quick] [--write-docs [PATH]]

Each size is the benchmark photo (`_common.photo`: the sample photo upscaled plus grain) with
light scratches and specks drawn in (`training.masks.scratch_mask` on a 1/4-size canvas,
upscaled, so they stay 2-8 px wide as on a real scan). Timed per size, median of N after one
warm-up: the detector's probability map (`DamageDetector.probability`: features, the network
in tiles of 768 px with a 64 px margin) and the mask proposal (`propose_mask`: hysteresis and
grow). Each size runs in its own child process, whose peak resident memory (VmHWM) is reset
once the photo is made: the peak is the process with its photo (3 bytes per pixel) plus
torch, the detector, the float32 probability map (4 bytes per pixel) and what the tiles and
the proposal add. Last column: Detect within mask on a 1000x1000 px painted area (the
detector sees it plus 64 px around it, as the editor hands it over).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common as c  # noqa: E402
import numpy as np  # noqa: E402

AREA = 1000  # px: the side of a painted area for Detect within mask
CONTEXT = 64  # px around it that the editor hands the detector (qt.controller.DETECT_CONTEXT)


def _damaged_photo(megapixels: float) -> np.ndarray:
    """(H,W,3) uint8 benchmark photo with light scratches and specks blended in."""
    import cv2

    from inpaint_studio.training.masks import scratch_mask

    width, height = c.size_for(megapixels)
    rgb = c.photo(width, height)
    small = scratch_mask((height // 4, width // 4), np.random.default_rng(0))
    damage = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    alpha = damage.astype(np.float32)[..., None] * (1 / 255)
    return (rgb * (1 - alpha) + 230 * alpha).round().astype(np.uint8)


def child(megapixels: float, repeats: int) -> dict:
    """Time one size in this process; a dict for the parent."""
    import gc

    from inpaint_studio.backends.damage_net import DamageDetector
    from inpaint_studio.core.damage_detect import propose_mask

    rgb = _damaged_photo(megapixels)
    gc.collect()
    base_mb = c.current_rss_mb()
    reset = c.reset_peak_rss()  # the peak below is the detection's, not the photo's making
    detector = DamageDetector()
    detector.probability(rgb[:512, :512])  # warm-up
    prob_times, mask_times, flagged = [], [], 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        prob = detector.probability(rgb)
        t1 = time.perf_counter()
        found = propose_mask(prob)
        t2 = time.perf_counter()
        prob_times.append(t1 - t0)
        mask_times.append(t2 - t1)
        flagged = found.fraction
        del prob, found
    crop = np.ascontiguousarray(rgb[: AREA + 2 * CONTEXT, : AREA + 2 * CONTEXT])
    area_times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        propose_mask(detector.probability(crop))
        area_times.append(time.perf_counter() - t0)
    return {
        "megapixels": rgb.shape[0] * rgb.shape[1] / 1e6,
        "size": f"{rgb.shape[1]}x{rgb.shape[0]}",
        "probability": float(np.median(prob_times)),
        "mask": float(np.median(mask_times)),
        "flagged": flagged,
        "area": float(np.median(area_times)),
        "photo_rss_mb": base_mb,
        "peak_mb": c.peak_rss_mb() if reset else float("nan"),
        "precision": detector.precision,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    c.add_common_args(parser)
    parser.add_argument("--megapixels", default="6,24,48")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.repeats)))
        return 0
    sizes = [1.0] if args.quick else c.floats(args.megapixels)
    repeats = 1 if args.quick else args.repeats
    rows, precision = [], ""
    for mp in sizes:
        argv = [sys.executable, __file__, "--child", str(mp), "--repeats", str(repeats)]
        code, out, err = c.run_child(argv, timeout=1800)
        if code != 0:
            print(err, file=sys.stderr)
            rows.append([f"{mp:g} MP", "failed", "", "", "", "", ""])
            continue
        r = json.loads(out.strip().splitlines()[-1])
        precision = r["precision"]
        total = r["probability"] + r["mask"]
        rows.append(
            [
                f"{r['megapixels']:.1f} MP ({r['size']})",
                c.fmt_s(r["probability"]),
                c.fmt_s(r["mask"]),
                f"**{c.fmt_s(total)}**",
                f"{total / r['megapixels']:.3f} s",
                f"{r['peak_mb']:.0f} MB ({r['photo_rss_mb']:.0f} MB before)",
                f"{100 * r['flagged']:.2f}%",
                c.fmt_s(r["area"]),
            ]
        )
    header = [
        "photo",
        "probability map",
        "mask proposal",
        "total",
        "per MP",
        "peak RSS (before loading the detector)",
        "flagged",
        f"within a {AREA} px painted area",
    ]
    body = "\n".join(
        [
            f"Median of {repeats} after a warm-up; detector precision {precision}; sensitivity "
            "Medium (0.5), grow 1 px. Each size in its own process.",
            "",
            c.markdown_table(header, rows),
        ]
    )
    c.report("bench_detect", "Detect dust and scratches: time and memory", body, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
