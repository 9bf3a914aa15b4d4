"""Dust and scratch detection, the Qt-free and torch-free parts: the detector's input feature
and the step from its probability map to a proposed mask.

The detector network (`backends/damage_net.py`) reads the photo plus `residual`: grey minus
its median over a window twice as wide as the widest damage looked for, which keeps the
photo's edges and shading but not anything narrower than half the window (a speck, a
scratch). It returns a damage probability per pixel; `propose_mask` turns that into a mask:

- seeds are pixels over the threshold that `sensitivity` sets, and a damage region is every
  8-connected area over half that threshold which holds a seed (hysteresis: a scratch's
  faint ends and soft edge come with its clear middle, faint texture without a clear seed
  does not);
- the result is grown by `grow` px, the blurred edge and JPEG fringe a fill must not read
  (benchmarks/study_mask_fringe.py).

It proposes, the user decides: thin bright or dark details of the photo itself (catchlights,
wires, text) can be taken for damage, and they show in the mask before anything is filled.
Measured on val photos with synthetic damage: benchmarks/study_damage_detect.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MAX_WIDTH = 7  # px: the widest scratch or crease the residual keeps whole
GROW = 1  # px added around what is found (the damage's soft edge)
DEFAULT_SENSITIVITY = 0.5


@dataclass(frozen=True)
class Detection:
    """A proposed (H,W) uint8 {0,255} damage mask and its count of regions."""

    mask: np.ndarray
    regions: int

    @property
    def fraction(self) -> float:
        """Share of the photo's pixels in the mask, 0..1."""
        return float(np.count_nonzero(self.mask)) / max(1, self.mask.size)


def residual(grey: np.ndarray, max_width: int = MAX_WIDTH) -> np.ndarray:
    """(H,W) uint8 grey -> (H,W) int16 grey minus its median over a (2 max_width + 1) window."""
    background = cv2.medianBlur(np.ascontiguousarray(grey), 2 * int(max_width) + 1)
    return grey.astype(np.int16) - background.astype(np.int16)


def threshold(sensitivity: float) -> float:
    """Sensitivity 0..1 -> the probability a seed pixel must exceed (0.85 .. 0.15)."""
    s = min(max(float(sensitivity), 0.0), 1.0)
    return 0.85 - 0.7 * s


def propose_mask(
    probability: np.ndarray, sensitivity: float = DEFAULT_SENSITIVITY, grow: int = GROW
) -> Detection:
    """(H,W) float32 damage probability 0..1 -> Detection: regions over half the threshold
    that hold a pixel over it, grown by `grow` px (0-10)."""
    if probability.ndim != 2:
        raise ValueError(f"expected an (H,W) probability map, got shape {probability.shape}")
    if not 0 <= int(grow) <= 10:
        raise ValueError(f"grow must be 0-10 px, got {grow}")
    high = threshold(sensitivity)
    weak = (probability > high / 2).view(np.uint8)
    n, labels = cv2.connectedComponents(weak, connectivity=8)
    keep = np.zeros(n, bool)
    keep[np.unique(labels[probability > high])] = True
    keep[0] = False
    mask = np.where(keep[labels], np.uint8(255), np.uint8(0))
    del labels
    if grow > 0 and keep.any():
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
        mask = cv2.dilate(mask, disc)
    return Detection(mask, int(keep.sum()))
