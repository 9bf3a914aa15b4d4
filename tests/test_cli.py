"""`inpaint-studio` command line: file mode, directory mode and every bad-input case."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from inpaint_studio import __version__
from inpaint_studio.cli import main


def _photo(path: Path, size=(96, 64), seed=0, mode="RGB") -> np.ndarray:
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255 // w, yy * 255 // h, (xx + yy) % 256], axis=-1)
    pixels = np.clip(base + rng.integers(-20, 20, base.shape), 0, 255).astype(np.uint8)
    if mode == "RGBA":
        alpha = np.full((h, w, 1), 200, np.uint8)
        alpha[:, : w // 3] = 0
        Image.fromarray(np.concatenate([pixels, alpha], axis=-1), "RGBA").save(path)
    else:
        Image.fromarray(pixels).save(path)
    return pixels


def _mask(path: Path, size=(96, 64), box=(30, 20, 20, 12), value=255) -> np.ndarray:
    w, h = size
    m = np.zeros((h, w), np.uint8)
    x, y, bw, bh = box
    m[y : y + bh, x : x + bw] = value
    Image.fromarray(m).save(path)
    return m


def _run(*args: str) -> int:
    return main(["run", *args, "--no-progress"])


def _run_file(folder: Path, out: Path, *options: str) -> int:
    """`run` on folder/in.png with folder/m.png into `out`, plus extra options."""
    image, mask = str(folder / "in.png"), str(folder / "m.png")
    return _run("--image", image, "--mask", mask, "--output", str(out), *options)


def test_version(capsys):
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_models_lists_builtin_backends(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name in ("telea", "ns", "patchmatch", "ours"):
        assert name in out
    assert "user models folder" in out


def test_file_mode_png_changes_only_masked_pixels(tmp_path):
    src = _photo(tmp_path / "in.png")
    m = _mask(tmp_path / "m.png")
    out = tmp_path / "out.png"
    assert _run_file(tmp_path, out, "--model", "telea") == 0
    result = np.asarray(Image.open(out).convert("RGB"))
    assert result.shape == src.shape
    np.testing.assert_array_equal(result[m == 0], src[m == 0])
    assert not np.array_equal(result[m > 0], src[m > 0])


def test_file_mode_keeps_alpha(tmp_path):
    _photo(tmp_path / "in.png", mode="RGBA")
    _mask(tmp_path / "m.png")
    out = tmp_path / "out.png"
    assert _run_file(tmp_path, out, "--model", "ns") == 0
    with Image.open(tmp_path / "in.png") as a, Image.open(out) as b:
        assert b.mode == "RGBA"
        np.testing.assert_array_equal(np.asarray(a)[..., 3], np.asarray(b)[..., 3])


def test_file_mode_with_default_model(tmp_path):
    src = _photo(tmp_path / "in.png")
    m = _mask(tmp_path / "m.png")
    out = tmp_path / "out.png"
    assert _run_file(tmp_path, out, "--device", "cpu") == 0
    result = np.asarray(Image.open(out).convert("RGB"))
    np.testing.assert_array_equal(result[m == 0], src[m == 0])


def test_directory_mode_pairs_by_stem_and_continues_past_failures(tmp_path, capsys):
    img, masks, out = tmp_path / "img", tmp_path / "masks", tmp_path / "out"
    img.mkdir()
    masks.mkdir()
    originals = {}
    for i in range(3):
        originals[f"p{i}"] = _photo(img / f"p{i}.png", seed=i)
        _mask(masks / f"p{i}.png")
    (img / "broken.png").write_bytes(b"this is not a png")
    _mask(masks / "broken.png")
    _photo(img / "lonely.png")  # no mask
    _photo(img / "small.png", size=(50, 40))
    _mask(masks / "small.png")  # wrong size for its image
    code = _run(
        "--image",
        str(img),
        "--mask",
        str(masks),
        "--output",
        str(out),
        "--model",
        "telea",
        "--workers",
        "2",
    )
    err = capsys.readouterr().err
    assert code == 2
    assert sorted(p.name for p in out.iterdir()) == ["p0.png", "p1.png", "p2.png"]
    for stem, src in originals.items():
        result = np.asarray(Image.open(out / f"{stem}.png").convert("RGB"))
        m = np.asarray(Image.open(masks / f"{stem}.png"))
        np.testing.assert_array_equal(result[m == 0], src[m == 0])
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert any("broken.png" in ln for ln in lines)
    assert any("lonely.png" in ln and "no mask" in ln for ln in lines)
    assert any("small.png" in ln and "size" in ln for ln in lines)
    assert "wrote 3 of 6" in err
    assert "Traceback" not in err


def test_directory_mode_keeps_jpeg_format_and_size(tmp_path):
    img, masks, out = tmp_path / "img", tmp_path / "masks", tmp_path / "out"
    img.mkdir()
    masks.mkdir()
    pixels = _photo(tmp_path / "tmp.png", size=(200, 150))
    Image.fromarray(pixels).save(img / "a.jpg", quality=85)
    _mask(masks / "a.png", size=(200, 150))
    assert (
        _run("--image", str(img), "--mask", str(masks), "--output", str(out), "--model", "telea")
        == 0
    )
    with Image.open(out / "a.jpg") as result:
        assert result.format == "JPEG"
    ratio = (out / "a.jpg").stat().st_size / (img / "a.jpg").stat().st_size
    assert 0.7 < ratio < 1.4


@pytest.mark.parametrize(
    "case",
    [
        "missing_image",
        "missing_mask",
        "wrong_size",
        "text_as_jpg",
        "empty_file",
        "unknown_model",
        "unwritable_output",
        "overwrite_input",
        "mask_dir_for_file",
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, case):
    img, m, out = tmp_path / "in.png", tmp_path / "m.png", tmp_path / "out.png"
    _photo(img)
    _mask(m)
    model = "telea"
    if case == "missing_image":
        img = tmp_path / "nope.png"
    elif case == "missing_mask":
        m = tmp_path / "nope_mask.png"
    elif case == "wrong_size":
        _mask(m, size=(40, 40), box=(1, 1, 5, 5))
    elif case == "text_as_jpg":
        img = tmp_path / "notes.jpg"
        img.write_text("hello, I am not a photo")
    elif case == "empty_file":
        img = tmp_path / "empty.png"
        img.write_bytes(b"")
    elif case == "unknown_model":
        model = "no-such-model"
    elif case == "unwritable_output":
        if os.geteuid() == 0:
            out = tmp_path / "file_not_dir" / "out.png"
            (tmp_path / "file_not_dir").write_text("a file where a folder should be")
        else:
            locked = tmp_path / "locked"
            locked.mkdir(mode=0o500)
            out = locked / "out.png"
    elif case == "overwrite_input":
        out = img
    elif case == "mask_dir_for_file":
        m = tmp_path / "empty_masks"
        m.mkdir()
    before = img.read_bytes() if img.exists() else None
    code = _run("--image", str(img), "--mask", str(m), "--output", str(out), "--model", model)
    err = capsys.readouterr().err
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("inpaint-studio:")
    assert "Traceback" not in err
    if before is not None:
        assert img.read_bytes() == before


def test_usage_error_exit_2(capsys):
    assert main(["run", "--image", "x"]) == 2
    assert "required" in capsys.readouterr().err


def test_gui_without_display_says_so(monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert main([]) == 2
    assert "no display" in capsys.readouterr().err


def test_gui_missing_file(capsys):
    assert main(["/no/such/photo.jpg"]) == 2
    assert "not found" in capsys.readouterr().err


def test_console_script_in_subprocess(tmp_path):
    """The real entry point: bad input gives exit 2 and no traceback."""
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    _mask(tmp_path / "m.png")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "inpaint_studio",
            "run",
            "--image",
            str(tmp_path / "bad.jpg"),
            "--mask",
            str(tmp_path / "m.png"),
            "--output",
            str(tmp_path / "o.jpg"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "bad.jpg" in proc.stderr


@pytest.mark.parametrize("content", [None, b"not a weights file"])
def test_train_with_a_missing_or_damaged_init_file_is_one_line(tmp_path, capsys, content):
    photos = tmp_path / "photos"
    photos.mkdir()
    _photo(photos / "a.png", size=(80, 80))
    init = tmp_path / "start.pt"
    if content is not None:
        init.write_bytes(content)
    args = ["train", "--data", str(photos), "--out", str(tmp_path / "run"), "--init", str(init)]
    assert main([*args, "--max-steps", "1", "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "start.pt" in err[0] and "Traceback" not in err[0]


def _train_one_step(tmp_path, *options: str):
    """`inpaint-studio train` for one step on one small photo; (network, meta) it wrote."""
    from inpaint_studio.backends.weights import load_weights

    photos = tmp_path / "photos"
    photos.mkdir()
    _photo(photos / "a.png", size=(80, 80))
    out = tmp_path / "run"
    args = ["train", "--data", str(photos), "--out", str(out), *options]
    assert main([*args, "--max-steps", "1", "--device", "cpu", "--batch", "2", "--crop", "64"]) == 0
    return load_weights(out / "weights.pt")


def test_train_prior_option_reaches_the_weights(tmp_path):
    net, _meta = _train_one_step(tmp_path, "--prior", "pushpull")
    assert net.config.prior == "pushpull"


def test_train_loss_options_reach_the_run_config(tmp_path):
    options = ["--hole-loss", "mse", "--grad-weight", "0", "--fft-weight", "0.5"]
    gan = ["--adv-weight", "0", "--fm-weight", "2", "--checkpoint-minutes", "2"]
    _net, meta = _train_one_step(tmp_path, *options, *gan, "--stage", "net")
    cfg = meta["train_config"]
    got = (cfg["hole_loss"], cfg["w_grad"], cfg["w_fft"], cfg["w_adv"], cfg["w_fm"], cfg["stage"])
    assert got == ("mse", 0.0, 0.5, 0.0, 2.0, "net")
    assert cfg["checkpoint_minutes"] == 2.0


def test_grain_option_changes_only_the_hole_and_is_off_by_default(tmp_path, capsys):
    from inpaint_studio.cli import MATCH_GRAIN
    from inpaint_studio.core.grain import DEFAULT_STRENGTH

    assert MATCH_GRAIN == DEFAULT_STRENGTH  # the CLI's copy, quoted in --help
    src = _photo(tmp_path / "in.png", size=(160, 120))
    m = _mask(tmp_path / "m.png", size=(160, 120), box=(40, 30, 70, 50))
    results = {}
    for grain in (None, "0", "0.65", "1.5"):
        out = tmp_path / f"out_{grain}.png"
        options = ["--model", "telea"] + (["--grain", grain] if grain else [])
        assert _run_file(tmp_path, out, *options) == 0
        results[grain] = np.asarray(Image.open(out).convert("RGB")).astype(int)
        np.testing.assert_array_equal(results[grain][m == 0], src[m == 0])
    np.testing.assert_array_equal(results[None], results["0"])
    hole = m != 0
    some = np.abs(results["0.65"] - results["0"])[hole].mean()
    assert 0 < some < np.abs(results["1.5"] - results["0"])[hole].mean()
    assert _run_file(tmp_path, tmp_path / "bad.png", "--model", "telea", "--grain", "-1") == 2
    assert "--grain must be between 0 and 4" in capsys.readouterr().err


def test_grow_mask_option_widens_the_filled_area_by_that_many_pixels(tmp_path, capsys):
    from inpaint_studio.cli import MAX_GROW
    from inpaint_studio.core.maskops import MAX_STEP

    assert MAX_GROW == MAX_STEP  # the CLI's copy, quoted in its message
    src = _photo(tmp_path / "in.png", size=(120, 90))
    m = _mask(tmp_path / "m.png", size=(120, 90), box=(50, 40, 12, 8))
    plain, grown = tmp_path / "plain.png", tmp_path / "grown.png"
    assert _run_file(tmp_path, plain, "--model", "telea") == 0
    assert _run_file(tmp_path, grown, "--model", "telea", "--grow-mask", "3") == 0
    plain_px = np.asarray(Image.open(plain).convert("RGB"))
    grown_px = np.asarray(Image.open(grown).convert("RGB"))
    changed = (grown_px != src).any(axis=-1)
    ring = np.zeros_like(m, bool)
    ring[37:51, 47:65] = True  # the box grown by 3 px
    assert changed[ring & (m == 0)].any()  # pixels just outside the mask were refilled
    assert not changed[~ring].any()  # nothing further out
    np.testing.assert_array_equal(plain_px[m == 0], src[m == 0])
    assert _run_file(tmp_path, tmp_path / "bad.png", "--model", "telea", "--grow-mask", "-2") == 2
    assert "--grow-mask must be between 0 and 100 px" in capsys.readouterr().err


def test_min_hole_width_option_reaches_the_region_planner(tmp_path, capsys, monkeypatch):
    from inpaint_studio import cli
    from inpaint_studio.core import pipeline, regions

    assert cli.MIN_HOLE_WIDTH == regions.DEFAULT_MIN_HOLE_WIDTH  # the CLI's copy
    seen = []
    original = pipeline.inpaint_image

    def spy(*args, **kwargs):
        seen.append(kwargs.get("min_hole_width"))
        return original(*args, **kwargs)

    monkeypatch.setattr(pipeline, "inpaint_image", spy)
    _photo(tmp_path / "in.png", size=(120, 90))
    _mask(tmp_path / "m.png", size=(120, 90), box=(50, 40, 12, 8))
    telea = ("--model", "telea")
    assert _run_file(tmp_path, tmp_path / "a.png", *telea) == 0
    assert _run_file(tmp_path, tmp_path / "b.png", *telea, "--min-hole-width", "32") == 0
    assert seen == [regions.DEFAULT_MIN_HOLE_WIDTH, 32.0]
    assert _run_file(tmp_path, tmp_path / "c.png", *telea, "--min-hole-width", "-1") == 2
    assert "--min-hole-width must be between 0 and 512 px" in capsys.readouterr().err


def test_run_keeps_a_grey_scan_grey(tmp_path):
    """`run` on a black-and-white PNG writes a one-channel PNG: same pixels off the mask."""
    rgb = _photo(tmp_path / "colour.png")
    grey = rgb[..., 1].copy()
    Image.fromarray(grey, "L").save(tmp_path / "bw.png")
    m = _mask(tmp_path / "m.png")
    out = tmp_path / "out.png"
    assert (
        _run(
            "--image",
            str(tmp_path / "bw.png"),
            "--mask",
            str(tmp_path / "m.png"),
            "--output",
            str(out),
            "--model",
            "telea",
        )
        == 0
    )
    back = Image.open(out)
    assert back.mode == "L"
    assert np.array_equal(np.asarray(back)[m == 0], grey[m == 0])


def _scratched(path: Path, seed: int = 0) -> np.ndarray:
    """A smooth 160x120 photo with a light 3 px scratch; returns the damage (bool)."""
    yy, xx = np.mgrid[0:120, 0:160].astype(np.float32)
    base = np.stack([80 + xx / 2, 60 + yy / 2, 70 + seed * 20 + 0 * xx], -1)
    img = np.clip(base, 0, 255).astype(np.uint8)
    damage = np.zeros((120, 160), np.uint8)
    cv2.line(damage, (10, 20 + seed * 10), (150, 100), 255, 3)
    img[damage != 0] = 235
    Image.fromarray(img).save(path)
    return damage != 0


def test_detect_writes_mask_pngs_for_a_file_and_a_folder(tmp_path, capsys):
    photos = tmp_path / "scans"
    photos.mkdir()
    damage = {f"s{i}": _scratched(photos / f"s{i}.png", i) for i in range(2)}
    assert (
        main(["detect", "--image", str(photos / "s0.png"), "--output", str(tmp_path / "m.png")])
        == 0
    )
    mask = np.asarray(Image.open(tmp_path / "m.png"))
    assert mask.shape == (120, 160) and (mask[damage["s0"]] == 255).mean() > 0.9
    assert main(["detect", "--image", str(photos), "--output", str(tmp_path / "masks")]) == 0
    assert sorted(p.name for p in (tmp_path / "masks").iterdir()) == ["s0.png", "s1.png"]
    err = capsys.readouterr().err
    assert "regions" in err and "Traceback" not in err
    # the masks feed `run --mask` as they are
    code = _run("--image", str(photos), "--mask", str(tmp_path / "masks"), "--output",
                str(tmp_path / "out"), "--model", "telea")  # fmt: skip
    assert code == 0


def test_cli_detect_default_is_the_cores():
    from inpaint_studio import cli
    from inpaint_studio.core import damage_detect

    assert cli.DETECT_SENSITIVITY == damage_detect.DEFAULT_SENSITIVITY  # the CLI's copy
    assert cli.DETECT_POLARITIES == damage_detect.POLARITIES


def test_detect_polarity_keeps_only_that_kind_of_damage(tmp_path, capsys):
    photos = tmp_path / "scans"
    photos.mkdir()
    damage = _scratched(photos / "s0.png")  # light damage
    masks = {}
    for polarity in ("light", "dark"):
        out = tmp_path / f"{polarity}.png"
        code = main(["detect", "--image", str(photos / "s0.png"), "--output", str(out),
                     "--polarity", polarity])  # fmt: skip
        assert code == 0, capsys.readouterr().err
        masks[polarity] = np.asarray(Image.open(out)) != 0
    assert masks["light"][damage].mean() > 0.9
    assert not masks["dark"].any()


def test_run_detect_repairs_scans_without_masks(tmp_path, capsys):
    photos = tmp_path / "scans"
    photos.mkdir()
    damage = _scratched(photos / "s0.png")
    before = np.asarray(Image.open(photos / "s0.png").convert("RGB")).copy()
    code = _run("--image", str(photos), "--detect", "--output", str(tmp_path / "out"),
                "--model", "telea")  # fmt: skip
    assert code == 0, capsys.readouterr().err
    out = np.asarray(Image.open(tmp_path / "out" / "s0.png").convert("RGB"))
    assert np.abs(out[damage].astype(int) - 235).mean() > 40  # the scratch is filled
    far = cv2.dilate(damage.astype(np.uint8), np.ones((15, 15), np.uint8)) == 0
    assert (out[far] == before[far]).mean() > 0.98  # the rest is (nearly) untouched


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "--image", "x.png", "--output", "y.png"], "--mask"),
        (
            ["run", "--image", "x.png", "--output", "y.png", "--detect", "--sensitivity", "2"],
            "sensitivity",
        ),
        (["detect", "--image", "nope.png", "--output", "m.png"], "not found"),
        (["detect", "--image", "x.png", "--output", "m.jpg"], "PNG"),
    ],
)
def test_detect_bad_input_is_one_line(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    _photo(tmp_path / "x.png")
    assert main(argv) == 2
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(lines) == 1 and message in lines[0]
