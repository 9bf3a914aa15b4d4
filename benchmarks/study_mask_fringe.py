"""Tight masks on real-looking damage: how much the JPEG fringe costs, and what Grow mask buys.

Run: .venv/bin/python benchmarks/study_mask_fringe.py --data ../shared/data/val
     [--limit N] [--seed 0] [--models ours,telea,ns] [--grow 0,1,2,3] [--quality 90]
     [--write-docs [PATH]]

The evaluation's masks are exact: every damaged pixel is in the hole and the rim is clean.
Damage on a scan is not like that. Here each photo gets the sample photo's kind of damage
(`tools/make_sample.py`): light scratches, creases and dust specks (`training.masks.scratch_mask`)
with a 1 px blurred edge, lightened into the photo, which is then saved as JPEG (quality 90,
4:2:0 chroma as most cameras and scanners write it). The mask is the damage grown by 1 px
(the blurred edge, nothing more: what a careful hand or a damage detector gives), then grown
by G more px as the editor's Grow mask does. Each model fills each mask; scores are taken
against the photo before damage, over the damage grown by 4 px (the fringe that stays
unfilled with a small G counts against it, as a person sees it):

- PSNR (dB) over that area, the mean over photos;
- colour bias: the mean of (output - truth) over that area in grey levels, per channel R/G/B,
  averaged over photos (a fill that takes the fringe's light, grey colour is positive and
  equal on all three channels where the photo is neutral, larger on blue for warm photos).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common as c  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402

SCORE_MARGIN = 4  # px around the damage that the scores cover


def age(rgb: np.ndarray, damage: np.ndarray, quality: int, tone: float = 237) -> np.ndarray:
    """(H,W,3) uint8 clean photo, (H,W) uint8 {0,255} damage -> the photo with the damage
    (1 px blurred edge) blended towards grey level `tone` (237: light scratches and dust of a
    print, as in tools/make_sample.py; dark: film dust), saved as JPEG at `quality` (4:2:0)
    and decoded."""
    light = cv2.GaussianBlur(damage, (3, 3), 0).astype(np.float32)[..., None] / 255
    aged = rgb.astype(np.float32) * (1 - light) + tone * light
    bgr = cv2.cvtColor(np.clip(aged, 0, 255).round().astype(np.uint8), cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def damaged_case(rgb: np.ndarray, rng: np.random.Generator, quality: int):
    """(H,W,3) uint8 clean photo -> (damaged JPEG-decoded (H,W,3) uint8, damage grown by 1 px
    (H,W) uint8 {0,255}, score area (H,W) bool). The damage is drawn as in
    tools/make_sample.py."""
    from inpaint_studio.core.maskops import grow_mask
    from inpaint_studio.training.masks import scratch_mask

    damage = scratch_mask(rgb.shape[:2], rng)
    area = grow_mask(damage, SCORE_MARGIN) > 0
    return age(rgb, damage, quality), grow_mask(damage, 1), area


def score(out: np.ndarray, truth: np.ndarray, area: np.ndarray) -> tuple[float, np.ndarray]:
    """(PSNR dB over `area`, mean signed error per RGB channel in grey levels)."""
    diff = out[area].astype(np.float64) - truth[area].astype(np.float64)
    mse = float((diff**2).mean())
    return 10 * np.log10(255.0**2 / max(mse, 1e-10)), diff.mean(axis=0)


def main() -> int:
    from inpaint_studio.backends import registry
    from inpaint_studio.core.maskops import grow_mask
    from inpaint_studio.core.pipeline import inpaint_image
    from inpaint_studio.training.data import list_photos, read_rgb

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    c.add_common_args(parser)
    c.add_photo_args(parser)
    parser.add_argument("--models", default="ours,telea,ns")
    parser.add_argument("--grow", default="0,1,2,3", help="extra px of Grow mask to try")
    parser.add_argument("--quality", type=int, default=90, help="JPEG quality of the scan")
    args = parser.parse_args()
    grows = [int(g) for g in args.grow.split(",")]
    models = args.models.split(",")
    photos = list_photos(Path(args.data))[: args.limit]
    backends = {}
    for name in models:
        backends[name] = registry.create(name)
        backends[name].load("cpu")
    results = {(m, g): [] for m in models for g in grows}
    seconds = dict.fromkeys(models, 0.0)
    for i, path in enumerate(photos):
        truth = read_rgb(path)
        damaged, mask, area = damaged_case(
            truth, np.random.default_rng([args.seed, i]), args.quality
        )
        for g in grows:
            hole = grow_mask(mask, g)
            for name in models:
                start = time.perf_counter()
                out = inpaint_image(damaged, hole, backends[name])
                seconds[name] += time.perf_counter() - start
                results[(name, g)].append(score(out, truth, area))
    rows = []
    for g in grows:
        for name in models:
            psnrs = [r[0] for r in results[(name, g)]]
            bias = np.mean([r[1] for r in results[(name, g)]], axis=0)
            rows.append(
                [
                    f"1 + {g} px",
                    name,
                    f"{np.mean(psnrs):.2f}",
                    " / ".join(f"{b:+.2f}" for b in bias),
                ]
            )
    body = "\n".join(
        [
            f"{len(photos)} photos of `{args.data}`, seed {args.seed}, JPEG quality "
            f"{args.quality}, CPU; scores over the damage grown by {SCORE_MARGIN} px "
            "against the photo before damage.",
            "",
            c.markdown_table(
                ["mask (damage grown by)", "model", "PSNR (dB)", "colour bias R / G / B"], rows
            ),
            "",
            "Fill time, all masks: "
            + ", ".join(
                f"{n} {seconds[n] / (len(photos) * len(grows)):.2f} s/photo" for n in models
            ),
        ]
    )
    c.report(
        "study_mask_fringe", "Tight masks on JPEG damage: the fringe and Grow mask", body, args
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
