"""Push-pull interpolation: spread values known on some cells of a grid to the others."""

from __future__ import annotations

import cv2
import numpy as np


def push_pull(values: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """(h,w,C) float32 values known where weight (h,w) in [0,1] > 0 -> (h,w,C) float32:
    weight-1 cells kept, the others blended with the next coarser scale's weighted mean, so
    a cell far from any known one takes the mean of the nearest known cells."""
    if weight.max() <= 0:
        return np.zeros_like(values)
    if min(weight.shape) < 4:
        mean = (values * weight[..., None]).sum(axis=(0, 1)) / weight.sum()
        return np.broadcast_to(mean, values.shape).astype(np.float32)
    h, w = weight.shape
    sums = cv2.pyrDown(values * weight[..., None])
    wsum = cv2.pyrDown(weight)
    coarse = push_pull(sums / np.maximum(wsum, 1e-6)[..., None], np.minimum(wsum * 4, 1))
    up = cv2.pyrUp(coarse, dstsize=(w, h)).reshape(values.shape)
    a = weight[..., None]
    return a * values + (1 - a) * up
