"""Peak memory: a 24 MP editing session (strokes + fills + undo) and a 100 MP fill.

Run: .venv/bin/python benchmarks/bench_memory.py [--quick] [--write-docs]

Each case runs in its own child process so its peak RSS (VmHWM) is its own.

- ``session``: a 24 MP Document and a core ``History`` with the default byte budget, driven
  the way the editor drives them: 200 brush strokes (``core.brush.StrokeRecorder``, 20 to
  120 px brushes) in 20 rounds of 10 strokes around one spot each, every round followed by
  a fill (the controller's context crop -> ``core.pipeline.inpaint_image`` -> ``fill_edit``).
  Reports peak RSS, history bytes against the budget, evicted steps, and the time of every
  undo and redo back through the whole history.
- ``fill100``: a 100 MP photo with an ellipse covering a quarter of it, filled with our model
  on the CPU through ``core.pipeline.inpaint_image`` (crop strategy: the big window is
  downscaled to the model's working size). Peak RSS is measured from just before the fill
  (the kernel's peak counter is reset after the photo is generated, where supported).
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
import numpy as np  # noqa: E402


def swap_counters() -> tuple[int, int]:
    """(pages swapped in, pages swapped out) since boot, from /proc/vmstat (0, 0 if unknown)."""
    values = {}
    try:
        for line in Path("/proc/vmstat").read_text().splitlines():
            key, _, value = line.partition(" ")
            values[key] = int(value)
    except (OSError, ValueError):
        pass
    return values.get("pswpin", 0), values.get("pswpout", 0)


def context_crop(hole, width: int, height: int, min_margin: int = 64):
    """The editor's request crop (qt.controller.context_crop, without importing Qt)."""
    margin = max(int(min_margin), hole.w, hole.h)
    return hole.expand(margin).clip(width, height)


