"""Shared helpers for the benchmark scripts: synthetic photos and masks, machine info, tables.

Scripts print markdown and, with ``--write-docs``, replace their own section of
``docs/benchmarks.md`` (between ``<!-- BEGIN name -->`` and ``<!-- END name -->``).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib.metadata
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"
SAMPLE = ROOT / "resources" / "samples" / "sample.jpg"

# 3:2 photo sizes, (width, height)
SIZES = {
    6: (3000, 2000),
    12: (4242, 2828),
    24: (6000, 4000),
    48: (8484, 5656),
    100: (12248, 8165),
}


def size_for(megapixels: float) -> tuple[int, int]:
    """(width, height) of a 3:2 photo with about `megapixels` million pixels."""
    if megapixels in SIZES:
        return SIZES[megapixels]
    h = int(round((megapixels * 1e6 / 1.5) ** 0.5))
    return int(round(h * 1.5)), h


# --------------------------------------------------------------------------- synthetic data


def _sample_rgb() -> np.ndarray:
    bgr = cv2.imread(str(SAMPLE), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(f"sample photo not found: {SAMPLE}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def photo(width: int, height: int, seed: int = 0) -> np.ndarray:
    """(height,width,3) uint8 RGB: the sample photo upscaled plus fine grain (+-8 levels)."""
    base = cv2.resize(_sample_rgb(), (width, height), interpolation=cv2.INTER_CUBIC)
    rng = np.random.default_rng(seed)
    tile = rng.integers(0, 17, (509, 509, 3), dtype=np.uint8)  # odd size: no visible grid
    reps = (-(-height // 509), -(-width // 509), 1)
    grain = np.tile(tile, reps)[:height, :width]
    cv2.add(base, grain, dst=base)
    cv2.subtract(base, np.full(3, 8, np.float64), dst=base)  # grain centred on 0
    return base


# Strokes and blobs in relative coordinates (fractions of width / height): a few scratches,
# a curved crack and two blotches spread over the photo, like typical retouching.
_STROKES = (
    ((0.08, 0.12), (0.18, 0.15), (0.26, 0.13)),
    ((0.70, 0.06), (0.72, 0.16), (0.74, 0.26)),
    ((0.12, 0.72), (0.17, 0.78), (0.23, 0.76), (0.27, 0.81)),
    ((0.82, 0.66), (0.88, 0.74)),
)
_BLOBS = ((0.47, 0.45, 1.0), (0.55, 0.85, 0.7))  # x, y, relative radius


def _draw(width: int, height: int, thickness: int) -> np.ndarray:
    """(height,width) uint8 mask of the fixed strokes/blobs, lines `thickness` px wide."""
    mask = np.zeros((height, width), np.uint8)
    for stroke in _STROKES:
        pts = np.array([(x * width, y * height) for x, y in stroke], np.int32)
        cv2.polylines(mask, [pts], False, 255, thickness=thickness, lineType=cv2.LINE_8)
    for x, y, r in _BLOBS:
        radius = max(1, int(round(4 * r * thickness)))
        cv2.circle(mask, (int(x * width), int(y * height)), radius, 255, -1)
    return mask


def scratch_mask(width: int, height: int, area: float) -> np.ndarray:
    """(height,width) uint8 {0,255}: fixed strokes + blobs, thickened to cover ~`area` (0..1)."""
    target = area * width * height
    lo, hi = 1, max(2, min(width, height))
    while hi - lo > 1:  # smallest thickness (px) reaching the target area
        mid = (lo + hi) // 2
        if np.count_nonzero(_draw(width, height, mid)) < target:
            lo = mid
        else:
            hi = mid
    below, above = _draw(width, height, lo), _draw(width, height, hi)
    if abs(np.count_nonzero(below) - target) < abs(np.count_nonzero(above) - target):
        return below
    return above


def coverage(mask: np.ndarray) -> float:
    """Fraction of non-zero pixels of an (H,W) mask, 0..1."""
    return float(np.count_nonzero(mask)) / mask.size


# --------------------------------------------------------------------------- measuring


def median_time(fn: Callable[[], object], repeats: int) -> tuple[float, list[float]]:
    """Run fn `repeats` times; (median seconds, all seconds)."""
    times = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def _proc_status_mb(key: str) -> float | None:
    """A kB field of /proc/self/status (e.g. "VmHWM") in MiB, None where unavailable."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (VmHWM, else getrusage)."""
    peak = _proc_status_mb("VmHWM")
    if peak is not None:
        return peak
    import resource

    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / 2**20


