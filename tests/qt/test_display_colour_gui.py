"""The canvas shows a photo with an ICC profile in sRGB; edits and exports keep its numbers."""

from __future__ import annotations

import numpy as np
from PIL import Image

from inpaint_studio.core.imageio import load_image
from inpaint_studio.qt.convert import qimage_to_rgb
from tests.icc_profiles import SRGB, rgb_profile


def test_linear_profile_photo_is_shown_converted_and_saved_as_it_was(
    qtbot, window, photo_files, tmp_path
):
    icc = rgb_profile(SRGB, gamma=1.0, name="Linear sRGB")
    pixels = photo_files.pixels
    Image.fromarray(pixels).save(tmp_path / "linear.png", icc_profile=icc)
    assert window.open_file(tmp_path / "linear.png")
    doc, canvas = window.controller.document, window.canvas
    shown = qimage_to_rgb(canvas.displayed_image())
    assert np.array_equal(doc.image, pixels)  # the photo's numbers
    assert shown.mean() > pixels.mean() + 20  # lighter on screen: linear -> sRGB
    assert "Colours shown in sRGB from its embedded profile (Linear sRGB)" in (
        window.statusBar().currentMessage()
    )
    # a fill updates its region in screen colours as well
    canvas.begin_stroke(100, 120)
    canvas.extend_stroke(200, 120)
    canvas.end_stroke()
    index = window.model_combo.findData("telea")
    window.model_combo.setCurrentIndex(index)
    with qtbot.waitSignal(window.controller.inpaint_applied, timeout=10_000):
        window.inpaint()
    shown = qimage_to_rgb(canvas.displayed_image())
    expected = canvas._display.apply(doc.image)
    assert np.abs(shown.astype(int) - expected).max() <= 0
    canvas.show_original(True)
    original_shown = qimage_to_rgb(canvas.displayed_image())
    assert np.array_equal(original_shown, canvas._display.apply(pixels))
    canvas.show_original(False)
    assert window.save_as(tmp_path / "out.png")
    saved = load_image(tmp_path / "out.png")
    assert saved.icc_profile == icc
    far = np.ones(pixels.shape[:2], bool)
    far[98:143, 78:223] = False  # the stroke (40 px brush) and its fill
    assert np.array_equal(saved.pixels[far], pixels[far])  # numbers, not screen colours
