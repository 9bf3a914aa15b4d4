"""The region pipeline's own cost (planning, downscale, paste-back), with the model taken out.

Run: .venv/bin/python benchmarks/bench_pipeline.py [--repeats 7] [--write-docs]

The fill-scaling benchmark's photos and masks go through ``core.pipeline.inpaint_image``
("crop") with a stand-in backend that answers instantly (a 5x5 box blur of its input, with
our model's working size and padding), so what is timed is the work that grows with the
photo: the plan, the area downscale of each window and the seam-corrected paste-back.
Median and best of ``--repeats`` runs per case.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common as c  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402

CASES = ((6, 0.01), (24, 0.01), (48, 0.01), (24, 0.10), (24, 0.25))


class InstantInpainter:
    """Stand-in backend: (h,w,3) uint8 + (h,w) uint8 -> 5x5 box blur of the image."""

    def __init__(self) -> None:
        from inpaint_studio.backends import neural

        self.info = neural.INFO

    def inpaint(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return cv2.blur(image, (5, 5))


def main() -> int:
    from inpaint_studio.core.pipeline import inpaint_image

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    c.add_common_args(parser)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    backend = InstantInpainter()
    rows = []
    for mp, area in CASES:
        width, height = c.size_for(mp)
        image, mask = c.photo(width, height), c.scratch_mask(width, height, area)
        inpaint_image(image, mask, backend)  # warm-up
        times = []
        for _ in range(max(1, args.repeats)):
            start = time.perf_counter()
            inpaint_image(image, mask, backend)
            times.append(time.perf_counter() - start)
        rows.append(
            [
                f"{width}x{height} ({mp} MP)",
                f"{c.coverage(mask):.2%}",
                f"**{c.fmt_s(statistics.median(times))}**",
                c.fmt_s(min(times)),
            ]
        )
        print(f"{mp} MP {area:.0%}: {c.fmt_s(statistics.median(times))}", file=sys.stderr)
    body = "\n".join(
        [
            f"Pipeline only (instant stand-in backend), median and best of {args.repeats} runs:",
            "",
            c.markdown_table(["photo", "mask area", "median", "best"], rows),
        ]
    )
    c.report("bench_pipeline", "Region pipeline cost without the model", body, args, torch=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