def case_session(strokes: int, fills: int, backend_name: str, mp: float) -> dict:
    """200 strokes + 20 fills on a 24 MP Document with a budgeted History; numbers as a dict."""
    from inpaint_studio.backends import registry
    from inpaint_studio.core.brush import StrokeRecorder
    from inpaint_studio.core.document import Document
    from inpaint_studio.core.history import DEFAULT_BUDGET_BYTES, History
    from inpaint_studio.core.pipeline import inpaint_image

    width, height = c.size_for(mp)
    doc = Document(c.photo(width, height))
    rss_doc = c.current_rss_mb()
    history = History(DEFAULT_BUDGET_BYTES)
    backend = registry.create(backend_name)
    backend.load("cpu")
    rss_start = c.current_rss_mb()
    reset = c.reset_peak_rss()  # the peak below is the session's, not the photo generation's
    rng = np.random.default_rng(0)
    per_round = max(1, strokes // max(1, fills))
    stroke_s, fill_s, done_strokes = [], [], 0
    for _round in range(fills):
        cx = int(rng.integers(width // 8, width - width // 8))
        cy = int(rng.integers(height // 8, height - height // 8))
        for _ in range(per_round):
            radius = float(rng.integers(10, 61))
            x, y = cx + rng.normal(0, 250), cy + rng.normal(0, 250)
            angle = rng.uniform(0, 2 * np.pi)
            start = time.perf_counter()
            recorder = StrokeRecorder(doc.mask, radius)
            for i in range(20):  # a 20-point drag of about 300 px
                recorder.add_point(x + 15 * i * np.cos(angle), y + 15 * i * np.sin(angle))
            edit = recorder.finish("Brush")
            stroke_s.append(time.perf_counter() - start)
            if edit is not None:
                history.push(edit)  # already applied live, like the canvas does
                done_strokes += 1
        hole = doc.mask_rect()
        crop = context_crop(hole, doc.width, doc.height)
        start = time.perf_counter()
        image, mask = doc.image_copy(crop), doc.mask_copy(crop)
        filled = inpaint_image(image, mask, backend, strategy="crop")
        edit = doc.fill_edit(crop, mask, filled, f"Inpaint ({backend_name})")
        doc.apply(edit)
        history.push(edit)
        fill_s.append(time.perf_counter() - start)
    steps = len(history)
    undo_ms, redo_ms = [], []
    while history.can_undo():
        start = time.perf_counter()
        doc.revert(history.undo())
        undo_ms.append((time.perf_counter() - start) * 1000)
    while history.can_redo():
        start = time.perf_counter()
        doc.apply(history.redo())
        redo_ms.append((time.perf_counter() - start) * 1000)
    return {
        "mp": mp,
        "size": [width, height],
        "backend": backend_name,
        "strokes": done_strokes,
        "fills": fills,
        "rss_doc_mb": rss_doc,
        "rss_start_mb": rss_start,
        "peak_reset": reset,
        "peak_mb": c.peak_rss_mb(),
        "end_mb": c.current_rss_mb(),
        "history_mb": history.total_bytes / 2**20,
        "budget_mb": history.budget_bytes / 2**20,
        "steps_kept": steps,
        "evicted": history.evicted,
        "largest_step_mb": max(e.nbytes for e in history.edits) / 2**20,
        "stroke_ms": statistics.median(stroke_s) * 1000,
        "fill_s": statistics.median(fill_s),
        "undo_ms_median": statistics.median(undo_ms),
        "undo_ms_max": max(undo_ms),
        "redo_ms_median": statistics.median(redo_ms),
        "redo_ms_max": max(redo_ms),
    }


def case_fill(mp: float, area: float, backend_name: str) -> dict:
    """One `inpaint_image` of a `mp` MP photo with a centred ellipse of `area` (0..1)."""
    import cv2

    from inpaint_studio.backends import registry
    from inpaint_studio.core.pipeline import inpaint_image
    from inpaint_studio.core.regions import plan_regions, working_memory_estimate

    width, height = c.size_for(mp)
    image = c.photo(width, height)
    mask = np.zeros((height, width), np.uint8)
    axes = (int(width * np.sqrt(area / np.pi)), int(height * np.sqrt(area / np.pi)))
    cv2.ellipse(mask, (width // 2, height // 2), axes, 0, 0, 360, 255, -1)
    backend = registry.create(backend_name)
    backend.load("cpu")
    info = backend.info
    plan = plan_regions(
        mask, working_size=info.working_size, pad_multiple=max(1, info.pad_multiple)
    )
    estimate = max(working_memory_estimate(r) for r in plan) / 2**20
    rss_before = c.current_rss_mb()
    peak_before = c.peak_rss_mb()
    reset = c.reset_peak_rss()
    swaps = swap_counters()
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=1) as pool:  # off the main thread, as the app fills
        out = pool.submit(inpaint_image, image, mask, backend, strategy="crop").result()
    elapsed = time.perf_counter() - start
    peak = c.peak_rss_mb()  # before the check below, which makes big temporary arrays
    swap_in, swap_out = (b - a for a, b in zip(swaps, swap_counters(), strict=True))
    keep = mask == 0
    assert np.array_equal(out[keep], image[keep]), "pixels outside the mask changed"
    return {
        "mp": mp,
        "size": [width, height],
        "area": c.coverage(mask),
        "backend": backend_name,
        "regions": len(plan),
        "model_input": [list(r.input_size) for r in plan],
        "estimate_mb": estimate,
        "rss_before_mb": rss_before,
        "peak_before_mb": peak_before,
        "peak_reset": reset,
        "peak_mb": peak,
        "seconds": elapsed,
        "swap_pages": [swap_in, swap_out],
        "arrays_mb": (image.nbytes + out.nbytes + mask.nbytes) / 2**20,
    }


def run_case(argv: list[str], timeout: float) -> dict:
    """Run this script as a child with `argv`; its JSON result, or {"error": ...}."""
    code, out, err = c.run_child([sys.executable, __file__, *argv], timeout)
    if code is None:
        return {"error": f"stopped after {timeout:g} s"}
    if code != 0:
        return {"error": (err.strip().splitlines() or [f"exit status {code}"])[-1]}
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    c.add_common_args(parser)
    parser.add_argument("--backend", default="telea", help="fills in the session case (telea)")
    parser.add_argument("--case", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--mp", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--strokes", type=int, default=200, help=argparse.SUPPRESS)
    parser.add_argument("--fills", type=int, default=20, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case == "session":
        print(json.dumps(case_session(args.strokes, args.fills, args.backend, args.mp)))
        return 0
    if args.case == "fill":
        print(json.dumps(case_fill(args.mp, 0.25, "ours")))
        return 0

    session_mp, fill_mp = 24, 100
    strokes, fills = (60, 6) if args.quick else (200, 20)
    session = run_case(
        ["--case", "session", "--mp", str(session_mp), "--strokes", str(strokes),
         "--fills", str(fills), "--backend", args.backend],
        3600,
    )  # fmt: skip
    print(f"session: {session}", file=sys.stderr)
    fill = run_case(["--case", "fill", "--mp", str(fill_mp)], 3600)
    print(f"fill: {fill}", file=sys.stderr)

    if "error" in session:
        session_table = f"session case failed: {session['error']}"
    else:
        s = session
        session_table = c.markdown_table(
            ["measure", "value"],
            [
                ["photo", f"{s['size'][0]}x{s['size'][1]} ({s['mp']:g} MP)"],
                ["steps", f"{s['strokes']} brush strokes + {s['fills']} fills ({s['backend']})"],
                ["RSS with the Document only", f"{s['rss_doc_mb']:.0f} MiB"],
                ["RSS with the Document and the backend loaded", f"{s['rss_start_mb']:.0f} MiB"],
                [
                    "**peak RSS during the session**",
                    f"**{s['peak_mb']:.0f} MiB**"
                    + ("" if s["peak_reset"] else " (whole process, incl. photo generation)"),
                ],
                ["RSS at the end", f"{s['end_mb']:.0f} MiB"],
                [
                    "history bytes / budget",
                    f"{s['history_mb']:.1f} / {s['budget_mb']:.0f} MiB "
                    f"({s['steps_kept']} steps kept, {s['evicted']} evicted)",
                ],
                ["largest step", f"{s['largest_step_mb']:.1f} MiB"],
                ["brush stroke (20 points, rasterise + diff)", f"{s['stroke_ms']:.2f} ms median"],
                ["fill (copy crop, inpaint, build edit, apply)", f"{c.fmt_s(s['fill_s'])} median"],
                [
                    "**undo** through the whole history",
                    f"**{s['undo_ms_median']:.2f} ms** median, {s['undo_ms_max']:.1f} ms max",
                ],
                [
                    "redo through the whole history",
                    f"{s['redo_ms_median']:.2f} ms median, {s['redo_ms_max']:.1f} ms max",
                ],
            ],
        )
    if "error" in fill:
        fill_table = f"{fill_mp} MP fill failed: {fill['error']}"
    else:
        f = fill
        swap_in, swap_out = f["swap_pages"]
        peak_text = f"**{f['peak_mb'] / 1024:.2f} GiB**"
        if not f["peak_reset"]:
            peak_text += " (whole process: the peak counter could not be reset)"
        fill_table = c.markdown_table(
            ["measure", "value"],
            [
                ["photo", f"{f['size'][0]}x{f['size'][1]} ({f['mp']:g} MP)"],
                ["mask", f"centred ellipse, {f['area']:.1%} of the photo"],
                [
                    "plan (crop)",
                    f"{f['regions']} region(s), model input "
                    + ", ".join(f"{w}x{h}" for w, h in f["model_input"]),
                ],
                ["photo + mask + output arrays", f"{f['arrays_mb']:.0f} MiB"],
                ["RSS just before the fill", f"{f['rss_before_mb'] / 1024:.2f} GiB"],
                ["**peak RSS during the fill**", peak_text],
                ["regions.working_memory_estimate (per region)", f"{f['estimate_mb']:.0f} MiB"],
                ["fill time (our model, CPU)", f"**{c.fmt_s(f['seconds'])}**"],
                ["pages swapped in / out during the fill", f"{swap_in} / {swap_out}"],
                ["machine memory", f"{c.total_memory_gb():.1f} GiB"],
            ],
        )
    body = "\n".join(
        [
            "24 MP editing session (core Document + History, as the editor uses them):",
            "",
            session_table,
            "",
            f"{fill_mp:g} MP photo, a quarter of it masked, our model on the CPU:",
            "",
            fill_table,
        ]
    )
    c.report("bench_memory", "Memory: 24 MP session and 100 MP fill", body, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
