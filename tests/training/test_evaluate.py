"""Model evaluation: metrics, determinism, noise-filled holes, perfect-model sanity, outputs."""

from __future__ import annotations

import math
from dataclasses import asdict

import cv2
import numpy as np
import pytest

from inpaint_studio.backends import registry
from inpaint_studio.backends.base import BackendInfo
from inpaint_studio.errors import BackendError, BackendUnavailable, InpaintStudioError
from inpaint_studio.training import evaluate as ev
from inpaint_studio.training.masks import MASK_KINDS
from tests.training.photos import write_photos


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("eval") / "photos"
    write_photos(folder, n=3, size=(96, 96))
    return folder


@pytest.fixture(scope="module")
def classic(photo_dir, tmp_path_factory):
    """telea + ns on every mask kind, with the grid written."""
    out_dir = tmp_path_factory.mktemp("report")
    report = ev.evaluate(
        photo_dir, ["telea", "ns"], list(MASK_KINDS), seed=0, out_dir=out_dir, progress=False
    )
    return report, out_dir


class _Fake:
    """Backend double: records what it is given; `fill(image, mask)` makes the result."""

    def __init__(self, name: str, fill, fail_load: bool = False):
        self.info = BackendInfo(name, name.title(), "test double")
        self.fill = fill
        self.fail_load = fail_load
        self.seen: list[tuple[np.ndarray, np.ndarray]] = []
        self.unloaded = False

    def load(self, device: str = "cpu") -> None:
        if self.fail_load:
            raise BackendError(f"{self.info.name} cannot load")

    def inpaint(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        self.seen.append((image.copy(), mask.copy()))
        return self.fill(image, mask)

    def unload(self) -> None:
        self.unloaded = True


@pytest.fixture
def fakes():
    """Register test doubles by name; unregistered afterwards."""
    made: list[str] = []

    def add(fake: _Fake, available: tuple[bool, str] = (True, "")) -> _Fake:
        registry.register(fake.info.name, lambda: fake, fake.info, lambda: available)
        made.append(fake.info.name)
        return fake

    yield add
    for name in made:
        registry.unregister(name)


def _oracle_fill(truths: list[np.ndarray], hole_errors: list[float]):
    """Find where the crop comes from (on its known pixels) and return the true pixels;
    an image from none of the photos (evaluate's warm-up call) is returned unchanged."""

    def fill(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        h, w = mask.shape
        hole = mask != 0
        weights = np.repeat((~hole)[..., None], 3, axis=-1).astype(np.float32)
        for truth in truths:
            scores = cv2.matchTemplate(
                truth.astype(np.float32), image.astype(np.float32), cv2.TM_SQDIFF, mask=weights
            )
            _, _, (x, y), _ = cv2.minMaxLoc(scores)
            patch = truth[y : y + h, x : x + w].copy()
            if np.array_equal(patch[~hole], image[~hole]):  # exact on every known pixel
                hole_errors.append(np.abs(patch.astype(int) - image)[hole].mean())
                return patch
        hole_errors.append(math.nan)
        return image.copy()

    return fill


# --------------------------------------------------------------------------- metrics


def test_psnr_known_values():
    a = np.full((10, 10, 3), 100, np.uint8)
    b = a + 10
    assert ev.psnr(a, a) == math.inf
    assert ev.psnr(a, b) == pytest.approx(10 * math.log10(255**2 / 100))
    where = np.zeros((10, 10), bool)
    where[:2] = True
    c = a.copy()
    c[5:] += 20  # differs only outside `where`
    assert ev.psnr(a, c, where) == math.inf
    assert ev.psnr(a, c) == pytest.approx(10 * math.log10(255**2 / 200))
    assert math.isnan(ev.psnr(a, c, np.zeros((10, 10), bool)))


def test_ssim_matches_the_closed_form_and_orders_degradations():
    x = np.full((32, 32, 3), 100, np.uint8)
    y = np.full((32, 32, 3), 120, np.uint8)
    c1 = (0.01 * 255) ** 2
    assert ev.ssim(x, y) == pytest.approx((2 * 100 * 120 + c1) / (100**2 + 120**2 + c1))
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (48, 48, 3)).astype(np.uint8)
    img = cv2.GaussianBlur(img, (5, 5), 1.0)
    assert ev.ssim(img, img) == pytest.approx(1.0)
    noisy = [np.clip(img + rng.normal(0, s, img.shape), 0, 255).astype(np.uint8) for s in (5, 30)]
    assert 1.0 > ev.ssim(img, noisy[0]) > ev.ssim(img, noisy[1]) > 0
    assert ev.ssim(img, noisy[1]) == pytest.approx(ev.ssim(noisy[1], img))


def test_gradient_ratio():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 256, (40, 40, 3)).astype(np.uint8)
    hole = np.zeros((40, 40), bool)
    hole[10:30, 10:30] = True
    blurred = cv2.GaussianBlur(truth, (7, 7), 2.0)
    assert ev.gradient_ratio(truth, truth, hole) == pytest.approx(1.0)
    assert ev.gradient_ratio(blurred, truth, hole) < 0.5
    flat = np.full_like(truth, 77)
    assert math.isnan(ev.gradient_ratio(truth, flat, hole))


