"""What our network adds over its smooth prior, and what each prior is worth on its own.

Run: .venv/bin/python benchmarks/study_prior.py --data ../shared/data/val
     [--limit N] [--seed 0] [--models ours,tension,membrane,pushpull,telea,ns] [--write-docs]

Our generator predicts a residual over a smooth fill (``backends.ffc_net.PRIORS``: the
shipped weights use "multigrid", the run that trained them used "pushpull"). This registers
each prior alone (same padding and compositing as our model) as a temporary backend of the
same name and runs ``training.evaluate.evaluate`` on them next to the other models: the same
generated cases for the seed, the same metrics and the same table as ``inpaint-studio
evaluate``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common as c  # noqa: E402
import numpy as np  # noqa: E402

PRIOR_NAMES = ("multigrid", "tension", "membrane", "pushpull")


class PriorInpainter:
    """A prior of our network on its own: (H,W,3) uint8 + (H,W) uint8 -> (H,W,3) uint8."""

    def __init__(self, name: str) -> None:
        from inpaint_studio.backends import neural

        self.name = name
        self.info = dataclasses.replace(
            neural.INFO, name=name, title=f"{name} prior alone", neural=False
        )

    def load(self, device: str = "cpu") -> None:
        """Nothing to load; runs on the CPU."""

    def inpaint(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Fill the hole with the prior, keep the known pixels."""
        import torch

        from inpaint_studio.backends.base import composite
        from inpaint_studio.backends.ffc_net import PRIORS
        from inpaint_studio.backends.neural import MIN_INPUT_SIZE
        from inpaint_studio.backends.torch_utils import to_image, to_tensors

        with torch.inference_mode():
            img, m, size = to_tensors(image, mask, "cpu", self.info.pad_multiple, MIN_INPUT_SIZE)
            filled = to_image(PRIORS[self.name](img * (1 - m), 1 - m), size)
        return composite(image, filled, mask)

    def unload(self) -> None:
        """Nothing to free."""


def main() -> int:
    from inpaint_studio.backends import registry
    from inpaint_studio.training.evaluate import evaluate, format_table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    c.add_common_args(parser)
    c.add_photo_args(parser)
    parser.add_argument("--models", default=f"ours,{','.join(PRIOR_NAMES)},telea,ns")
    parser.add_argument("--masks", default="scratch,thin,medium,thick")
    args = parser.parse_args()
    for name in PRIOR_NAMES:
        registry.register(name, lambda name=name: PriorInpainter(name), PriorInpainter(name).info)
    report = evaluate(
        args.data,
        args.models.split(","),
        args.masks.split(","),
        seed=args.seed,
        limit=args.limit,
        device="cpu",
    )
    body = "\n".join(
        [
            f"{len(report.images)} photos of `{args.data}`, seed {args.seed}, CPU; "
            f"{', '.join(f'`{n}`' for n in PRIOR_NAMES)} = a smooth prior of our network "
            "on its own (the shipped weights refine `multigrid`).",
            "",
            format_table(report),
        ]
    )
    c.report("study_prior", "What the network adds over its prior", body, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
