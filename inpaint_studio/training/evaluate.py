"""Compare inpainting models on held-out photos with reproducible masks (numpy + OpenCV).

`inpaint-studio evaluate --data DIR --models ours,telea --masks scratch,thin --seed 0`

For photo i and mask kind k the mask comes from
``masks.make_mask(shape, k, default_rng(SeedSequence([seed, i, MASK_KINDS.index(k)])))``
and the same generator then draws uniform noise into the hole, so no method can read the
true pixels and every method gets the identical input. Models run through
``core.pipeline.inpaint_image`` with the product's default "crop" strategy; seconds per image
are wall clock around that call (model loading and one warm-up call excluded). A model
named ``NAME+grain`` (or ``NAME+grain@S``) is backend NAME with rim-matched grain added to
its fills at the default strength (or S), as the editor and ``run`` do (``core.grain``).

Metrics per case (output vs the original photo):

- hole PSNR: MSE over the hole pixels only, all three channels, peak 255;
- full PSNR: the same over the whole image;
- SSIM: Wang et al. 2004 (11x11 gaussian window, sigma 1.5, K1 0.01, K2 0.03, L 255) per RGB
  channel on the whole image, mean over the valid region (5 px border dropped) and channels;
- grad ratio: mean Sobel gradient magnitude of the grayscale output inside the hole divided
  by the truth's (1 = as much detail as the photo, < 1 = blurrier, > 1 = noisier).

Means are taken per (mask kind, model); a perfect fill has infinite PSNR, which enters the
mean as ``PSNR_CAP`` dB so that one exact fill of a flat patch cannot swamp the average.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from inpaint_studio.backends import registry
from inpaint_studio.backends.base import Inpainter, resolve_device
from inpaint_studio.core.grain import DEFAULT_STRENGTH as DEFAULT_GRAIN
from inpaint_studio.core.pipeline import inpaint_image
from inpaint_studio.errors import BackendUnavailable, InpaintStudioError
from inpaint_studio.training.data import list_photos, read_rgb
from inpaint_studio.training.masks import MASK_KINDS, make_mask

PSNR_CAP = 100.0  # dB: what an exact fill (MSE 0) counts as in a mean
GRID_NAME = "grid.png"
GRID_MAX_BYTES = 2_000_000

_SSIM_C1 = (0.01 * 255) ** 2
_SSIM_C2 = (0.03 * 255) ** 2
_SSIM_WINDOW = 11
_SSIM_SIGMA = 1.5


# --------------------------------------------------------------------------- metrics


def psnr(a: np.ndarray, b: np.ndarray, where: np.ndarray | None = None) -> float:
    """PSNR (dB, peak 255) of uint8 a vs b, (H,W,3) or (H,W), over `where` (H,W) bool or all.

    inf when a and b are identical there, nan when `where` selects nothing.
    """
    x = a.astype(np.float64)
    y = b.astype(np.float64)
    if where is not None:
        x, y = x[where], y[where]
    if x.size == 0:
        return math.nan
    mse = float(np.mean((x - y) ** 2))
    return math.inf if mse == 0.0 else 10.0 * math.log10(255.0**2 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM in [-1, 1] of (H,W,3) or (H,W) uint8 images (gaussian 11x11, sigma 1.5)."""
    x = a.astype(np.float64)
    y = b.astype(np.float64)

    def blur(z: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(
            z, (_SSIM_WINDOW, _SSIM_WINDOW), _SSIM_SIGMA, borderType=cv2.BORDER_REFLECT
        )

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x * mu_x
    var_y = blur(y * y) - mu_y * mu_y
    cov = blur(x * y) - mu_x * mu_y
    num = (2 * mu_x * mu_y + _SSIM_C1) * (2 * cov + _SSIM_C2)
    den = (mu_x * mu_x + mu_y * mu_y + _SSIM_C1) * (var_x + var_y + _SSIM_C2)
    smap = num / den
    r = _SSIM_WINDOW // 2
    if smap.shape[0] > 2 * r and smap.shape[1] > 2 * r:  # the "valid" windows only
        smap = smap[r:-r, r:-r]
    return float(smap.mean())


def gradient_magnitude(image: np.ndarray) -> np.ndarray:
    """(H,W,3) uint8 RGB -> (H,W) float64 3x3 Sobel gradient magnitude of the grayscale image.

    Plain numpy in float64 (reflect-101 border, as OpenCV's default) so that repeated runs
    give bit-identical numbers; OpenCV's threaded float Sobel does not.
    """
    gray = image.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    p = np.pad(gray, 1, mode="reflect" if min(gray.shape) > 1 else "edge")
    gx = (p[:-2, 2:] + 2 * p[1:-1, 2:] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[1:-1, :-2] + p[2:, :-2])
    gy = (p[2:, :-2] + 2 * p[2:, 1:-1] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[:-2, 1:-1] + p[:-2, 2:])
    return np.hypot(gx, gy)


def gradient_ratio(output: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> float:
    """Mean Sobel magnitude of output / of truth, (H,W,3) uint8, in hole (H,W) bool; nan if flat."""
    ref = float(gradient_magnitude(truth)[hole].mean()) if hole.any() else 0.0
    if ref < 1e-6:
        return math.nan
    return float(gradient_magnitude(output)[hole].mean()) / ref


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class CaseResult:
    """Metrics of one model on one (photo, mask kind) case."""

    image: str
    kind: str
    model: str
    coverage: float  # hole fraction of the image, 0..1
    hole_psnr: float  # dB, inf for an exact fill
    full_psnr: float  # dB
    ssim: float
    grad_ratio: float  # nan when the truth has no gradient in the hole
    seconds: float


@dataclass(frozen=True)
class Summary:
    """Means over the photos of one (mask kind, model) pair."""

    kind: str
    model: str
    cases: int
    coverage: float
    hole_psnr: float  # mean with exact fills counted as PSNR_CAP
    full_psnr: float
    ssim: float
    grad_ratio: float  # mean over cases where it is defined (nan if none)
    seconds: float


@dataclass
class Report:
    """Everything `evaluate` measured; `format_table` renders it as markdown."""

    data_dir: str
    models: list[str]
    mask_kinds: list[str]
    seed: int
    device: str
    images: list[str]
    cases: list[CaseResult] = field(default_factory=list)
    summaries: list[Summary] = field(default_factory=list)  # kind-major, models in order
    grid_path: Path | None = None

    def summary(self, model: str, kind: str) -> Summary:
        """The Summary of (model, kind); KeyError if it was not evaluated."""
        for s in self.summaries:
            if s.model == model and s.kind == kind:
                return s
        raise KeyError((model, kind))


def _mean(values: Sequence[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return float(np.mean(finite)) if finite else math.nan


def _summarise(cases: list[CaseResult], models: list[str], kinds: list[str]) -> list[Summary]:
    out = []
    for kind in kinds:
        for model in models:
            rows = [c for c in cases if c.kind == kind and c.model == model]
            out.append(
                Summary(
                    kind=kind,
                    model=model,
                    cases=len(rows),
                    coverage=_mean([c.coverage for c in rows]),
                    hole_psnr=_mean([min(c.hole_psnr, PSNR_CAP) for c in rows]),
                    full_psnr=_mean([min(c.full_psnr, PSNR_CAP) for c in rows]),
                    ssim=_mean([c.ssim for c in rows]),
                    grad_ratio=_mean([c.grad_ratio for c in rows]),
                    seconds=_mean([c.seconds for c in rows]),
                )
            )
    return out


# --------------------------------------------------------------------------- cases


def case_rng(seed: int, image_index: int, kind: str) -> np.random.Generator:
    """The generator that draws the mask and the hole noise of one (photo, kind) case."""
    return np.random.default_rng(
        np.random.SeedSequence([seed, image_index, MASK_KINDS.index(kind)])
    )


def make_case(truth: np.ndarray, kind: str, seed: int, image_index: int):
    """(H,W,3) uint8 photo -> (input with uniform noise in the hole, (H,W) uint8 0/255 mask).

    Deterministic for (seed, image_index, kind): see `case_rng`.
    """
    rng = case_rng(seed, image_index, kind)
    mask = make_mask(truth.shape[:2], kind, rng)
    hole = mask != 0
    noisy = truth.copy()
    noisy[hole] = rng.integers(0, 256, (int(hole.sum()), 3), dtype=np.uint8)
    return noisy, mask


def _check_names(models: Sequence[str], mask_kinds: Sequence[str]) -> tuple[list, list]:
    models = list(dict.fromkeys(m.strip() for m in models if m.strip()))
    kinds = list(dict.fromkeys(k.strip() for k in mask_kinds if k.strip()))
    if not models:
        raise InpaintStudioError("No models to evaluate; name at least one, e.g. telea.")
    for spec in models:
        split_grain(spec)  # a malformed +grain suffix fails before any model loads
    if not kinds:
        raise InpaintStudioError(f"No mask kinds to evaluate; choose from {', '.join(MASK_KINDS)}.")
    unknown = [k for k in kinds if k not in MASK_KINDS]
    if unknown:
        raise InpaintStudioError(
            f"Unknown mask kind '{unknown[0]}'; choose from {', '.join(MASK_KINDS)}."
        )
    return models, kinds


GRAIN_SUFFIX = "+grain"


def split_grain(spec: str) -> tuple[str, float]:
    """Model spec -> (backend name, grain strength): "ours" -> ("ours", 0.0); "ours+grain"
    -> ("ours", grain.DEFAULT_STRENGTH); "ours+grain@0.5" -> ("ours", 0.5)."""
    name, sep, rest = spec.partition(GRAIN_SUFFIX)
    if not sep:
        return spec, 0.0
    if not rest:
        return name, DEFAULT_GRAIN
    try:
        strength = float(rest.removeprefix("@"))
    except ValueError:
        strength = -1.0
    if not rest.startswith("@") or not 0 <= strength <= 4:
        raise InpaintStudioError(
            f"Bad model '{spec}': write NAME+grain or NAME+grain@S with S from 0 to 4."
        )
    return name, strength


def _load_models(models: list[str], device: str) -> dict[str, Inpainter]:
    """Create and load the backend of every model spec (all or none: loaded ones are
    unloaded on failure); specs that differ only in grain share one backend."""
    loaded: dict[str, Inpainter] = {}
    by_name: dict[str, Inpainter] = {}
    try:
        for spec in models:
            name, _strength = split_grain(spec)
            if name not in by_name:
                if not name.startswith(registry.TORCHSCRIPT_PREFIX) or name in registry.names():
                    registry.info(name)  # unknown name -> BackendUnavailable listing the choices
                    ok, reason = registry.is_available(name)
                    if not ok:
                        raise BackendUnavailable(f"Model '{name}' is unavailable: {reason}")
                inpainter = registry.create(name)
                inpainter.load(device)
                by_name[name] = inpainter
            loaded[spec] = by_name[name]
    except BaseException:
        for inpainter in by_name.values():
            inpainter.unload()
        raise
    return loaded


def _warm_up(inpainter: Inpainter) -> None:
    """One small untimed call on a synthetic image (never a test photo), so that lazy
    initialisation does not count as inference time."""
    image = np.random.default_rng(0).integers(0, 256, (48, 48, 3), dtype=np.uint8)
    mask = np.zeros((48, 48), np.uint8)
    mask[16:32, 16:32] = 255
    inpaint_image(image, mask, inpainter)


def _grid_cases(n_images: int, n_kinds: int, rows: int) -> list[tuple[int, int]]:
    """(image index, kind index) pairs for the grid: every kind first, then distinct photos."""
    chosen: list[tuple[int, int]] = []
    pairs = [(i, k) for i in range(n_images) for k in range(n_kinds)]
    for _ in range(min(rows, len(pairs))):
        used_i = [i for i, _ in chosen]
        used_k = {k for _, k in chosen}
        free = [p for p in pairs if p not in chosen]
        chosen.append(min(free, key=lambda p: (p[1] in used_k, used_i.count(p[0]), p[0], p[1])))
    return chosen


# --------------------------------------------------------------------------- evaluate


def evaluate(
    data_dir: str | Path,
    models: Sequence[str],
    mask_kinds: Sequence[str],
    seed: int = 0,
    limit: int | None = None,
    device: str = "auto",
    out_dir: str | Path | None = None,
    progress: bool = True,
    *,
    grid_rows: int = 4,
    grid_name: str = GRID_NAME,
) -> Report:
    """Run `models` on the photos of data_dir with generated masks of `mask_kinds`.

    Writes the comparison grid PNG to out_dir/grid_name when out_dir is given. Raises
    InpaintStudioError (BackendUnavailable for models) with one clear line on bad input.
    """
    models, kinds = _check_names(models, mask_kinds)
    if limit is not None and limit < 1:
        raise InpaintStudioError(f"--limit must be at least 1, got {limit}.")
    try:
        paths = list_photos(data_dir)
    except FileNotFoundError as exc:
        raise InpaintStudioError(f"No photos to evaluate on: {exc}.") from exc
    paths = paths[:limit] if limit is not None else paths
    device = resolve_device(device)
    loaded = _load_models(models, device)
    grid_pick = _grid_cases(len(paths), len(kinds), grid_rows if out_dir is not None else 0)
    grid_rows_data: dict[tuple[int, int], tuple[str, list[np.ndarray]]] = {}
    cases: list[CaseResult] = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(paths) * len(kinds), desc="evaluate", unit="case", file=sys.stderr)
    backends = list({id(m): m for m in loaded.values()}.values())  # specs may share one
    try:
        for inpainter in backends:
            _warm_up(inpainter)
        for i, path in enumerate(paths):
            try:
                truth = read_rgb(path)
            except ValueError as exc:
                raise InpaintStudioError(f"Cannot read evaluation photo {path.name}.") from exc
            for k, kind in enumerate(kinds):
                noisy, mask = make_case(truth, kind, seed, i)
                hole = mask != 0
                coverage = float(hole.mean())
                tiles = [noisy]
                for name, inpainter in loaded.items():
                    t0 = time.perf_counter()
                    try:
                        grain = split_grain(name)[1]
                        out = inpaint_image(noisy.copy(), mask, inpainter, grain=grain)
                    except InpaintStudioError as exc:  # say which case, keep the error type
                        raise type(exc)(f"{name} on {path.name} ({kind} mask): {exc}") from exc
                    seconds = time.perf_counter() - t0
                    cases.append(
                        CaseResult(
                            image=path.name,
                            kind=kind,
                            model=name,
                            coverage=coverage,
                            hole_psnr=psnr(out, truth, hole),
                            full_psnr=psnr(out, truth),
                            ssim=ssim(out, truth),
                            grad_ratio=gradient_ratio(out, truth, hole),
                            seconds=seconds,
                        )
                    )
                    if (i, k) in grid_pick:
                        tiles.append(out)
                if (i, k) in grid_pick:
                    title = f"{path.name} / {kind} ({coverage:.0%})"
                    grid_rows_data[(i, k)] = (title, [*tiles, truth])
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
        for inpainter in backends:
            inpainter.unload()
    report = Report(
        data_dir=str(data_dir),
        models=models,
        mask_kinds=kinds,
        seed=seed,
        device=device,
        images=[p.name for p in paths],
        cases=cases,
        summaries=_summarise(cases, models, kinds),
    )
    if out_dir is not None and grid_rows_data:
        report.grid_path = write_grid(
            Path(out_dir) / grid_name,
            ["input (noise in hole)", *(_label(m) for m in models), "truth"],
            [grid_rows_data[p] for p in grid_pick],
        )
    return report


# --------------------------------------------------------------------------- output


def _fmt(value: float, digits: int) -> str:
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "inf"
    return f"{value:.{digits}f}"


def format_table(report: Report) -> str:
    """Markdown: one row per (mask kind, model) with coverage, PSNRs, SSIM, grad ratio, s/img."""
    lines = [
        f"Evaluation of {', '.join(report.models)} on {len(report.images)} photos from "
        f"`{report.data_dir}`; masks {', '.join(report.mask_kinds)}, seed {report.seed}, "
        f"device {report.device}. Holes are filled with noise before a model sees them.",
        "",
        "| mask | coverage | model | hole PSNR (dB) | full PSNR (dB) | SSIM | grad ratio | s/img |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for kind in report.mask_kinds:
        rows = [s for s in report.summaries if s.kind == kind]
        best = {}
        if len(rows) > 1:
            for key in ("hole_psnr", "full_psnr", "ssim"):
                values = [getattr(s, key) for s in rows if not math.isnan(getattr(s, key))]
                best[key] = max(values) if values else None
        for s in rows:
            cells = []
            for key, digits in (("hole_psnr", 2), ("full_psnr", 2), ("ssim", 4)):
                text = _fmt(getattr(s, key), digits)
                cells.append(f"**{text}**" if best.get(key) == getattr(s, key) else text)
            lines.append(
                f"| {kind} | {_fmt(100 * s.coverage, 1)}% | {s.model} | {' | '.join(cells)} | "
                f"{_fmt(s.grad_ratio, 3)} | {_fmt(s.seconds, 3)} |"
            )
    lines += [
        "",
        "hole PSNR: over the hole pixels only; full PSNR and SSIM (11x11 gaussian, per channel): "
        f"whole image; exact fills count as {PSNR_CAP:.0f} dB. grad ratio: mean Sobel magnitude "
        "in the hole, output / truth (1 = as detailed as the photo, < 1 = blurry). "
        "s/img: seconds per photo, model load excluded. Best per mask kind in bold.",
    ]
    if report.grid_path is not None:
        lines += ["", f"![comparison grid]({report.grid_path.name})"]
    return "\n".join(lines)


def _label(model: str) -> str:
    """Short column label: a TorchScript model's file name instead of its full path."""
    if model.startswith(registry.TORCHSCRIPT_PREFIX):
        return Path(model[len(registry.TORCHSCRIPT_PREFIX) :]).name
    return model


def _letterbox(tile: np.ndarray, width: int, height: int) -> np.ndarray:
    """Fit an (h,w,3) uint8 tile into (height,width,3) keeping its aspect, dark background."""
    h, w = tile.shape[:2]
    f = min(width / w, height / h)
    nw, nh = max(1, round(w * f)), max(1, round(h * f))
    interp = cv2.INTER_AREA if f < 1 else cv2.INTER_NEAREST
    small = cv2.resize(tile, (nw, nh), interpolation=interp)
    cell = np.full((height, width, 3), 32, np.uint8)
    y, x = (height - nh) // 2, (width - nw) // 2
    cell[y : y + nh, x : x + nw] = small
    return cell


def _text(canvas: np.ndarray, text: str, x: int, y: int, width: int, scale: float) -> None:
    """Draw white text at baseline (x, y), shortened with '..' to fit `width` px."""
    font = cv2.FONT_HERSHEY_SIMPLEX
    while len(text) > 3 and cv2.getTextSize(text, font, scale, 1)[0][0] > width - 6:
        text = text[:-3] + ".."
    cv2.putText(canvas, text, (x + 3, y), font, scale, (255, 255, 255), 1, cv2.LINE_AA)


def _render_grid(
    columns: Sequence[str], rows: Sequence[tuple[str, Sequence[np.ndarray]]], cell: int
) -> np.ndarray:
    aspect = max(t.shape[0] / t.shape[1] for _, tiles in rows for t in tiles)
    cell_h = max(16, round(cell * min(aspect, 1.5)))
    band = 20
    width = cell * len(columns)
    height = band + len(rows) * (band + cell_h)
    canvas = np.full((height, width, 3), 16, np.uint8)
    for c, label in enumerate(columns):
        _text(canvas, label, c * cell, band - 6, cell, 0.45)
    for r, (title, tiles) in enumerate(rows):
        y = band + r * (band + cell_h)
        _text(canvas, title, 0, y + band - 6, width, 0.42)
        for c, tile in enumerate(tiles):
            canvas[y + band : y + band + cell_h, c * cell : (c + 1) * cell] = _letterbox(
                tile, cell, cell_h
            )
    return canvas


def write_grid(
    path: str | Path,
    columns: Sequence[str],
    rows: Sequence[tuple[str, Sequence[np.ndarray]]],
    cell: int = 256,
    max_bytes: int = GRID_MAX_BYTES,
) -> Path:
    """Save a labelled comparison PNG: rows of (title, one (H,W,3) uint8 RGB tile per column).

    Tiles are letterboxed into `cell` px wide cells; the cell shrinks until the PNG is at
    most max_bytes. Returns the path written.
    """
    if not rows:
        raise ValueError("write_grid needs at least one row")
    for title, tiles in rows:
        if len(tiles) != len(columns):
            raise ValueError(f"row {title!r} has {len(tiles)} tiles for {len(columns)} columns")
    while True:
        canvas = _render_grid(columns, rows, cell)
        ok, data = cv2.imencode(".png", canvas[:, :, ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 9])
        if not ok:
            raise InpaintStudioError(f"Cannot encode the comparison grid {Path(path).name}.")
        if data.size <= max_bytes or cell <= 64:
            break
        cell = int(cell * 0.8)
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data.tobytes())
        tmp.replace(path)
    except OSError as exc:
        raise InpaintStudioError(
            f"Cannot write the comparison grid {path}: {exc.strerror or exc}."
        ) from exc
    return path
