"""Texture from PatchMatch: the sharpness that copying its fine detail buys per dB of hole PSNR.

Run: .venv/bin/python benchmarks/study_detail_transfer.py --data data/holdout
     [--limit N] [--seed 0] [--sigmas 1,2,4] [--amounts 0.5,0.75,1] [--mix 0,0.25]
     [--kinds medium,thick]

Frequency separation, as retouchers do it by hand: `ours` gives the smooth part of each hole
and PatchMatch (`pypatchmatch`) the texture. Each evaluation case (the seed-0 masks of
`inpaint-studio evaluate`, holes filled with noise) is filled once by each; then per Gaussian
sigma s, amount a and mix w the hole gets
    (1 - w) blur_s(ours) + w blur_s(patchmatch) + (ours - blur_s(ours)) + a (pm - blur_s(pm)).
Per mask kind it prints the mean hole PSNR, the mean gradient ratio and the trade: (ratio^2
with detail - ratio^2 without) / dB lost, the figure `study_grain_size.py` prints for grain
(grain's best there: 1.33 / 1.54 on medium / thick holes of data/holdout). Choose on held-out
training photos, not on val.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common as c  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    c.add_photo_args(parser)
    parser.add_argument("--sigmas", default="1,2,4", help="Gaussian sigmas (px) of the split")
    parser.add_argument("--amounts", default="0.5,0.75,1", help="share of PatchMatch's detail")
    parser.add_argument("--mix", default="0,0.25", help="share of PatchMatch's smooth part")
    parser.add_argument("--kinds", default="medium,thick")
    args = parser.parse_args()

    from inpaint_studio.backends import registry
    from inpaint_studio.core.pipeline import inpaint_image
    from inpaint_studio.training.data import list_photos, read_rgb
    from inpaint_studio.training.evaluate import gradient_ratio, make_case, psnr

    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    ours, pm = registry.create("ours"), registry.create("patchmatch")
    ours.load("cpu")
    pm.load("cpu")
    cases = []  # (kind, truth, mask, ours fill, patchmatch fill)
    for i, path in enumerate(list_photos(args.data)[: args.limit]):
        truth = read_rgb(path)
        for kind in kinds:
            noisy, mask = make_case(truth, kind, args.seed, i)
            cases.append(
                (
                    kind,
                    truth,
                    mask,
                    inpaint_image(noisy, mask, ours),
                    inpaint_image(noisy, mask, pm),
                )
            )
    ours.unload()
    pm.unload()

    def score(combine) -> dict[str, tuple[float, float]]:
        got: dict[str, list[tuple[float, float]]] = {}
        for kind, truth, mask, fo, fp in cases:
            out = np.clip(np.rint(combine(fo.astype(np.float32), fp.astype(np.float32))), 0, 255)
            out = out.astype(np.uint8)
            hole = mask != 0
            out[~hole] = truth[~hole]
            got.setdefault(kind, []).append(
                (psnr(out, truth, hole), gradient_ratio(out, truth, hole))
            )
        return {k: (float(np.mean([p for p, _ in v])), float(np.nanmean([g for _, g in v])))
                for k, v in got.items()}  # fmt: skip

    def blur(x: np.ndarray, s: float) -> np.ndarray:
        return cv2.GaussianBlur(x, (0, 0), s)

    base = score(lambda o, p: o)
    rows = [["ours", "-", "-", "-", *(f"{base[k][0]:.2f} / {base[k][1]:.3f} / -" for k in kinds)]]
    for s in c.floats(args.sigmas):
        for a in c.floats(args.amounts):
            for w in c.floats(args.mix):
                got = score(
                    lambda o, p, s=s, a=a, w=w: (1 - w) * blur(o, s) + w * blur(p, s)
                    + (o - blur(o, s)) + a * (p - blur(p, s))
                )  # fmt: skip
                cells = []
                for k in kinds:
                    (p0, g0), (p1, g1) = base[k], got[k]
                    cells.append(
                        f"{p1:.2f} / {g1:.3f} / {(g1**2 - g0**2) / max(p0 - p1, 1e-9):.2f}"
                    )
                rows.append([f"{s:g}", f"{a:g}", f"{w:g}", "", *cells])
    header = [
        "sigma (px)",
        "amount",
        "mix",
        "",
        *(f"{k}: hole PSNR / grad ratio / trade" for k in kinds),
    ]
    print(f"`{c.command_line()}`, {len(cases)} cases, seed {args.seed}\n")
    print(c.markdown_table(header, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
