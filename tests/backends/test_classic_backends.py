"""OpenCV (telea, ns) and PatchMatch backends, and the backend registry."""

from __future__ import annotations

import importlib.machinery
import subprocess
import sys
import types

import numpy as np
import pytest

from inpaint_studio.backends import patchmatch_backend, registry
from inpaint_studio.backends.base import BackendInfo, Inpainter
from inpaint_studio.core.pipeline import inpaint_image
from inpaint_studio.errors import BackendUnavailable

CLASSIC = ["telea", "ns", "patchmatch"]


def _gradient(h: int = 96, w: int = 128) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([xx * 255 // w, yy * 255 // h, (xx + yy) * 255 // (w + h)], axis=-1).astype(
        np.uint8
    )


def _hole(h: int = 96, w: int = 128) -> np.ndarray:
    mask = np.zeros((h, w), np.uint8)
    mask[30:60, 40:80] = 255
    return mask


@pytest.mark.parametrize("name", CLASSIC)
def test_backend_fills_gradient_and_keeps_known_pixels(name):
    truth = _gradient()
    mask = _hole()
    image = truth.copy()
    image[mask != 0] = (255, 0, 255)
    before = image.copy()
    inpainter = registry.create(name)
    assert isinstance(inpainter, Inpainter)
    assert inpainter.info.name == name and not inpainter.info.neural
    inpainter.load("cpu")
    out = inpainter.inpaint(image, mask)
    inpainter.unload()
    assert out.dtype == np.uint8 and out.shape == image.shape
    assert np.array_equal(image, before)  # input untouched
    assert np.array_equal(out[mask == 0], image[mask == 0])
    error = np.abs(out.astype(int) - truth)[mask != 0].mean()
    assert error < 8, f"{name}: mean abs error {error:.1f} in the hole"


@pytest.mark.parametrize("name", CLASSIC)
def test_backend_with_empty_mask_returns_copy(name):
    image = _gradient()
    inpainter = registry.create(name)
    out = inpainter.inpaint(image, np.zeros(image.shape[:2], np.uint8))
    assert out is not image and np.array_equal(out, image)


def test_mask_values_other_than_255_count_as_fill():
    image = _gradient()
    a = registry.create("telea").inpaint(image, _hole())
    b = registry.create("telea").inpaint(image, (_hole() > 0).astype(np.uint8))
    assert np.array_equal(a, b)


def test_patchmatch_is_deterministic():
    image, mask = _gradient(), _hole()
    pm = registry.create("patchmatch")
    assert np.array_equal(pm.inpaint(image, mask), pm.inpaint(image, mask))


def test_pipeline_with_telea_keeps_outside_bit_exact():
    image = _gradient(200, 300)
    mask = np.zeros((200, 300), np.uint8)
    mask[20:30, 20:40] = 255
    mask[150:170, 250:280] = 255
    out = inpaint_image(image, mask, registry.create("telea"))
    assert np.array_equal(out[mask == 0], image[mask == 0])
    assert np.abs(out.astype(int) - image)[mask != 0].mean() < 4


def test_registry_lists_classic_backends():
    assert set(CLASSIC) <= set(registry.names())
    assert registry.info("telea").working_size is None
    assert registry.info("ns").working_size is None
    assert registry.info("patchmatch").working_size == 1024
    listed = {info.name: (ok, reason) for info, ok, reason in registry.available()}
    for name in CLASSIC:
        assert listed[name] == (True, "")
    assert registry.DEFAULT_BACKEND in registry.names()


def test_unknown_name_raises_backend_unavailable():
    with pytest.raises(BackendUnavailable, match=r"unknown model 'nope'; available: .*telea"):
        registry.create("nope")
    with pytest.raises(BackendUnavailable, match="unknown model"):
        registry.info("nope")


def test_patchmatch_missing_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "patchmatch", None)
    with pytest.raises(BackendUnavailable, match="PyPatchMatch"):
        patchmatch_backend.PatchMatchInpainter().load()
    monkeypatch.setattr(patchmatch_backend.importlib.util, "find_spec", lambda name: None)
    ok, reason = patchmatch_backend.is_available()
    assert not ok and "PyPatchMatch" in reason


def _fake_module(monkeypatch, name: str, **attrs) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    for key, value in attrs.items():
        setattr(module, key, value)
    monkeypatch.setitem(sys.modules, name, module)
    return module


@pytest.fixture
def plugins():
    """A MonkeyPatch for fake plugin modules; undone before the registry is refreshed."""
    patcher = pytest.MonkeyPatch()
    yield patcher
    patcher.undo()
    registry.refresh()


class _Dummy:
    def __init__(self, info):
        self.info = info

    def load(self, device="cpu"):
        pass

    def inpaint(self, image, mask):
        return image.copy()

    def unload(self):
        pass


@pytest.mark.parametrize("weights_present", [True, False])
def test_neural_plugin_becomes_default_when_available(plugins, weights_present):
    info = BackendInfo("ours", "Ours", "test", pad_multiple=8, working_size=512, neural=True)
    _fake_module(
        plugins,
        "inpaint_studio.backends.neural",
        INFO=info,
        NeuralInpainter=lambda: _Dummy(info),
        is_available=lambda: (weights_present, "" if weights_present else "weights missing"),
    )
    registry.refresh()
    assert "ours" in registry.names()
    assert registry.info("ours") is info
    assert registry.create("ours").info is info
    assert registry.DEFAULT_BACKEND == ("ours" if weights_present else "telea")
    listed = {i.name: (ok, reason) for i, ok, reason in registry.available()}
    assert listed["ours"] == (weights_present, "" if weights_present else "weights missing")


def test_torchscript_plugin_discovery_and_paths(plugins):
    info = BackendInfo("lama", "LaMa", "test", pad_multiple=8, working_size=512, neural=True)
    made = []

    def create_from_path(path):
        made.append(path)
        return _Dummy(BackendInfo(f"torchscript:{path}", path, "test"))

    _fake_module(
        plugins,
        "inpaint_studio.backends.torchscript_backend",
        discover=lambda: [("lama", info, lambda: _Dummy(info), lambda: (False, "no file"))],
        create_from_path=create_from_path,
    )
    registry.refresh()
    assert "lama" in registry.names()
    assert (info, False, "no file") in registry.available()
    model = registry.create("torchscript:/models/x.pt")
    assert made == ["/models/x.pt"] and model.info.name == "torchscript:/models/x.pt"


def test_fake_plugins_do_not_leak():
    for name in registry.names():
        assert registry.info(name).description != "test", name


def test_failing_check_is_reported_not_raised():
    info = BackendInfo("broken", "Broken", "test")

    def check():
        raise OSError("disk on fire")

    registry.register("broken", lambda: _Dummy(info), info, check)
    try:
        assert (info, False, "disk on fire") in registry.available()
        assert registry.is_available("broken") == (False, "disk on fire")
    finally:
        registry.unregister("broken")


def test_registry_import_and_listing_do_not_import_torch_or_qt():
    code = (
        "import sys\n"
        "import inpaint_studio.backends.registry as r\n"
        "bad = [m for m in ('torch', 'PySide6') if m in sys.modules]\n"
        "assert not bad, ('import', bad)\n"
        "r.available(); r.names(); r.DEFAULT_BACKEND\n"
        "bad = [m for m in ('torch', 'PySide6') if m in sys.modules]\n"
        "assert not bad, ('available()', bad)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
