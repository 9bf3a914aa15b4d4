"""Detect dust and scratches: how much of the damage it finds, what else it flags, what a fill
of its mask gives.

Run: .venv/bin/python benchmarks/study_damage_detect.py --data ../shared/data/val
     [--limit N] [--seed 0] [--sensitivity 0.25,0.5,0.75] [--grow 1] [--tone 237,30]
     [--model ours] [--no-fill] [--weights PATH] [--polarity both|match]
     [--write-docs [PATH]]

Each photo gets the sample photo's kind of damage (`benchmarks/study_mask_fringe.py`: wavy
scratches 1-5 px, creases up to 7 px, dust specks, a 1 px blurred edge) blended towards grey
level `tone` (237: light, as on prints; 30: dark, as dust on film scans) and is saved as JPEG
(quality 90). The detector (`backends.damage_net`, the shipped weights unless --weights) then
proposes a mask at each sensitivity. This damage is drawn by the same generator family that
the detector was trained on (`training/damage_synth.py` draws it wider), so the numbers say
how well it learned that, on photos it never saw; real scans differ. Per tone and sensitivity:

- found: the share of damage pixels inside the proposed mask (recall);
- on target: the share of the proposed mask within 3 px of the damage (precision);
- clean photo: the share of pixels it flags on the same photo without damage (JPEG 90
  too), and regions per megapixel: what the user would have to erase by hand; with
  `--polarity match` only regions of the damage's polarity are kept (on the clean photo
  too), as when the user picks Light or Dark damage;
- repair PSNR (unless --no-fill): `--model` fills the proposed mask; PSNR against the photo
  before damage over the damage grown by 4 px plus everything the mask covers (a false
  alarm that the fill changes counts against it), next to the same area left damaged and
  filled through the exact damage mask grown by 2 px (what a careful hand paints).
Choose settings on held-out training photos (data/holdout), report on val.
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
from study_mask_fringe import SCORE_MARGIN, age  # noqa: E402

QUALITY = 90
NEAR = 3  # px: a proposed pixel this close to the damage is on target


def _psnr(out: np.ndarray, truth: np.ndarray, area: np.ndarray) -> float:
    diff = out[area].astype(np.float64) - truth[area].astype(np.float64)
    return 10 * np.log10(255.0**2 / max(float((diff**2).mean()), 1e-10))


def main() -> int:
    from inpaint_studio.backends import registry
    from inpaint_studio.backends.damage_net import DamageDetector
    from inpaint_studio.core.damage_detect import propose_mask
    from inpaint_studio.core.maskops import grow_mask
    from inpaint_studio.core.pipeline import inpaint_image
    from inpaint_studio.training.data import list_photos, read_rgb
    from inpaint_studio.training.masks import scratch_mask

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    c.add_common_args(parser)
    c.add_photo_args(parser)
    parser.add_argument("--sensitivity", default="0.25,0.5,0.75")
    parser.add_argument("--grow", type=int, default=1, help="px added around what is found")
    parser.add_argument("--tone", default="237,30", help="grey level the damage goes to")
    parser.add_argument("--model", default="ours")
    parser.add_argument("--no-fill", action="store_true", help="skip the repair PSNR")
    parser.add_argument("--weights", default=None, help="detector weights (default: shipped)")
    parser.add_argument(
        "--polarity",
        choices=("both", "match"),
        default="both",
        help="match: keep only regions of the damage's own polarity (light or dark)",
    )
    args = parser.parse_args()
    detector = DamageDetector(args.weights)
    levels, tones = c.floats(args.sensitivity), c.floats(args.tone)
    photos = list_photos(Path(args.data))[: args.limit]
    model = None
    if not args.no_fill:
        model = registry.create(args.model)
        model.load("cpu")
    rows_out: dict[tuple[float, float], list[tuple[float, ...]]] = {}
    base: dict[float, list[tuple[float, float]]] = {t: [] for t in tones}
    seconds, pixels = 0.0, 0
    for i, path in enumerate(photos):
        truth = read_rgb(path)
        clean = age(truth, np.zeros(truth.shape[:2], np.uint8), QUALITY)
        clean_prob = detector.probability(clean)
        clean_grey = cv2.cvtColor(clean, cv2.COLOR_RGB2GRAY)
        damage = scratch_mask(truth.shape[:2], np.random.default_rng([args.seed, i]))
        hit, near = damage != 0, grow_mask(damage, NEAR) != 0
        area = grow_mask(damage, SCORE_MARGIN) != 0
        for tone in tones:
            damaged = age(truth, damage, QUALITY, tone)
            grey = cv2.cvtColor(damaged, cv2.COLOR_RGB2GRAY)
            polarity = "both" if args.polarity == "both" else "light" if tone > 128 else "dark"
            if model is not None:
                careful = inpaint_image(damaged, grow_mask(damage, 2), model)
                base[tone].append((_psnr(damaged, truth, area), _psnr(careful, truth, area)))
            start = time.perf_counter()
            prob = detector.probability(damaged)
            for k, level in enumerate(levels):
                found = propose_mask(prob, level, args.grow, grey=grey, polarity=polarity)
                if k == 0:  # the time of the network and one mask
                    seconds += time.perf_counter() - start
                    pixels += prob.size
                found = found.mask != 0
                false = propose_mask(
                    clean_prob, level, args.grow, grey=clean_grey, polarity=polarity
                )
                row = [
                    float(found[hit].mean()),
                    float(near[found].mean()) if found.any() else 1.0,
                    false.fraction,
                    false.regions / (found.size / 1e6),
                ]
                if model is not None:
                    out = inpaint_image(damaged, found.view(np.uint8) * np.uint8(255), model)
                    row.append(_psnr(out, truth, area | found))
                rows_out.setdefault((tone, level), []).append(tuple(row))
    header = [
        "damage",
        "sensitivity",
        "found",
        "on target",
        "clean photo: flagged / regions per MP",
    ]
    if model is not None:
        header.append(
            f"repair PSNR (dB): proposed mask / left damaged / careful mask, {args.model}"
        )
    rows = []
    for (tone, level), got in rows_out.items():
        m = np.mean(np.array(got), axis=0)
        cells = [
            "light" if tone > 128 else "dark",
            f"{level:g}",
            f"{100 * m[0]:.1f}%",
            f"{100 * m[1]:.1f}%",
            f"{100 * m[2]:.2f}% / {m[3]:.0f}",
        ]
        if model is not None:
            b = np.mean(np.array(base[tone]), axis=0)
            cells.append(f"{m[4]:.2f} / {b[0]:.2f} / {b[1]:.2f}")
        rows.append(cells)
    body = "\n".join(
        [
            f"{len(photos)} photos of `{args.data}`, seed {args.seed}, JPEG quality {QUALITY}, "
            f"grow {args.grow} px, polarity {args.polarity}, CPU.",
            "",
            c.markdown_table(header, rows),
            "",
            f"Detection time (network and one mask): {seconds / max(pixels, 1) * 1e6:.3f} s "
            f"per megapixel ({detector.precision}).",
        ]
    )
    c.report("study_damage_detect", "Detect dust and scratches", body, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
