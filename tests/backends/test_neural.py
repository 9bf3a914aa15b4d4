"""The built-in "ours" backend: padding, known pixels, precision, shipped weights, errors."""

from __future__ import annotations

import pickle

import cv2
import numpy as np
import pytest
import torch

from inpaint_studio.backends import neural, registry, torch_utils
from inpaint_studio.backends.ffc_net import InpaintNet, NetConfig, count_parameters
from inpaint_studio.backends.neural import NeuralInpainter
from inpaint_studio.backends.weights import FORMAT, load_weights, save_weights
from inpaint_studio.core.pipeline import inpaint_image
from inpaint_studio.core.regions import hole_width
from inpaint_studio.errors import BackendError, BackendUnavailable

TINY = NetConfig(base=8, blocks=1)


def _photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 200 // max(w, 1), yy * 200 // max(h, 1), (xx + yy) % 64 + 96], -1)
    return np.clip(base + rng.integers(0, 30, base.shape), 0, 255).astype(np.uint8)


def _box_mask(h: int, w: int) -> np.ndarray:
    mask = np.zeros((h, w), np.uint8)
    mask[h // 3 : max(h // 3 + 1, 2 * h // 3), w // 3 : max(w // 3 + 1, 2 * w // 3)] = 255
    return mask


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    """A randomly initialised small network saved in the shipping format."""
    torch.manual_seed(0)
    net = InpaintNet(TINY)
    with torch.no_grad():  # non-trivial BatchNorm statistics, as after training
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
    path = tmp_path_factory.mktemp("weights") / "tiny.pt"
    save_weights(net.eval(), path, meta={"step": 0})
    return path


@pytest.fixture(scope="module")
def tiny(tiny_weights):
    model = NeuralInpainter(tiny_weights, precision="fp32")
    model.load("cpu")
    return model


@pytest.fixture(scope="module")
def shipped():
    model = NeuralInpainter(precision="fp32")
    model.load("cpu")
    return model


@pytest.mark.parametrize("size", [(1, 1), (5, 90), (37, 53), (64, 64), (97, 31)])
def test_odd_sizes_give_same_shape_and_bit_exact_known_pixels(tiny, size):
    h, w = size
    image = _photo(h, w)
    mask = _box_mask(h, w)
    before = image.copy()
    out = tiny.inpaint(image, mask)
    assert out.shape == (h, w, 3) and out.dtype == np.uint8 and out.flags.c_contiguous
    assert np.array_equal(image, before)
    assert np.array_equal(out[mask == 0], image[mask == 0])
    assert not np.array_equal(out[mask != 0], image[mask != 0])


def test_padding_reflects_to_the_pad_multiple_and_at_least_min_size():
    image = _photo(37, 53)
    mask = _box_mask(37, 53)
    img, m, size = torch_utils.to_tensors(image, mask, "cpu", 8, min_size=16)
    assert size == (37, 53)
    assert img.shape == (1, 3, 40, 56) and m.shape == (1, 1, 40, 56)
    as_float = torch.from_numpy(image).permute(2, 0, 1).float() / 255
    assert torch.equal(img[0, :, :37, :53], as_float)
    assert torch.equal(img[0, :, 37, :53], as_float[:, 35])  # reflect: edge row not repeated
    assert torch.equal(img[0, :, :37, 53], as_float[:, :, 51])
    assert set(m.unique().tolist()) == {0.0, 1.0}
    small, small_m, _ = torch_utils.to_tensors(image[:5, :9], mask[:5, :9], "cpu", 8, 16)
    assert small.shape == (1, 3, 16, 16) and small_m.shape == (1, 1, 16, 16)
    assert torch.equal(small[0, :, 15, 8], small[0, :, 4, 8])  # too small to reflect: replicate


def test_hole_content_is_invisible_to_the_network(tiny):
    """Whatever is under the mask (noise or the true photo) gives the identical result."""
    image = _photo(45, 70)
    mask = _box_mask(45, 70)
    noisy = image.copy()
    noisy[mask != 0] = np.random.default_rng(1).integers(0, 256, (int((mask != 0).sum()), 3))
    assert np.array_equal(tiny.inpaint(image, mask), tiny.inpaint(noisy, mask))


def test_empty_mask_returns_a_copy(tiny):
    image = _photo(20, 30)
    out = tiny.inpaint(image, np.zeros((20, 30), np.uint8))
    assert out is not image and np.array_equal(out, image)


def test_pipeline_crop_strategy_keeps_outside_bit_exact(tiny):
    image = _photo(150, 230)
    mask = np.zeros((150, 230), np.uint8)
    mask[10:25, 12:40] = 255
    mask[120:140, 180:221] = 255
    out = inpaint_image(image, mask, tiny)
    assert np.array_equal(out[mask == 0], image[mask == 0])
    assert not np.array_equal(out[mask != 0], image[mask != 0])


def test_cpu_bf16_agrees_with_fp32(tiny_weights):
    """Autocast bf16 runs on any CPU (emulated without AVX512-BF16/AMX); results stay close."""
    image, mask = _photo(48, 64), _box_mask(48, 64)
    results = {}
    for precision in ("fp32", "bf16"):
        model = NeuralInpainter(tiny_weights, precision=precision)
        model.load("cpu")
        assert model.precision == precision
        results[precision] = model.inpaint(image, mask).astype(int)
    diff = np.abs(results["bf16"] - results["fp32"])[mask != 0]
    assert diff.mean() < 1.0 and diff.max() <= 4


def test_bf16_counts_as_fast_with_amx_or_on_amd(tmp_path, monkeypatch):
    monkeypatch.setattr(torch_utils, "cpu_supports_bf16", lambda: True)

    def cpu(name: str, vendor: str, flags: str) -> str:
        path = tmp_path / name
        path.write_text(f"processor\t: 0\nvendor_id\t: {vendor}\nflags\t\t: {flags}\n")
        return str(path)

    intel_avx512 = cpu("intel", "GenuineIntel", "fpu avx2 avx512f avx512_bf16")
    amd_avx512 = cpu("amd", "AuthenticAMD", "fpu avx2 avx512f avx512_bf16")
    amd_avx2 = cpu("amd2", "AuthenticAMD", "fpu avx2")
    amx = cpu("amx", "GenuineIntel", "fpu avx512f avx512_bf16 amx_bf16 amx_tile")
    assert not torch_utils.cpu_bf16_is_fast(intel_avx512)
    assert torch_utils.cpu_bf16_is_fast(amd_avx512)
    assert not torch_utils.cpu_bf16_is_fast(amd_avx2)
    assert torch_utils.cpu_bf16_is_fast(amx)
    assert torch_utils.cpu_bf16_is_fast(str(tmp_path / "missing"))  # falls back to support
    monkeypatch.setattr(torch_utils, "cpu_supports_bf16", lambda: False)
    assert not torch_utils.cpu_bf16_is_fast(str(amx))


def test_auto_precision_uses_bf16_only_where_it_is_fast():
    expected = "bf16" if torch_utils.cpu_bf16_is_fast() else "fp32"
    assert torch_utils.pick_precision("cpu", "auto") == expected
    assert torch_utils.pick_precision("cpu", "fp32") == "fp32"


@pytest.mark.skipif(not torch_utils.cpu_supports_bf16(), reason="CPU lacks native bf16")
def test_shipped_model_bf16_agrees_with_fp32(shipped):
    image, mask = _photo(48, 64), _box_mask(48, 64)
    fast = NeuralInpainter(precision="bf16")
    fast.load("cpu")
    diff = np.abs(fast.inpaint(image, mask).astype(int) - shipped.inpaint(image, mask))
    assert diff[mask != 0].mean() < 1.0 and diff.max() <= 4


def test_shipped_weights_file_format():
    path = neural.default_weights_path()
    assert path.is_file() and neural.is_available() == (True, "")
    payload = torch.load(path, map_location="cpu", weights_only=True)
    assert payload["format"] == FORMAT
    assert set(payload) >= {"format", "config", "state", "meta"}
    config = NetConfig(**payload["config"])
    floats = [t for t in payload["state"].values() if t.is_floating_point()]
    assert floats and all(t.dtype == torch.float16 for t in floats)
    net, meta = load_weights(path)
    assert net.config == config and not net.training
    assert all(p.dtype == torch.float32 for p in net.parameters())
    assert 2_000_000 <= count_parameters(net) <= 10_000_000
    assert isinstance(meta, dict)


def test_shipped_model_fills_a_hole_on_cpu(shipped):
    assert shipped.device == "cpu" and shipped.net is not None and not shipped.net.training
    image, mask = _photo(48, 64), _box_mask(48, 64)
    noisy = image.copy()
    noisy[mask != 0] = np.random.default_rng(2).integers(0, 256, (int((mask != 0).sum()), 3))
    out = shipped.inpaint(noisy, mask)
    assert np.array_equal(out[mask == 0], image[mask == 0])
    error = np.abs(out.astype(int) - image)[mask != 0].mean()
    noise_error = np.abs(noisy.astype(int) - image)[mask != 0].mean()
    assert error < 0.6 * noise_error, (error, noise_error)


def test_registry_builds_ours_and_auto_device_resolves():
    assert registry.info("ours") is neural.INFO
    model = registry.create("ours")
    assert isinstance(model, NeuralInpainter) and model.info.pad_multiple == 8
    model.load("auto")
    assert model.device == ("cuda" if torch.cuda.is_available() else "cpu")
    model.unload()
    assert model.net is None
    with pytest.raises(BackendError, match="not loaded"):
        model.inpaint(_photo(16, 16), _box_mask(16, 16))


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_gpu_is_a_clear_error(tiny_weights):
    with pytest.raises(BackendError, match="no CUDA GPU"):
        NeuralInpainter(tiny_weights).load("cuda")


def test_missing_weights_are_unavailable(tmp_path):
    with pytest.raises(BackendUnavailable, match="weights not found"):
        NeuralInpainter(tmp_path / "nope.pt").load("cpu")


def _bad_files(tmp_path, tiny_weights):
    raw = tiny_weights.read_bytes()
    files = {
        "empty.pt": b"",
        "text.pt": b"not a model at all\n" * 20,
        "truncated.pt": raw[: len(raw) // 2],
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other_format.pt")
    torch.save(torch.nn.Linear(2, 2), tmp_path / "module.pt")
    payload = torch.load(tiny_weights, weights_only=True)
    payload["config"] = {"base": 16, "blocks": 1}  # tensors no longer fit the config
    torch.save(payload, tmp_path / "mismatch.pt")
    with open(tmp_path / "pickle.pt", "wb") as f:
        pickle.dump({"a": 1}, f, protocol=2)
    return sorted(tmp_path.glob("*.pt"))


def test_broken_weight_files_raise_one_line_backend_errors(tmp_path, tiny_weights):
    for path in _bad_files(tmp_path, tiny_weights):
        with pytest.raises(BackendError) as info:
            NeuralInpainter(path).load("cpu")
        message = str(info.value)
        assert "\n" not in message and len(message) < 220, message
        assert path.name in message and "weights" in message, message


@pytest.mark.parametrize("prior", ["pushpull", "membrane", "tension", "multigrid"])
def test_prior_keeps_known_pixels_and_fills_smoothly(prior):
    from inpaint_studio.backends.ffc_net import PRIORS

    fill = PRIORS[prior]
    torch.manual_seed(0)
    rgb = torch.rand(2, 3, 37, 53)
    known = torch.ones(2, 1, 37, 53)
    known[:, :, 10:25, 12:40] = 0
    out = fill(rgb * known, known)
    assert out.shape == rgb.shape and out.dtype == torch.float32
    assert torch.equal(out * known, rgb * known)  # known pixels exact
    assert float(out.min()) >= 0 and float(out.max()) <= 1
    flat = torch.full((1, 3, 40, 40), 0.3)
    hole = torch.ones(1, 1, 40, 40)
    hole[:, :, 5:35, 5:35] = 0
    assert torch.allclose(fill(flat * hole, hole), flat, atol=1e-6)  # flat stays flat


def test_membrane_prior_continues_a_ramp_across_a_scratch():
    """A harmonic fill reproduces a linear ramp; the blockier push-pull pyramid does not."""
    from inpaint_studio.backends.ffc_net import membrane_fill, pushpull_fill

    ramp = torch.linspace(0.1, 0.9, 96).view(1, 1, 1, 96).expand(1, 3, 64, 96).contiguous()
    known = torch.ones(1, 1, 64, 96)
    known[:, :, :, 40:45] = 0  # a vertical scratch 5 px wide across the ramp
    hole = known == 0
    membrane = (membrane_fill(ramp * known, known) - ramp).abs()[hole.expand_as(ramp)]
    pushpull = (pushpull_fill(ramp * known, known) - ramp).abs()[hole.expand_as(ramp)]
    assert float(membrane.max()) < 0.5 / 255  # exact to within rounding of an 8-bit image
    assert float(pushpull.max()) > 2 * float(membrane.max())


def test_tension_prior_carries_the_slope_of_a_roof_into_a_scratch():
    """|x - c| ridge cut by a scratch along the ridge: the membrane fills the scratch with a
    flat plateau at the rim value; the curvature term of the tension fill continues each
    side's slope, so its fill sits closer to the true ridge, and linear ramps stay exact."""
    from inpaint_studio.backends.ffc_net import membrane_fill, tension_fill

    x = torch.arange(96, dtype=torch.float32)
    roof = (0.9 - 0.01 * (x - 47.5).abs()).view(1, 1, 1, 96).expand(1, 3, 64, 96).contiguous()
    known = torch.ones(1, 1, 64, 96)
    known[:, :, :, 44:52] = 0  # an 8 px scratch along the ridge
    hole = (known == 0).expand_as(roof)
    membrane = (membrane_fill(roof * known, known) - roof).abs()[hole]
    tension = (tension_fill(roof * known, known) - roof).abs()[hole]
    assert float(tension.mean()) < 0.8 * float(membrane.mean())  # 0.020 vs 0.029
    assert torch.equal(tension_fill(roof * known, known) * known, roof * known)
    ramp = torch.linspace(0.1, 0.9, 96).view(1, 1, 1, 96).expand(1, 3, 64, 96).contiguous()
    tension_ramp = (tension_fill(ramp * known, known) - ramp).abs()[hole]
    assert float(tension_ramp.max()) < 0.5 / 255


def _exact_tension_fill(rgb: torch.Tensor, known: torch.Tensor, mu: float = 1.0) -> torch.Tensor:
    """Reference: the minimiser of |grad u|^2 + mu |laplace u|^2 over the hole (4-neighbour
    Laplacian, edges mirrored as in ffc_net), solved densely; (1,3,H,W), (1,1,H,W)."""
    _, channels, height, width = rgb.shape
    n = height * width
    index = np.arange(n).reshape(height, width)
    lap = np.zeros((n, n))
    lap[index.ravel(), index.ravel()] = 4
    for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
        ys = np.clip(np.arange(height)[:, None] + dy, 0, height - 1)
        xs = np.clip(np.arange(width)[None, :] + dx, 0, width - 1)
        np.add.at(lap, (index.ravel(), index[ys, xs].ravel()), -1)
    system = lap + mu * lap @ lap
    free = known[0, 0].numpy().ravel() < 0.5
    values = rgb[0].numpy().reshape(channels, n).astype(np.float64)
    a_ff = system[np.ix_(free, free)]
    a_fk = system[np.ix_(free, ~free)]
    for c in range(channels):
        values[c, free] = np.linalg.solve(a_ff, -a_fk @ values[c, ~free])
    return torch.from_numpy(values.reshape(1, channels, height, width)).float().clamp(0, 1)


def test_multigrid_prior_reaches_the_exact_thin_plate_under_tension():
    """The multigrid-preconditioned solve lands on the energy's minimiser (within a fraction
    of a grey level) on a wide box plus a thin stroke, where 16 plain CG steps stop short."""
    from inpaint_studio.backends.ffc_net import multigrid_fill, tension_fill

    torch.manual_seed(3)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 40), torch.linspace(0, 1, 56), indexing="ij")
    base = torch.stack([0.2 + 0.6 * xx, 0.5 + 0.3 * torch.sin(6 * yy), 0.3 + 0.4 * xx * yy])
    rgb = (base[None] + 0.05 * torch.rand(1, 3, 40, 56)).clamp(0, 1)
    known = torch.ones(1, 1, 40, 56)
    known[:, :, 8:32, 6:30] = 0  # a 24 px box
    known[:, :, 5:36, 40:43] = 0  # a 3 px stroke
    exact = _exact_tension_fill(rgb * known, known)
    multigrid = (multigrid_fill(rgb * known, known) - exact).abs().mean()
    tension = (tension_fill(rgb * known, known) - exact).abs().mean()
    assert float(multigrid) < 0.25 / 255, float(multigrid) * 255
    assert float(multigrid) < 0.25 * float(tension)
    assert torch.equal(multigrid_fill(rgb * known, known) * known, rgb * known)


@pytest.mark.parametrize("prior", ["pushpull", "membrane", "tension", "multigrid"])
def test_prior_network_starts_near_its_prior(prior):
    from inpaint_studio.backends.ffc_net import PRIORS

    torch.manual_seed(0)
    net = InpaintNet(NetConfig(base=8, blocks=1, prior=prior)).eval()
    img = torch.rand(1, 3, 32, 48)
    mask = torch.zeros(1, 1, 32, 48)
    mask[:, :, 8:20, 10:30] = 1
    with torch.no_grad():
        out = net(torch.cat([img * (1 - mask), mask], 1))
        smooth = PRIORS[prior](img * (1 - mask), 1 - mask)
    assert out.shape == (1, 3, 32, 48)
    assert float((out - smooth).abs().max()) < 0.1  # a small residual on top of the prior
    with pytest.raises(ValueError):
        InpaintNet(NetConfig(prior="telepathy"))


def test_off_thread_runs_elsewhere_and_reraises():
    """Models load on a short-lived thread (torch's OpenMP team for the load ends with it)."""
    import threading

    from inpaint_studio.backends.torch_utils import off_thread

    assert off_thread(threading.get_ident) != threading.get_ident()
    assert off_thread(pow, 2, 5) == 32
    with pytest.raises(ValueError, match="bad weights"):
        off_thread(lambda: (_ for _ in ()).throw(ValueError("bad weights")))


@pytest.mark.parametrize("prior", ["multigrid", "tension"])
def test_traced_prior_gives_the_eager_outputs_at_any_size(prior):
    torch.manual_seed(3)
    eager = InpaintNet(NetConfig(base=8, blocks=1, prior=prior, coarse=8)).eval()
    traced = InpaintNet(NetConfig(base=8, blocks=1, prior=prior, coarse=8)).eval()
    traced.load_state_dict(eager.state_dict())
    traced.trace_prior()  # traced on a 64x96 example
    for h, w in [(16, 16), (40, 72), (200, 264), (96, 400)]:
        x = torch.rand(1, 4, h, w)
        hole = torch.zeros(1, 1, h, w)
        hole[..., h // 6 : h - h // 5, w // 8 : w // 2] = 1  # a big hole: deep pyramids
        x = torch.cat([x[:, :3] * (1 - hole), hole], dim=1)
        for bf16 in (False, True):
            with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=bf16):
                assert torch.equal(traced(x), eager(x)), (h, w, bf16)


def test_loaded_model_runs_a_traced_prior(shipped):
    assert shipped.net._traced_prior is not None


def test_fast_variant_is_the_prior_and_corrector_without_the_ffc_network(shipped):
    from inpaint_studio.backends.coarse_net import faded_residual

    fast = registry.create("ours-fast")
    fast.load("cpu")
    assert fast.info.name == "ours-fast"
    image = np.random.default_rng(4).integers(0, 256, (64, 80, 3), dtype=np.uint8)
    mask = np.zeros((64, 80), np.uint8)
    mask[4:60, 10:70] = 255  # 56 px wide: "ours" runs its FFC network
    out = fast.inpaint(image, mask)
    np.testing.assert_array_equal(out[mask == 0], image[mask == 0])
    assert not np.array_equal(out, shipped.inpaint(image, mask))  # the FFC network is skipped
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    known = torch.from_numpy(mask == 0)[None, None].float()
    with torch.inference_mode():
        fill = fast.net._traced_prior(x * known, known)
        expected = (fill + faded_residual(fast.net.coarse, fill, known)).clamp(0, 1)
    expected = (expected[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    hole = mask != 0
    assert np.abs(out[hole].astype(int) - expected[hole]).max() <= 1


def test_thin_holes_skip_the_ffc_network_wide_ones_do_not(shipped):
    fast = neural.FastNeuralInpainter(precision="fp32")
    fast.load("cpu")
    image = np.random.default_rng(5).integers(0, 256, (96, 128, 3), dtype=np.uint8)
    thin = np.zeros((96, 128), np.uint8)
    cv2.line(thin, (8, 20), (120, 70), 255, thickness=9)  # a scratch 9 px wide
    cv2.line(thin, (10, 90), (110, 84), 255, thickness=40)  # a crease up to 40 px wide
    assert hole_width(thin) <= neural.REFINE_MIN_WIDTH
    np.testing.assert_array_equal(shipped.inpaint(image, thin), fast.inpaint(image, thin))
    wide = thin.copy()
    cv2.circle(wide, (64, 40), 28, 255, -1)  # plus a blotch 57 px across
    assert hole_width(wide) > neural.REFINE_MIN_WIDTH
    assert not np.array_equal(shipped.inpaint(image, wide), fast.inpaint(image, wide))
