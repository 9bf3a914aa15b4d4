"""Which thread loads the model, and what that does to fills on another thread.

Run: .venv/bin/python benchmarks/bench_load_thread.py [--repeats 8] [--mp 6] [--write-docs]

Each case runs in a fresh process (OpenMP thread teams live as long as their thread) and
fills the fill-scaling photo with a 1% scratch mask through ``core.pipeline.inpaint_image``
on one worker thread, as the editor and ``inpaint-studio run`` do; median of ``--repeats``
fills after one warm-up fill. Cases:

- ``load() on the main thread``: ``NeuralInpainter.load`` called from the main thread, as
  ``inpaint-studio run`` does (it loads on a short-lived thread of its own);
- ``weights read on the main thread``: the weights read and converted on the main thread
  itself, which is what ``load`` did before it moved that work off the caller's thread;
- ``load() on the fill thread``: load and fills on the same worker thread.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common as c  # noqa: E402

CASES = {
    "main": "`load()` on the main thread (as shipped)",
    "weights-main": "weights read on the main thread (before the fix)",
    "fill-thread": "`load()` on the fill thread",
}


def _load_weights_here(model) -> None:
    """What NeuralInpainter.load did before: read and convert the weights on this thread."""
    from inpaint_studio.backends import neural
    from inpaint_studio.backends.torch_utils import pick_precision

    model.net, model.meta = neural._load_channels_last(model.weights, "cpu")
    model.device, model.precision = "cpu", pick_precision("cpu")


def child(case: str, mp: float, repeats: int) -> dict:
    """Child process body: load as `case` says, then time fills on a worker thread."""
    from inpaint_studio.backends.neural import NeuralInpainter
    from inpaint_studio.core.pipeline import inpaint_image

    width, height = c.size_for(mp)
    image, mask = c.photo(width, height), c.scratch_mask(width, height, 0.01)
    model = NeuralInpainter()
    worker = ThreadPoolExecutor(max_workers=1)
    if case == "main":
        model.load("cpu")
    elif case == "weights-main":
        _load_weights_here(model)
    else:
        worker.submit(model.load, "cpu").result()
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        worker.submit(inpaint_image, image, mask, model).result()
        times.append(time.perf_counter() - start)
    worker.shutdown()
    return {"median_s": statistics.median(times[1:]), "times": times[1:]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    c.add_common_args(parser)
    parser.add_argument("--repeats", type=int, default=8)
    parser.add_argument("--mp", type=float, default=6.0)
    parser.add_argument("--child", choices=sorted(CASES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.mp, args.repeats)))
        return 0
    results = {}
    for case in CASES:
        code, out, err = c.run_child(
            [
                sys.executable,
                __file__,
                "--child",
                case,
                "--repeats",
                str(args.repeats),
                "--mp",
                str(args.mp),
            ],
            timeout=1800,
        )
        if code != 0:
            print(err, file=sys.stderr)
            return 1
        results[case] = json.loads(out.strip().splitlines()[-1])
        print(f"{case}: {results[case]['median_s']:.2f} s", file=sys.stderr)
    base = results["fill-thread"]["median_s"]
    rows = [
        [
            title,
            f"**{c.fmt_s(results[case]['median_s'])}**",
            f"{results[case]['median_s'] / base:.2f}x",
            ", ".join(f"{t:.2f}" for t in results[case]["times"]),
        ]
        for case, title in CASES.items()
    ]
    width, height = c.size_for(args.mp)
    body = "\n".join(
        [
            f"A {width}x{height} photo with a 1% scratch mask, our model on the CPU, fills on "
            f"one worker thread; median of {args.repeats} fills, each case in a fresh process.",
            "",
            c.markdown_table(["model loaded by", "fill", "vs fill thread", "runs (s)"], rows),
        ]
    )
    c.report("bench_load_thread", "Which thread loads the model", body, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
