"""JPEG export: the source's own blocks outside the repair (splice) versus a full re-encode.

Run: .venv/bin/python benchmarks/bench_jpeg_export.py --data ../shared/data/val
     [--limit N] [--generations 5] [--area 0.01] [--megapixels 24] [--repeats 3] [--write-docs]

Each JPEG is opened with ``core.imageio.load_image``, a stand-in repair is applied (the photo
box-blurred inside a mask of fixed scratches and blotches covering ``--area``, moved a little
each generation) and it is saved with ``save_image`` twice: as the editor does now (no quality
given: the source's coefficients are kept wherever the repair left a block alone) and as it
did before (``quality=jpeg_quality_for(source)``: the whole photo re-encoded at the estimated
quality, same subsampling). Each output is opened again, repaired again and saved again,
``--generations`` times, as a user who comes back to a photo does. Measured against the
source's own decode: the share of pixels outside every mask that are bit-exact, their PSNR,
the same for pixels at least 24 px from any mask (beyond the 16 px MCU and the chroma
upsampling), the repair's PSNR against the edited pixels (what the encoder lost inside), the
file size over the source's and the save time. ``--megapixels`` adds one synthetic photo of
that size (``_common.photo``, saved at quality 92, 4:2:0, with EXIF) for the time per save.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

FAR_PX = 24  # beyond a 4:2:0 MCU (16 px) plus the decoder's chroma upsampling


def _mask(width: int, height: int, area: float, generation: int) -> np.ndarray:
    """(H, W) bool: the fixed strokes and blobs, moved by a few px per generation."""
    base = _common.scratch_mask(width, height, area) > 0
    shift = (7 * generation) % max(1, min(width, height) // 4)
    return np.roll(base, (shift, 2 * shift), axis=(0, 1))


def _repair(pixels: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8: `pixels` with the masked area replaced by a 15 px box blur."""
    out = pixels.copy()
    ys, xs = np.nonzero(mask)
    y0, y1 = max(0, ys.min() - 8), min(mask.shape[0], ys.max() + 9)
    x0, x1 = max(0, xs.min() - 8), min(mask.shape[1], xs.max() + 9)
    blurred = cv2.blur(pixels[y0:y1, x0:x1], (15, 15))
    inside = mask[y0:y1, x0:x1]
    out[y0:y1, x0:x1][inside] = blurred[inside]
    return out


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two equal-length uint8 sample arrays (inf when identical)."""
    if a.size == 0:
        return float("nan")
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def _run(source: Path, mode: str, args: argparse.Namespace, work: Path) -> dict:
    """Repair and save `source` `args.generations` times in `mode`; measures of gen 1 and last."""
    from inpaint_studio.core.imageio import jpeg_quality_for, load_image, save_image

    first = load_image(source)
    truth = first.pixels
    height, width = truth.shape[:2]
    touched = np.zeros((height, width), bool)
    current, out = first, {}
    for gen in range(1, args.generations + 1):
        mask = _mask(width, height, args.area, gen)
        touched |= mask
        edited = _repair(current.pixels, mask)
        target = work / f"{mode}_{gen}.jpg"
        quality = None if mode == "splice" else jpeg_quality_for(current)
        start = time.perf_counter()
        save_image(target, edited, like=current, quality=quality)
        seconds = time.perf_counter() - start
        current = load_image(target)
        if gen in (1, args.generations):
            far = cv2.dilate(touched.astype(np.uint8), np.ones((2 * FAR_PX + 1,) * 2, np.uint8))
            outside, far = ~touched, far == 0
            got = current.pixels
            out[gen] = {
                "seconds": seconds,
                "ratio": target.stat().st_size / source.stat().st_size,
                "exact": float(np.all(got == truth, axis=2)[outside].mean()),
                "psnr_out": _psnr(got[outside], truth[outside]),
                "exact_far": float(np.all(got == truth, axis=2)[far].mean()),
                "psnr_far": _psnr(got[far], truth[far]),
                "psnr_repair": _psnr(got[mask], edited[mask]),
            }
    return out


def _synthetic(megapixels: float, work: Path) -> Path:
    """A photo-like JPEG of about `megapixels` MP (quality 92, 4:2:0, EXIF with a camera)."""
    from PIL import Image

    width, height = _common.size_for(megapixels)
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "Bench", "Synthetic 1", 1
    path = work / f"synthetic_{megapixels:g}mp.jpg"
    Image.fromarray(_common.photo(width, height)).save(
        path, quality=92, subsampling=2, exif=exif.tobytes()
    )
    return path


def _fmt_pct(x: float) -> str:
    return f"{100 * x:.2f}%" if x < 1 else "100%"


def _fmt_db(x: float) -> str:
    return "exact" if x == float("inf") else f"{x:.1f} dB"


def _summary(rows: list[dict], gen: int, key: str, agg=statistics.median) -> float:
    values = [r[gen][key] for r in rows]
    finite = [v for v in values if v != float("inf")]
    if key.startswith("psnr") and len(finite) < len(values) // 2 + 1:
        return float("inf")  # most are identical: the median is exact
    return agg(finite if key.startswith("psnr") else values)


def _table(results: dict[str, list[dict]], last: int) -> str:
    header = [
        "export", "save time (median)", "size / source (gen 1)", "outside mask bit-exact (gen 1)",
        f"outside PSNR gen 1 / gen {last}", f">= {FAR_PX} px away bit-exact gen 1 / {last}",
        f">= {FAR_PX} px PSNR gen {last}", "repair PSNR vs edit (gen 1)",
    ]  # fmt: skip
    names = {"splice": "source blocks kept (now)", "reencode": "full re-encode (before)"}
    body = []
    for mode, rows in results.items():
        body.append([
            names[mode],
            _common.fmt_s(_summary(rows, 1, "seconds")),
            f"{_summary(rows, 1, 'ratio'):.3f}",
            _fmt_pct(_summary(rows, 1, "exact")),
            f"{_fmt_db(_summary(rows, 1, 'psnr_out'))} / "
            f"{_fmt_db(_summary(rows, last, 'psnr_out'))}",
            f"{_fmt_pct(_summary(rows, 1, 'exact_far'))} / "
            f"{_fmt_pct(_summary(rows, last, 'exact_far'))}",
            _fmt_db(_summary(rows, last, "psnr_far")),
            _fmt_db(_summary(rows, 1, "psnr_repair")),
        ])  # fmt: skip
    return _common.markdown_table(header, body)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _common.add_photo_args(parser)
    parser.add_argument("--generations", type=int, default=5)
    parser.add_argument("--area", type=float, default=0.01, help="mask area, 0..1")
    parser.add_argument("--megapixels", type=float, default=24, help="0: no synthetic photo")
    parser.add_argument("--repeats", type=int, default=3, help="runs of the synthetic photo")
    _common.add_common_args(parser)
    args = parser.parse_args()
    if args.quick:
        args.limit, args.generations, args.megapixels, args.repeats = 10, 3, 6, 1

    from inpaint_studio.core import jpeg_splice

    if not jpeg_splice.available():
        print("jpeglib is not installed here: every export is a full re-encode", file=sys.stderr)
        return 1
    photos = sorted(p for p in Path(args.data).iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
    photos = photos[: args.limit] if args.limit else photos
    parts = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        results = {"splice": [], "reencode": []}
        for i, photo in enumerate(photos):
            for mode in results:
                results[mode].append(_run(photo, mode, args, work))
            print(f"\r{i + 1}/{len(photos)} photos", end="", file=sys.stderr)
        print(file=sys.stderr)
        parts += [
            f"{len(photos)} JPEGs from `{args.data}` (as they are), a repair over "
            f"{100 * args.area:g}% of each, {args.generations} generations (open, repair "
            "elsewhere, save). Medians over the photos; PSNR against the source's own decode.",
            "",
            _table(results, args.generations),
        ]
        if args.megapixels > 0:
            source = _synthetic(args.megapixels, work)
            big = {"splice": [], "reencode": []}
            for _ in range(max(1, args.repeats)):
                for mode in big:
                    big[mode].append(_run(source, mode, args, work))
            mp = cv2.imread(str(source), cv2.IMREAD_REDUCED_GRAYSCALE_8).size * 64 / 1e6
            parts += [
                "",
                f"One synthetic {mp:.0f} MP photo (quality 92, 4:2:0, EXIF), the same repair "
                f"and {args.generations} generations, median of {max(1, args.repeats)} runs:",
                "",
                _table(big, args.generations),
            ]
    _common.report("bench_jpeg_export", "JPEG export: source blocks kept vs re-encoded",
                   "\n".join(parts), args, torch=False)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