def test_cases_are_deterministic_and_hide_the_truth():
    truth = np.full((64, 80, 3), 128, np.uint8)
    for kind in MASK_KINDS:
        a_img, a_mask = ev.make_case(truth, kind, seed=3, image_index=1)
        b_img, b_mask = ev.make_case(truth, kind, seed=3, image_index=1)
        c_img, c_mask = ev.make_case(truth, kind, seed=3, image_index=2)
        assert np.array_equal(a_img, b_img) and np.array_equal(a_mask, b_mask)
        assert not np.array_equal(a_mask, c_mask)
        hole = a_mask != 0
        assert np.array_equal(a_img[~hole], truth[~hole])
        assert np.abs(a_img[hole].astype(int) - 128).mean() > 40  # uniform noise


# --------------------------------------------------------------------------- evaluate


def test_classic_report_has_finite_metrics_for_every_pair(classic):
    report, _ = classic
    assert report.images == ["photo_00.png", "photo_01.png", "photo_02.png"]
    assert report.models == ["telea", "ns"] and report.mask_kinds == list(MASK_KINDS)
    assert len(report.cases) == 3 * 4 * 2
    assert [(s.kind, s.model) for s in report.summaries] == [
        (k, m) for k in MASK_KINDS for m in ("telea", "ns")
    ]
    for s in report.summaries:
        assert s.cases == 3
        assert 0 < s.coverage <= 0.5
        assert 8 < s.hole_psnr < 60 and s.full_psnr > s.hole_psnr
        assert 0 < s.ssim < 1 and 0 < s.grad_ratio < 3 and s.seconds >= 0
    # the hole is 100% of the error: full-image MSE = hole MSE * coverage
    for c in report.cases:
        expected = c.hole_psnr - 10 * math.log10(c.coverage)
        assert c.full_psnr == pytest.approx(expected, abs=1e-6)
    assert report.summary("ns", "thick").model == "ns"


def test_same_seed_same_numbers_other_seed_other_masks(classic, photo_dir):
    report, _ = classic
    again = ev.evaluate(photo_dir, ["telea", "ns"], list(MASK_KINDS), seed=0, progress=False)

    def numbers(r):
        return [{k: v for k, v in asdict(c).items() if k != "seconds"} for c in r.cases]

    assert numbers(again) == numbers(report)
    assert again.grid_path is None
    other = ev.evaluate(photo_dir, ["telea"], ["thin"], seed=1, progress=False)
    mine = [c.coverage for c in report.cases if c.kind == "thin" and c.model == "telea"]
    assert [c.coverage for c in other.cases] != mine


