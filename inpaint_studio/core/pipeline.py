"""Whole-image inpainting through the region planner; used by the CLI and the Qt worker.

See ``core.regions`` for the strategies ("crop", "resize", "whole") and when they scale.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from inpaint_studio.core.grain import match_grain
from inpaint_studio.core.regions import (
    DEFAULT_FEATHER,
    DEFAULT_MAX_CROP_PIXELS,
    DEFAULT_MIN_HOLE_WIDTH,
    check_inputs,
    inpaint_region,
    plan_regions,
)

if TYPE_CHECKING:
    from inpaint_studio.backends.base import Inpainter


class Cancelled(Exception):
    """The caller asked to stop between regions; not an error, nothing is shown to the user."""


def inpaint_image(
    image: np.ndarray,
    mask: np.ndarray,
    inpainter: Inpainter,
    *,
    strategy: str = "crop",
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    feather: int = DEFAULT_FEATHER,
    max_crop_pixels: int = DEFAULT_MAX_CROP_PIXELS,
    min_hole_width: float = DEFAULT_MIN_HOLE_WIDTH,
    grain: float = 0.0,
) -> np.ndarray:
    """(H,W,3) uint8 RGB + (H,W) uint8 mask (non-zero = fill) -> new (H,W,3) uint8.

    ``inpainter`` is a loaded ``backends.base.Inpainter``; its ``info.working_size`` and
    ``info.pad_multiple`` drive the plan. ``progress(done, total)`` is called after each
    model call (one per region, or per tile of a tiled region; done = 1..total);
    ``cancelled()`` is polled before each call and a True answer raises ``Cancelled``.
    ``grain`` > 0 adds grain matched to each region's rim to its fill (``core.grain``; the
    editor's Match grain uses ``grain.DEFAULT_STRENGTH``).
    Pixels outside the mask are bit-exact copies of ``image``.
    """
    check_inputs(image, mask)
    info = inpainter.info
    height, width = mask.shape
    regions = plan_regions(
        mask,
        image_size=(width, height),
        strategy=strategy,
        working_size=info.working_size,
        scaled_size=info.scaled_size,
        pad_multiple=max(1, int(info.pad_multiple)),
        max_crop_pixels=max_crop_pixels,
        min_hole_width=min_hole_width,
    )
    out = image.copy()  # an empty mask plans no region: the copy is the answer
    total = sum(region.calls for region in regions)
    calls = 0

    def before_call() -> None:
        nonlocal calls
        if calls and progress is not None:
            progress(calls, total)
        if cancelled is not None and cancelled():
            raise Cancelled("Inpainting was cancelled.")
        calls += 1

    for region in regions:
        inpaint_region(
            out, image, mask, inpainter.inpaint, region, feather=feather, before_call=before_call
        )
        match_grain(out, image, mask, within=region.crop, strength=grain)
    if total and progress is not None:
        progress(total, total)
    return out
