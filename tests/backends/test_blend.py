"""The "blend" backend: our model mixed 3:1 with PatchMatch inside the hole."""

from __future__ import annotations

import numpy as np
import pytest

from inpaint_studio.backends import blend_backend, patchmatch_backend, registry
from inpaint_studio.core.pipeline import inpaint_image

pytest.importorskip("patchmatch")


def _case(h: int = 48, w: int = 64) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:h, 0:w]
    image = np.stack([xx * 4, yy * 5, (xx * yy) % 200], -1) + rng.integers(0, 40, (h, w, 3))
    mask = np.zeros((h, w), np.uint8)
    mask[14:34, 20:44] = 255
    return np.clip(image, 0, 255).astype(np.uint8), mask


@pytest.fixture(scope="module")
def blend():
    model = blend_backend.BlendInpainter()
    model.load("cpu")
    yield model
    model.unload()


def test_blend_mixes_both_parts_inside_the_hole_only(blend):
    image, mask = _case()
    out = blend.inpaint(image, mask)
    hole = mask > 0
    np.testing.assert_array_equal(out[~hole], image[~hole])
    ours = blend.model.inpaint(image, mask).astype(np.float64)
    texture = blend.patchmatch.inpaint(image, mask).astype(np.float64)
    expected = np.clip(np.round(0.75 * ours + 0.25 * texture), 0, 255)
    assert np.abs(out[hole] - expected[hole]).max() <= 1  # float32 rounding
    assert not np.array_equal(out[hole], ours[hole].astype(np.uint8))
    assert np.array_equal(blend.inpaint(image, np.zeros_like(mask)), image)


def test_blend_runs_through_the_region_pipeline(blend):
    image, mask = _case(120, 160)
    out = inpaint_image(image, mask, blend, strategy="crop")
    np.testing.assert_array_equal(out[mask == 0], image[mask == 0])


def test_blend_is_listed_and_needs_patchmatch(monkeypatch):
    assert "blend" in registry.names()
    assert registry.is_available("blend") == (True, "")
    monkeypatch.setattr(
        patchmatch_backend, "is_available", lambda: (False, "PatchMatch is not installed.")
    )
    assert registry.is_available("blend") == (False, "PatchMatch is not installed.")