def reset_peak_rss() -> bool:
    """Reset this process's VmHWM to its current RSS (Linux >= 4.0); False if unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def current_rss_mb() -> float:
    """Current resident set size of this process in MiB (VmRSS), 0 if unknown."""
    return _proc_status_mb("VmRSS") or 0.0


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo (or platform.processor())."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def total_memory_gb() -> float:
    """Physical memory in GiB (MemTotal), 0 if unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 0.0


def machine_info(import_torch: bool = True) -> list[tuple[str, str]]:
    """(field, value) rows: CPU, cores, memory, load, Python, torch, threads, bf16 in use."""
    rows = [
        ("CPU", cpu_model()),
        ("cores (os.cpu_count)", str(os.cpu_count())),
        ("memory", f"{total_memory_gb():.1f} GiB"),
    ]
    try:
        load = os.getloadavg()
        rows.append(("load average at end (1/5 min)", f"{load[0]:.2f} / {load[1]:.2f}"))
    except OSError:
        pass
    rows.append(("Python", platform.python_version()))
    if import_torch:
        import torch

        from inpaint_studio.backends.torch_utils import pick_precision

        rows.append(("torch", torch.__version__))
        rows.append(("torch threads", str(torch.get_num_threads())))
        rows.append(("CPU precision (bf16 in use?)", pick_precision("cpu")))
    else:
        try:
            rows.append(("torch", importlib.metadata.version("torch") + " (not imported)"))
        except importlib.metadata.PackageNotFoundError:
            rows.append(("torch", "not installed"))
    rows.append(("OpenCV", cv2.__version__))
    return rows


def floats(text: str) -> list[float]:
    """ "0.5,1,2" -> [0.5, 1.0, 2.0] (empty items skipped): comma-separated study options."""
    return [float(v) for v in text.split(",") if v.strip()]


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """GitHub markdown table text (no trailing newline)."""
    lines = ["| " + " | ".join(str(h) for h in header) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(lines)


def fmt_s(seconds: float | None) -> str:
    """Seconds as '1.23 s' / '45 ms'; '-' for None."""
    if seconds is None:
        return "-"
    if seconds < 1.0:
        return f"{seconds * 1000:.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s"


def command_line() -> str:
    """The command that started this script, relative to the project root."""
    script = Path(sys.argv[0]).resolve()
    try:
        script_text = str(script.relative_to(ROOT))
    except ValueError:
        script_text = str(script)
    return " ".join([".venv/bin/python", script_text, *map(shlex.quote, sys.argv[1:])])


def add_photo_args(parser: argparse.ArgumentParser, limit: int | None = None) -> None:
    """--data DIR (held-out photos), --limit N (first N by name; default `limit`), --seed."""
    parser.add_argument("--data", required=True, help="folder of photos (use val, not train)")
    parser.add_argument("--limit", type=int, default=limit, help="first N photos only")
    parser.add_argument("--seed", type=int, default=0)


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """--quick, --write-docs [PATH], --note TEXT."""
    parser.add_argument("--quick", action="store_true", help="small sizes / few repeats")
    parser.add_argument(
        "--write-docs",
        nargs="?",
        const=str(DOCS),
        default=None,
        metavar="PATH",
        help=f"replace this benchmark's section of PATH (default {DOCS.relative_to(ROOT)})",
    )
    parser.add_argument("--note", default="", help="line added above the tables (e.g. caveats)")


def report(name: str, title: str, body: str, args: argparse.Namespace, *, torch: bool = True):
    """Print the section (command, machine, body) and write it into the docs if asked."""
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [f"### {title}", ""]
    if args.note:
        parts += [f"**{args.note}**", ""]
    parts += [
        f"Command: `{command_line()}`" + (" (quick mode)" if args.quick else ""),
        f"Measured: {stamp}",
        "",
        markdown_table(["machine", ""], machine_info(import_torch=torch)),
        "",
        body.strip(),
    ]
    section = "\n".join(parts)
    print(section)
    if args.write_docs:
        write_section(Path(args.write_docs), name, section)
        print(f"\n(wrote section '{name}' of {args.write_docs})", file=sys.stderr)
    return section


def write_section(path: Path, name: str, section: str) -> None:
    """Replace the text between <!-- BEGIN name --> and <!-- END name --> (append if absent)."""
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    block = f"{begin}\n{section.strip()}\n{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _old, tail = rest.split(end, 1)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def run_child(argv: Sequence[str], timeout: float, env: dict | None = None):
    """subprocess.run with captured text output; (returncode | None on timeout, stdout, stderr)."""
    try:
        done = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=ROOT,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else exc.stderr or ""
        return None, out, err
    return done.returncode, done.stdout, done.stderr
