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
- with `polarity` "light" or "dark" (given the grey photo), a region stays only when it is
  lighter (darker) on average than the photo around it: scratches and dust on prints are
  light, dust on a positive film scan dark, so a restorer who knows which the scan has
  halves what is flagged wrongly;
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
POLARITIES = ("both", "light", "dark")  # which damage to keep: either, lighter, darker


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


def region_contrast(grey: np.ndarray, labels: np.ndarray, n: int, window: int = 15):
    """(H,W) uint8 grey, (H,W) int32 region labels 1..n-1 (0 = background) -> (n,) float64:
    each region's mean grey minus the mean of the unlabelled pixels within window/2 px
    (> 0: lighter than around it). Label 0's entry is 0."""
    free = (labels == 0).astype(np.float32)
    size = (int(window), int(window))
    around = cv2.boxFilter(grey.astype(np.float32) * free, -1, size, normalize=False)
    weight = cv2.boxFilter(free, -1, size, normalize=False)
    diff = grey.astype(np.float32) - around / np.maximum(weight, 1e-3)
    del around, weight, free
    sums = np.bincount(labels.ravel(), weights=diff.ravel(), minlength=n)
    counts = np.bincount(labels.ravel(), minlength=n)
    out = sums / np.maximum(counts, 1)
    out[0] = 0.0
    return out


def propose_mask(
    probability: np.ndarray,
    sensitivity: float = DEFAULT_SENSITIVITY,
    grow: int = GROW,
    *,
    grey: np.ndarray | None = None,
    polarity: str = "both",
) -> Detection:
    """(H,W) float32 damage probability 0..1 -> Detection: regions over half the threshold
    that hold a pixel over it, grown by `grow` px (0-10); polarity "light" / "dark" (needs
    the (H,W) uint8 grey photo) keeps only regions lighter / darker than around them."""
    if probability.ndim != 2:
        raise ValueError(f"expected an (H,W) probability map, got shape {probability.shape}")
    if not 0 <= int(grow) <= 10:
        raise ValueError(f"grow must be 0-10 px, got {grow}")
    if polarity not in POLARITIES:
        raise ValueError(f"polarity must be one of {', '.join(POLARITIES)}, got {polarity!r}")
    if polarity != "both" and (grey is None or grey.shape != probability.shape):
        raise ValueError("a light or dark polarity needs the grey photo of the same size")
    high = threshold(sensitivity)
    weak = (probability > high / 2).view(np.uint8)
    n, labels = cv2.connectedComponents(weak, connectivity=8)
    keep = np.zeros(n, bool)
    keep[np.unique(labels[probability > high])] = True
    keep[0] = False
    if polarity != "both" and keep.any():
        contrast = region_contrast(grey, labels, n)
        keep &= contrast > 0 if polarity == "light" else contrast < 0
    mask = np.where(keep[labels], np.uint8(255), np.uint8(0))
    del labels
    if grow > 0 and keep.any():
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
        mask = cv2.dilate(mask, disc)
    return Detection(mask, int(keep.sum()))
