"""TorchScript backend: export ours in the LaMa convention, load it the ways users do, errors."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from inpaint_studio.backends import registry, torchscript_backend
from inpaint_studio.backends.ffc_net import InpaintNet, NetConfig
from inpaint_studio.backends.neural import NeuralInpainter
from inpaint_studio.backends.torchscript_backend import TorchScriptInpainter
from inpaint_studio.backends.weights import save_weights
from inpaint_studio.core.pipeline import inpaint_image
from inpaint_studio.errors import BackendError, BackendUnavailable
from inpaint_studio.paths import user_models_dir

# TorchScript is deprecated in recent torch but is still the LaMa exchange format users have.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.*` is deprecated:DeprecationWarning")


def _photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255 // w, yy * 255 // h, np.full_like(xx, 120)], -1)
    return np.clip(base + rng.integers(0, 25, base.shape), 0, 255).astype(np.uint8)


def _mask(h: int, w: int) -> np.ndarray:
    mask = np.zeros((h, w), np.uint8)
    mask[h // 4 : h // 2, w // 3 : 2 * w // 3] = 255
    mask[h - 6 :, :5] = 255  # touches the corner: padding must not leak it
    return mask


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    torch.manual_seed(3)
    path = tmp_path_factory.mktemp("ts") / "tiny_weights.pt"
    save_weights(InpaintNet(NetConfig(base=8, blocks=1)).eval(), path)
    return path


@pytest.fixture(scope="module")
def exported(tiny_weights):
    """Our (small) network exported as a LaMa-convention TorchScript file."""
    out = tiny_weights.parent / "models" / "ours_tiny.pt"
    assert torchscript_backend.export_ours(tiny_weights, out) == out
    return out


@pytest.fixture
def plugins():
    """A MonkeyPatch whose changes are undone before the registry looks for plugins again."""
    patcher = pytest.MonkeyPatch()
    yield patcher
    patcher.undo()
    registry.refresh()


def test_export_follows_the_lama_convention(exported):
    model = torch.jit.load(str(exported))
    assert isinstance(model, torch.jit.ScriptModule)
    image = torch.rand(1, 3, 40, 72)
    mask = torch.zeros(1, 1, 40, 72)
    mask[..., 8:24, 16:48] = 1
    with torch.inference_mode():
        out = model(image, mask)
    assert out.shape == (1, 3, 40, 72) and out.dtype == torch.float32
    assert 0 <= float(out.min()) and float(out.max()) <= 1
    keep = mask.expand_as(image) == 0
    assert torch.allclose(out[keep], image[keep], atol=1e-6)  # composites the known pixels


@pytest.mark.parametrize("size", [(48, 64), (45, 77), (13, 100)])
def test_torchscript_path_matches_native_backend(exported, tiny_weights, size):
    image, mask = _photo(*size), _mask(*size)
    native = NeuralInpainter(tiny_weights, precision="fp32")
    native.load("cpu")
    scripted = registry.create(f"torchscript:{exported}")
    assert isinstance(scripted, TorchScriptInpainter)
    scripted.load("cpu")
    a = scripted.inpaint(image, mask)
    b = native.inpaint(image, mask)
    assert a.shape == image.shape and a.dtype == np.uint8
    assert np.array_equal(a[mask == 0], image[mask == 0])
    assert np.abs(a.astype(int) - b).max() <= 1


@pytest.fixture(
    scope="module", params=["pushpull", "membrane", "tension", "multigrid", "multigrid+coarse"]
)
def prior_weights_and_export(tmp_path_factory, request):
    """A small network with a smooth prior (+ a coarse corrector whose head is not zero, so
    it changes the fill) and its TorchScript export."""
    torch.manual_seed(4)
    folder = tmp_path_factory.mktemp("ts_prior")
    weights = folder / "prior_weights.pt"
    prior, _, coarse = request.param.partition("+")
    net = InpaintNet(NetConfig(base=8, blocks=1, prior=prior, coarse=8 if coarse else 0))
    if net.coarse is not None:
        with torch.no_grad():
            net.coarse.head.weight.normal_(0, 0.05)
    save_weights(net.eval(), weights)
    return weights, torchscript_backend.export_ours(weights, folder / "ours_prior.pt")


@pytest.mark.parametrize("size", [(256, 256), (200, 264), (64, 400)])
def test_export_matches_native_on_big_holes_in_big_inputs(prior_weights_and_export, size):
    """The export is traced on 64 px; the prior must not freeze that pyramid depth."""
    tiny_weights, exported = prior_weights_and_export
    h, w = size
    image = _photo(h, w, seed=2)
    mask = np.zeros((h, w), np.uint8)
    mask[h // 8 : h * 7 // 8, w // 8 : w * 7 // 8] = 255
    native = NeuralInpainter(tiny_weights, precision="fp32")
    native.load("cpu")
    scripted = registry.create(f"torchscript:{exported}")
    scripted.load("cpu")
    diff = np.abs(scripted.inpaint(image, mask).astype(int) - native.inpaint(image, mask))
    assert diff.max() <= 1


def test_shipped_model_export_matches_native(tmp_path):
    out = torchscript_backend.export_ours(None, tmp_path / "ours.pt")
    image, mask = _photo(40, 56, seed=5), _mask(40, 56)
    scripted = torchscript_backend.create_from_path(out)
    scripted.load("cpu")
    native = NeuralInpainter(precision="fp32")
    native.refine_min_width = 0  # a trace has no branch: the export runs its FFC network on all
    native.load("cpu")
    diff = np.abs(scripted.inpaint(image, mask).astype(int) - native.inpaint(image, mask))
    assert diff.max() <= 1


def test_user_models_folder_is_discovered(plugins, tmp_path, exported):
    plugins.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    folder = user_models_dir()
    assert folder == tmp_path / "data" / "inpaint-studio" / "models"
    folder.mkdir(parents=True)
    installed = folder / "mine.pt"
    shutil.copy(exported, installed)
    (folder / "notes.txt").write_text("not a model")
    registry.refresh()
    name = f"torchscript:{installed}"
    assert name in registry.names()
    assert not any("notes.txt" in n for n in registry.names())
    assert registry.is_available(name) == (True, "")
    info = registry.info(name)
    assert info.neural and info.pad_multiple == 8 and "mine.pt" in info.title
    model = registry.create(name)
    model.load("cpu")
    image, mask = _photo(64, 80), _mask(64, 80)
    out = inpaint_image(image, mask, model)
    assert np.array_equal(out[mask == 0], image[mask == 0])
    installed.unlink()
    assert registry.is_available(name)[0] is False  # the check looks at the file every time


def test_missing_file_is_unavailable(tmp_path):
    with pytest.raises(BackendUnavailable, match="Model file not found"):
        registry.create(f"torchscript:{tmp_path / 'absent.pt'}").load("cpu")


@pytest.mark.parametrize(
    ("content", "hint"),
    [
        (b"", "not a TorchScript archive"),
        (b"definitely not a model\n" * 10, "not a TorchScript archive"),
        ("state_dict", "plain PyTorch checkpoint"),
    ],
)
def test_broken_files_give_a_clear_backend_error(tmp_path, content, hint):
    path = tmp_path / "broken.pt"
    if content == "state_dict":
        torch.save(torch.nn.Linear(2, 2).state_dict(), path)
    else:
        path.write_bytes(content)
    with pytest.raises(BackendError) as info:
        torchscript_backend.create_from_path(path).load("cpu")
    message = str(info.value)
    assert message.startswith("broken.pt is not a loadable TorchScript model")
    assert hint in message and "\n" not in message and len(message) < 200, message


def test_truncated_export_is_a_clear_error(tmp_path, exported):
    path = tmp_path / "cut.pt"
    path.write_bytes(exported.read_bytes()[:2000])
    with pytest.raises(BackendError, match="cut.pt is not a loadable TorchScript model"):
        TorchScriptInpainter(path).load("cpu")


def test_model_with_wrong_output_is_reported(tmp_path):
    class Gray(torch.nn.Module):
        def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            return image.mean(dim=1, keepdim=True)

    path = tmp_path / "gray.pt"
    torch.jit.script(Gray()).save(str(path))
    model = TorchScriptInpainter(path)
    model.load("cpu")
    with pytest.raises(BackendError, match=r"gray.pt returned .*expected an \(N,3,H,W\) image"):
        model.inpaint(_photo(16, 16), _mask(16, 16))
