"""Edit > Load mask / Save mask: masks from files are one undo step; bad files are refused."""

from __future__ import annotations

import numpy as np
from PIL import Image


def _mask_file(path, size=(320, 240), box=(40, 30, 60, 20), value=255):
    w, h = size
    m = np.zeros((h, w), np.uint8)
    x, y, bw, bh = box
    m[y : y + bh, x : x + bw] = value
    Image.fromarray(m).save(path)
    return m


def test_load_mask_adds_to_painted_mask_and_undoes(window, photo_files, tmp_path):
    assert window.open_file(photo_files.png)
    doc = window.controller.document
    window.canvas.set_brush_size(10)
    window.canvas.begin_stroke(200, 200)
    window.canvas.extend_stroke(260, 200)
    window.canvas.end_stroke()
    painted = doc.mask.copy()
    loaded = _mask_file(tmp_path / "m.png")
    assert window.load_mask_file(tmp_path / "m.png")
    assert window.stack.count() == 2 and window.stack.text(1).startswith("Load mask")
    expected = np.maximum(painted, loaded)
    np.testing.assert_array_equal(doc.mask, expected)
    window.controller.undo()
    np.testing.assert_array_equal(doc.mask, painted)
    window.controller.redo()
    np.testing.assert_array_equal(doc.mask, expected)
    assert not window.load_mask_file(tmp_path / "m.png")  # adds nothing new: no step
    assert window.stack.count() == 2


def test_grey_mask_values_are_thresholded(window, photo_files, tmp_path):
    assert window.open_file(photo_files.png)
    _mask_file(tmp_path / "light.png", box=(10, 10, 20, 20), value=200)
    _mask_file(tmp_path / "dark.png", box=(100, 100, 20, 20), value=60)
    assert window.load_mask_file(tmp_path / "light.png")
    assert not window.load_mask_file(tmp_path / "dark.png")
    mask = window.controller.document.mask
    assert set(np.unique(mask)) == {0, 255}
    assert mask[15, 15] == 255 and mask[105, 105] == 0


def test_bad_mask_files_show_one_error_and_keep_state(window, photo_files, tmp_path, dialog_log):
    assert window.open_file(photo_files.png)
    before = window.controller.document.mask.copy()
    _mask_file(tmp_path / "small.png", size=(100, 100))
    (tmp_path / "text.png").write_text("not a mask")
    assert not window.load_mask_file(tmp_path / "small.png")
    assert not window.load_mask_file(tmp_path / "text.png")
    assert not window.load_mask_file(tmp_path / "missing.png")
    assert len(dialog_log.errors) == 3
    assert "size" in dialog_log.errors[0]
    assert all("\n" not in e for e in dialog_log.errors)
    np.testing.assert_array_equal(window.controller.document.mask, before)
    assert window.stack.count() == 0


def test_save_mask_round_trips(window, photo_files, tmp_path, dialog_log):
    assert window.open_file(photo_files.png)
    loaded = _mask_file(tmp_path / "m.png")
    assert window.load_mask_file(tmp_path / "m.png")
    assert window.save_mask_file(tmp_path / "saved")  # .png is added
    with Image.open(tmp_path / "saved.png") as im:
        assert im.mode == "L"
        np.testing.assert_array_equal(np.asarray(im), loaded)
    original = photo_files.png.read_bytes()
    assert not window.save_mask_file(photo_files.png)  # never over the photo
    assert photo_files.png.read_bytes() == original
    assert dialog_log.errors
