"""Make resources/samples/sample.jpg: a public-domain portrait aged like an old print.

Source: NASA portrait of astronaut Eileen Collins (public domain), as shipped in
scikit-image's `skimage/data/astronaut.png`. Usage:
    python tools/make_sample.py path/to/astronaut.png
Writes sample.jpg (sepia, scratches, dust, with EXIF) and sample_mask.png (the damage and
its JPEG fringe).
"""

import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from inpaint_studio.core.maskops import EDITOR_STEP, grow_mask
from inpaint_studio.training.masks import scratch_mask

OUT = Path(__file__).resolve().parent.parent / "resources" / "samples"


def main(src: str) -> None:
    rgb = np.asarray(Image.open(src).convert("RGB")).astype(np.float32) / 255
    rgb = cv2.resize(rgb, (768, 768), interpolation=cv2.INTER_CUBIC)
    grey = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    sepia = np.stack([grey * 1.07 + 0.04, grey * 0.95 + 0.02, grey * 0.78], -1)
    faded = 0.82 * sepia + 0.1
    rng = np.random.default_rng(7)
    faded += rng.normal(0, 0.012, faded.shape).astype(np.float32)  # film grain
    damage = scratch_mask(faded.shape[:2], rng)
    light = cv2.GaussianBlur(damage, (3, 3), 0).astype(np.float32)[..., None] / 255
    aged = faded * (1 - light) + 0.93 * light
    out = (np.clip(aged, 0, 1) * 255).round().astype(np.uint8)
    img = Image.fromarray(out)
    exif = Image.Exif()
    exif[0x013B] = "NASA (public domain); aged by Inpaint Studio tools/make_sample.py"
    exif[0x010E] = "Sample old print with scratches and dust"
    OUT.mkdir(parents=True, exist_ok=True)
    img.save(OUT / "sample.jpg", quality=90, exif=exif.tobytes())
    # The damage's blurred edge is 1 px; JPEG rings and bleeds colour 1-3 px further, so the
    # mask takes two editor Grow mask steps more (a tighter mask leaves pale discs in the
    # fills of this grainy sepia print; benchmarks/study_mask_fringe.py measures the trade).
    mask = grow_mask(cv2.dilate(damage, np.ones((3, 3), np.uint8)), 2 * EDITOR_STEP)
    Image.fromarray(mask).save(OUT / "sample_mask.png")


if __name__ == "__main__":
    main(sys.argv[1])
