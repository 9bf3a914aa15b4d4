"""Screen colours: photos with an ICC profile are shown converted to sRGB (core.display_colour)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import ImageCms

from inpaint_studio.core.display_colour import DisplayTransform
from tests.icc_profiles import SRGB, grey_profile, rgb_profile

GREY = np.full((4, 4, 3), 128, np.uint8)


def test_no_profile_or_an_srgb_one_changes_nothing() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    for icc in (None, b"", srgb):
        transform = DisplayTransform(icc)
        assert not transform.active
        assert transform.apply(GREY) is GREY


@pytest.mark.parametrize("icc", [b"not a profile", b"\0" * 200])
def test_a_profile_that_does_not_open_is_ignored(icc: bytes) -> None:
    assert not DisplayTransform(icc).active


def test_linear_gamma_mid_grey_is_shown_as_srgb_188() -> None:
    # linear 0.5 is sRGB 188: a photo saved with a linear profile looks far too dark unconverted
    transform = DisplayTransform(rgb_profile(SRGB, gamma=1.0, name="Linear sRGB"))
    assert transform.active and transform.description == "Linear sRGB"
    assert np.abs(transform.apply(GREY).astype(int) - 188).max() <= 2
    assert (GREY == 128).all()  # the photo's own pixels are not touched


def test_adobe_rgb_colours_are_more_saturated_in_srgb_numbers() -> None:
    transform = DisplayTransform(rgb_profile())  # Adobe RGB (1998) primaries, gamma 2.2
    brick = np.array([[[200, 100, 80]]], np.uint8)
    shown = transform.apply(brick)[0, 0].astype(int)
    assert shown[0] > 215 and abs(shown[1] - 100) <= 3  # the red leaves sRGB's small gamut
    grey = transform.apply(GREY)
    assert np.abs(grey.astype(int) - 128).max() <= 2  # greys stay grey


def test_a_grey_profile_converts_grey_scans() -> None:
    transform = DisplayTransform(grey_profile(gamma=1.0))
    shown = transform.apply(GREY)
    assert shown.shape == GREY.shape and np.abs(shown.astype(int) - 188).max() <= 2