def test_mask_kind_subset_gives_the_same_cases(classic, photo_dir):
    """Masks depend on the kind itself, not on its position in --masks."""
    report, _ = classic
    alone = ev.evaluate(photo_dir, ["ns"], ["medium"], seed=0, progress=False)
    full = [c for c in report.cases if c.kind == "medium" and c.model == "ns"]
    assert [c.hole_psnr for c in alone.cases] == [c.hole_psnr for c in full]


def test_table_lists_every_row(classic):
    report, _ = classic
    table = ev.format_table(report)
    lines = table.splitlines()
    assert any(line.startswith("| mask | coverage | model | hole PSNR") for line in lines)
    for kind in MASK_KINDS:
        for model in ("telea", "ns"):
            row = [
                line for line in lines if line.startswith(f"| {kind} |") and f"| {model} |" in line
            ]
            assert len(row) == 1, (kind, model)
            s = report.summary(model, kind)
            assert f"{s.hole_psnr:.2f}" in row[0] and f"{100 * s.coverage:.1f}%" in row[0]
    assert table.count("**") >= 2 * 3 * len(MASK_KINDS)  # best of 3 columns bold per kind
    assert "![comparison grid](grid.png)" in table


def test_grid_png_is_written_and_small(classic):
    report, out_dir = classic
    assert report.grid_path == out_dir / "grid.png"
    data = report.grid_path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) < 2_000_000
    grid = cv2.imread(str(report.grid_path))
    columns = 1 + 2 + 1  # input, telea, ns, truth
    assert grid.shape[1] == columns * 256
    assert grid.shape[0] > 4 * 256  # four rows of square photos plus label bands
    assert grid[:20].max() > 200  # column labels drawn in white on the dark header


def test_write_grid_shrinks_to_the_byte_limit(tmp_path):
    rng = np.random.default_rng(0)
    tiles = [rng.integers(0, 256, (120, 160, 3)).astype(np.uint8) for _ in range(3)]
    path = ev.write_grid(tmp_path / "g.png", ["a", "b", "c"], [("row", tiles)], max_bytes=60_000)
    grid = cv2.imread(str(path))
    assert 3 * 64 <= grid.shape[1] < 3 * 256
    with pytest.raises(ValueError, match="2 tiles for 3 columns"):
        ev.write_grid(tmp_path / "h.png", ["a", "b", "c"], [("row", tiles[:2])])


def test_perfect_model_scores_the_cap_and_nobody_sees_the_truth(photo_dir, fakes):
    truths = [cv2.imread(str(p))[:, :, ::-1].copy() for p in sorted(photo_dir.glob("*.png"))]
    hole_errors: list[float] = []
    oracle = fakes(_Fake("oracle", _oracle_fill(truths, hole_errors)))
    identity = fakes(_Fake("identity", lambda image, mask: image.copy()))
    report = ev.evaluate(photo_dir, ["oracle", "identity"], ["thin", "thick"], progress=False)
    for case in report.cases:
        if case.model == "oracle":
            assert case.hole_psnr == math.inf and case.full_psnr == math.inf
            assert case.ssim == pytest.approx(1.0) and case.grad_ratio == pytest.approx(1.0)
        else:  # the hole still holds the noise it was given
            assert case.hole_psnr < 12
    for kind in ("thin", "thick"):
        assert report.summary("oracle", kind).hole_psnr == ev.PSNR_CAP
    assert "| oracle | **100.00** |" in ev.format_table(report)
    # every model got the identical noisy input, and the noise hid the true pixels
    assert len(oracle.seen) == len(identity.seen) > 0
    for (a, ma), (b, mb) in zip(oracle.seen, identity.seen, strict=True):
        assert np.array_equal(a, b) and np.array_equal(ma, mb)
    assert np.isnan(hole_errors[0])  # the warm-up runs on a synthetic image, not a photo
    assert len(hole_errors) == 1 + len(report.cases) // 2
    assert min(hole_errors[1:]) > 40
    assert oracle.unloaded and identity.unloaded


