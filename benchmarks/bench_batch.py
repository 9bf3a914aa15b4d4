"""Batch throughput: `inpaint-studio run` with 1 and 2 workers versus a naive sequential loop.

Run: .venv/bin/python benchmarks/bench_batch.py [--quick] [--write-docs]

Generates photo-like JPEGs (6 MP; --quick: 10 images of 1.5 MP) and PNG scratch masks (about
1% of each photo, mirrored on every other image) in a temporary folder, then times, each as a
fresh process from launch to exit (start-up and model load included):

- ``naive``: a loop in a child process: load_image, load_mask, inpaint_image, save_image, one
  image after the other (what a simple script would do);
- ``python -m inpaint_studio run --image DIR --mask DIR --output DIR --workers N`` for N = 1, 2
  with ``--overlap-io yes`` (decoding and encoding on I/O threads beside the fills, the
  default) and ``--workers 1 --overlap-io no`` (load, fill and save in turn).

Outputs of every run are checked: all images written, and the first few decoded and compared
with the naive loop's.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common as c  # noqa: E402
import numpy as np  # noqa: E402


def make_inputs(folder: Path, count: int, mp: float) -> tuple[Path, Path]:
    """Write `count` JPEG photos (quality 90) and PNG masks; (image dir, mask dir)."""
    from PIL import Image

    images, masks = folder / "images", folder / "masks"
    images.mkdir()
    masks.mkdir()
    width, height = c.size_for(mp)
    base = c.photo(width, height, seed=0)
    mask = c.scratch_mask(width, height, 0.01)
    for i in range(count):
        pixels = np.roll(base, 97 * i, axis=1)  # every photo differs a little
        m = mask[:, ::-1] if i % 2 else mask
        Image.fromarray(pixels).save(images / f"photo{i:03d}.jpg", quality=90)
        Image.fromarray(np.ascontiguousarray(m)).save(masks / f"photo{i:03d}.png")
    return images, masks


def naive_loop(images: Path, masks: Path, output: Path, model: str) -> dict:
    """Child process body: load model, then load / fill / save each image in turn."""
    started = time.perf_counter()
    from inpaint_studio.backends import registry
    from inpaint_studio.core.imageio import load_image, load_mask, save_image
    from inpaint_studio.core.pipeline import inpaint_image

    backend = registry.create(model)
    backend.load("cpu")
    loaded_at = time.perf_counter()
    output.mkdir(parents=True, exist_ok=True)
    for path in sorted(images.glob("*.jpg")):
        loaded = load_image(path)
        mask = load_mask(masks / f"{path.stem}.png", loaded.size)
        filled = inpaint_image(loaded.pixels, mask, backend, strategy="crop")
        save_image(output / path.name, filled, alpha=loaded.alpha, like=loaded)
    return {"setup_s": loaded_at - started, "loop_s": time.perf_counter() - loaded_at}


def timed_process(argv: list[str], timeout: float) -> tuple[float, str]:
    """Wall seconds of a child process from launch to exit; raises on failure."""
    start = time.perf_counter()
    code, out, err = c.run_child(argv, timeout)
    elapsed = time.perf_counter() - start
    if code != 0:
        tail = "\n".join(err.strip().splitlines()[-5:])
        raise RuntimeError(f"{' '.join(argv[:4])}... exited with {code}: {tail}")
    return elapsed, out


def compare_outputs(a: Path, b: Path, names: list[str]) -> tuple[int, int]:
    """(images identical, max abs pixel difference) between two output folders."""
    from PIL import Image

    same, worst = 0, 0
    for name in names:
        x = np.asarray(Image.open(a / name).convert("RGB"), np.int16)
        y = np.asarray(Image.open(b / name).convert("RGB"), np.int16)
        diff = int(np.abs(x - y).max())
        same += diff == 0
        worst = max(worst, diff)
    return same, worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    c.add_common_args(parser)
    parser.add_argument("--count", type=int, default=None, help="photos (100; quick 10)")
    parser.add_argument("--mp", type=float, default=None, help="megapixels (6; quick 1.5)")
    parser.add_argument("--model", default="ours", help="backend for every run (ours)")
    parser.add_argument("--child-naive", nargs=3, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_naive:
        images, masks, output = map(Path, args.child_naive)
        print(json.dumps(naive_loop(images, masks, output, args.model)))
        return 0

    count = args.count or (10 if args.quick else 100)
    mp = args.mp or (1.5 if args.quick else 6)
    timeout = 7200.0
    with tempfile.TemporaryDirectory(prefix="inpaint-batch-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        images, masks = make_inputs(folder, count, mp)
        print(f"wrote {count} photos in {time.perf_counter() - start:.1f} s", file=sys.stderr)
        names = sorted(p.name for p in images.iterdir())
        runs = []
        naive_out = folder / "out-naive"
        wall, out = timed_process(
            [sys.executable, __file__, "--model", args.model, "--child-naive",
             str(images), str(masks), str(naive_out)],
            timeout,
        )  # fmt: skip
        inner = json.loads(out.strip().splitlines()[-1])
        runs.append(("naive loop (load, fill, save in turn)", wall, naive_out))
        print(f"naive: {wall:.1f} s", file=sys.stderr)
        for workers, overlap in ((1, "no"), (1, "yes"), (2, "yes")):
            target = folder / f"out-w{workers}-{overlap}"
            wall, _ = timed_process(
                [sys.executable, "-m", "inpaint_studio", "run", "--image", str(images),
                 "--mask", str(masks), "--output", str(target), "--workers", str(workers),
                 "--model", args.model, "--device", "cpu", "--no-progress",
                 "--overlap-io", overlap],
                timeout,
            )  # fmt: skip
            label = f"inpaint-studio run --workers {workers} --overlap-io {overlap}"
            runs.append((f"`{label}`", wall, target))
            print(f"{label}: {wall:.1f} s", file=sys.stderr)
        checked = names[: min(5, len(names))]
        rows = []
        naive_wall = runs[0][1]
        for label, wall, target in runs:
            written = sum(1 for _ in target.iterdir())
            if written != count:
                raise RuntimeError(f"{label}: wrote {written} of {count} images")
            same, worst = compare_outputs(naive_out, target, checked)
            rows.append(
                [
                    label,
                    c.fmt_s(wall),
                    f"**{count / wall:.2f}**",
                    f"{naive_wall / wall:.2f}x",
                    f"{same}/{len(checked)} identical (max diff {worst})",
                ]
            )
    width, height = c.size_for(mp)
    body = "\n".join(
        [
            f"{count} JPEG photos of {width}x{height} ({mp:g} MP) with scratch masks (about 1% "
            f"of each photo), model `{args.model}` on the CPU. Wall time of each process from "
            f"launch to exit, start-up and model load included (the naive child took "
            f"{inner['setup_s']:.2f} s for imports and model load, {inner['loop_s']:.1f} s "
            "for its loop).",
            "",
            c.markdown_table(
                ["run", "wall time", "images/s", "speed-up vs naive", "outputs vs naive"],
                rows,
            ),
        ]
    )
    c.report("bench_batch", "Batch throughput", body, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
