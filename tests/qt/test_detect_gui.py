"""Edit > Detect dust & scratches: what it finds becomes one undo step of the mask."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from inpaint_studio.backends import damage_net


def _scratched(tmp_path):
    """A smooth 320x240 photo with a light scratch and two dust specks, as PNG."""
    yy, xx = np.mgrid[0:240, 0:320].astype(np.float32)
    base = np.stack([90 + xx / 5, 70 + yy / 4, 60 + (xx + yy) / 8], -1)
    img = np.clip(base, 0, 255).astype(np.uint8)
    damage = np.zeros((240, 320), np.uint8)
    cv2.line(damage, (20, 40), (300, 200), 255, 3)
    cv2.circle(damage, (250, 60), 3, 255, -1)
    cv2.circle(damage, (80, 180), 2, 255, -1)
    img[damage != 0] = 235
    path = tmp_path / "scratched.png"
    Image.fromarray(img).save(path)
    return path, damage != 0


def test_detect_adds_the_damage_to_the_mask_as_one_undo_step(window, tmp_path):
    path, damage = _scratched(tmp_path)
    assert window.open_file(path)
    doc = window.controller.document
    assert window.detect_action.isEnabled()
    assert window.detect_damage()
    assert window.stack.count() == 1 and window.stack.text(0).startswith("Detect damage")
    found = doc.mask != 0
    assert found[damage].mean() > 0.9
    assert (found & ~damage).sum() < 3 * damage.sum()  # the damage and its soft edge
    assert "added to the mask" in window.statusBar().currentMessage()
    window.controller.undo()
    assert not doc.mask.any()
    window.controller.redo()
    assert (doc.mask != 0).sum() == found.sum()


def test_detect_on_a_clean_photo_adds_no_step(window, photo_files):
    assert window.open_file(photo_files.png)
    window.detect_damage()
    assert window.stack.count() == 0


def test_a_failing_detector_shows_one_message_and_changes_nothing(
    window, tmp_path, dialog_log, monkeypatch
):
    path, _ = _scratched(tmp_path)
    assert window.open_file(path)
    monkeypatch.setattr(damage_net, "default_weights", lambda: tmp_path / "gone.pt")
    window.controller._detector = None
    assert not window.detect_damage()
    assert len(dialog_log.errors) == 1 and "missing" in dialog_log.errors[0]
    assert window.stack.count() == 0 and not window.controller.document.mask.any()


def test_sensitivity_is_a_remembered_setting(window):
    assert window.current_settings().detect_sensitivity == 50
    window.sensitivity_actions[75].trigger()
    assert window.current_settings().detect_sensitivity == 75
    assert window.detect_sensitivity() == 75


def test_big_photos_show_the_detection_progress_from_the_gui_thread(window, tmp_path, monkeypatch):
    from PySide6.QtCore import QThread

    path, _ = _scratched(tmp_path)
    assert window.open_file(path)
    monkeypatch.setattr(damage_net, "TILE", 64)  # 320x240: 5 x 4 tiles
    seen = []
    window.controller.status.connect(
        lambda text: seen.append((text, QThread.currentThread() is window.thread()))
    )
    assert window.detect_damage()
    progress = [(t, main) for t, main in seen if t.endswith("%")]
    assert progress, seen
    assert all(main for _, main in progress)
    assert "added to the mask" in window.statusBar().currentMessage()  # not a late tile's


def test_damage_to_find_is_a_remembered_setting_and_filters_the_detection(window, tmp_path):
    path, damage = _scratched(tmp_path)  # light damage
    assert window.open_file(path)
    assert window.detect_polarity() == "both"
    window.polarity_actions["dark"].trigger()
    assert window.current_settings().detect_polarity == "dark"
    window.detect_damage()
    assert not window.controller.document.mask.any()  # nothing dark to find
    window.polarity_actions["light"].trigger()
    assert window.detect_damage()
    assert (window.controller.document.mask != 0)[damage].mean() > 0.9


def test_detect_within_mask_keeps_only_the_damage_in_the_painted_area(window, tmp_path):
    path, damage = _scratched(tmp_path)
    assert window.open_file(path)
    doc = window.controller.document
    assert window.detect_within_action.isEnabled()
    assert window.detect_damage(within_mask=True)  # nothing painted: a hint, no step
    assert window.stack.count() == 0 and "paint roughly" in window.statusBar().currentMessage()
    rough = np.zeros_like(doc.mask)
    rough[20:140, 0:180] = 255  # over part of the scratch and a lot of clean photo
    window.stack.push_edit(doc.mask_union_edit(rough))
    assert window.detect_damage(within_mask=True)
    assert window.stack.count() == 2 and window.stack.text(1) == "Detect within mask"
    found = doc.mask != 0
    assert not (found & (rough == 0)).any()  # nothing outside the painted area
    inside = damage & (rough != 0)
    assert found[inside].mean() > 0.9
    assert found.sum() < 3 * inside.sum()  # the clean part of the area is let go
    assert "kept the damage" in window.statusBar().currentMessage()
    window.controller.undo()
    np.testing.assert_array_equal(doc.mask, rough)


def test_detect_within_mask_on_a_clean_area_leaves_the_mask(window, tmp_path):
    path, damage = _scratched(tmp_path)
    assert window.open_file(path)
    doc = window.controller.document
    rough = np.zeros_like(doc.mask)
    rough[150:230, 200:300] = 255
    rough[damage] = 0
    rough = cv2.erode(rough, np.ones((15, 15), np.uint8))  # well clear of the damage
    window.stack.push_edit(doc.mask_union_edit(rough))
    window.detect_damage(within_mask=True)
    assert window.stack.count() == 1
    np.testing.assert_array_equal(doc.mask, rough)
    assert "no damage found" in window.statusBar().currentMessage()