def test_ours_runs_through_evaluation(photo_dir):
    report = ev.evaluate(photo_dir, ["ours"], ["medium"], limit=2, device="cpu", progress=False)
    assert report.device == "cpu" and len(report.cases) == 2
    for case in report.cases:
        assert 5 < case.hole_psnr < 60 and 0 < case.ssim <= 1 and case.seconds > 0


# --------------------------------------------------------------------------- errors


def test_unknown_or_unavailable_models_are_clear_errors(photo_dir, fakes):
    with pytest.raises(BackendUnavailable, match="unknown model 'nope'; available: .*telea"):
        ev.evaluate(photo_dir, ["telea", "nope"], ["thin"], progress=False)
    fakes(_Fake("ghost", lambda i, m: i), available=(False, "weights file x.pt is missing"))
    with pytest.raises(BackendUnavailable, match="'ghost' is unavailable: weights file x.pt"):
        ev.evaluate(photo_dir, ["ghost"], ["thin"], progress=False)


def test_a_failing_load_unloads_the_models_already_loaded(photo_dir, fakes):
    first = fakes(_Fake("first", lambda i, m: i))
    fakes(_Fake("broken", lambda i, m: i, fail_load=True))
    with pytest.raises(BackendError, match="broken cannot load"):
        ev.evaluate(photo_dir, ["first", "broken"], ["thin"], progress=False)
    assert first.unloaded and not first.seen


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"models": []}, "No models"),
        ({"mask_kinds": ["huge"]}, "Unknown mask kind 'huge'"),
        ({"mask_kinds": []}, "No mask kinds"),
        ({"limit": 0}, "at least 1"),
    ],
)
def test_bad_arguments(photo_dir, kwargs, message):
    args = {"models": ["telea"], "mask_kinds": ["thin"], **kwargs}
    with pytest.raises(InpaintStudioError, match=message):
        ev.evaluate(photo_dir, progress=False, **args)


def test_empty_or_missing_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no photos here")
    with pytest.raises(InpaintStudioError, match="No photos to evaluate on: no photos"):
        ev.evaluate(tmp_path / "empty", ["telea"], ["thin"], progress=False)
    with pytest.raises(InpaintStudioError, match="not a folder"):
        ev.evaluate(tmp_path / "missing", ["telea"], ["thin"], progress=False)


def test_grain_specs_parse_and_bad_ones_are_clear_errors(photo_dir):
    from inpaint_studio.core.grain import DEFAULT_STRENGTH

    assert ev.split_grain("telea") == ("telea", 0.0)
    assert ev.split_grain("ours+grain") == ("ours", DEFAULT_STRENGTH)
    assert ev.split_grain("ours+grain@0.4") == ("ours", 0.4)
    for bad in ("ours+grainy", "ours+grain@x", "ours+grain@9"):
        with pytest.raises(InpaintStudioError, match="NAME\\+grain@S"):
            ev.evaluate(photo_dir, [bad], ["thin"], progress=False)


def test_grain_spec_shares_the_backend_and_adds_texture(photo_dir, fakes):
    flat = fakes(_Fake("flat", lambda image, mask: _flat_fill(image, mask)))
    report = ev.evaluate(photo_dir, ["flat", "flat+grain@1.0"], ["medium"], seed=0, progress=False)
    plain = report.summary("flat", "medium")
    grainy = report.summary("flat+grain@1.0", "medium")
    assert grainy.grad_ratio > plain.grad_ratio
    assert len(flat.seen) == 1 + 2 * 3 and flat.unloaded  # one warm-up, both specs, 3 photos


def _flat_fill(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = image.copy()
    out[mask != 0] = image[mask == 0].mean(axis=0).astype(np.uint8)
    return out
