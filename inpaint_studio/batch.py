"""Batch inpainting for `inpaint-studio run`: pair files, then load / fill / save overlapped.

No Qt. One loaded Inpainter serves every job. Decoding of the next images and encoding of
finished ones run on an I/O thread pool while the model works; ``workers`` inference
threads share the model (OpenCV, PatchMatch and torch release the GIL while they compute).
"""

from __future__ import annotations

import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from inpaint_studio.core.imageio import LoadedImage, load_image, load_mask, save_image
from inpaint_studio.errors import InpaintStudioError, MaskError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp")
MASK_EXTENSIONS = (".png", ".bmp", ".tif", ".tiff", ".webp", ".jpg", ".jpeg")
IO_THREAD_NICE = 10  # decode/encode threads yield to inference (see _lower_thread_priority)


@dataclass(frozen=True)
class Job:
    """One image to fill: input photo, its mask (white = fill) and where the result goes."""

    image: Path
    mask: Path | None  # None: nothing painted (the filler detects the damage itself)
    output: Path


@dataclass
class BatchSummary:
    """What a batch did: outputs written and one message per failed job."""

    written: list[Path] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def is_image(path: Path) -> bool:
    suffix_ok = path.suffix.lower() in IMAGE_EXTENSIONS
    return suffix_ok and path.is_file() and not path.name.startswith(".")


def _find_mask(mask_dir: Path, stem: str) -> Path | None:
    for ext in MASK_EXTENSIONS:
        for candidate in (mask_dir / f"{stem}{ext}", mask_dir / f"{stem}{ext.upper()}"):
            if candidate.is_file():
                return candidate
    return None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def plan_jobs(image: Path, mask: Path | None, output: Path) -> tuple[list[Job], list[str]]:
    """Pair inputs: file+file -> one job; dir+dir -> jobs paired by stem; mask None -> one job
    per photo without a mask file. Returns (jobs, errors).

    Raises InpaintStudioError when the arguments themselves are unusable (missing paths,
    a directory of images with a single mask file, an output that would replace an input).
    """
    if not image.exists():
        raise InpaintStudioError(f"image not found: {image}")
    if mask is not None and not mask.exists():
        raise InpaintStudioError(f"mask not found: {mask}")
    if image.is_file():
        if mask is not None and mask.is_dir():
            found = _find_mask(mask, image.stem)
            if found is None:
                raise MaskError(f"no mask named {image.stem}.png in {mask}")
            mask = found
        target = output / image.name if output.is_dir() else output
        if _same_file(target, image):
            raise InpaintStudioError(
                f"refusing to overwrite the input {image}; choose another --output"
            )
        return [Job(image, mask, target)], []
    if mask is not None and not mask.is_dir():
        raise InpaintStudioError(
            "--image is a folder, so --mask must be a folder of masks named like the images"
        )
    if output.exists() and not output.is_dir():
        raise InpaintStudioError(f"--image is a folder, so --output must be a folder: {output}")
    photos = sorted(p for p in image.iterdir() if is_image(p))
    if not photos:
        raise InpaintStudioError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) in {image}")
    jobs: list[Job] = []
    errors: list[str] = []
    for photo in photos:
        found = None if mask is None else _find_mask(mask, photo.stem)
        if found is None and mask is not None:
            errors.append(f"{photo.name}: no mask named {photo.stem}.png in {mask}")
            continue
        target = output / photo.name
        if _same_file(target, photo):
            raise InpaintStudioError(
                f"refusing to overwrite the inputs in {image}; choose another --output folder"
            )
        jobs.append(Job(photo, found, target))
    return jobs, errors


def _load(job: Job, max_pixels: int) -> tuple[LoadedImage, np.ndarray]:
    loaded = load_image(job.image, max_pixels=max_pixels)
    if job.mask is None:
        return loaded, np.zeros((loaded.size[1], loaded.size[0]), np.uint8)
    return loaded, load_mask(job.mask, loaded.size)


def _save(job: Job, pixels: np.ndarray, loaded: LoadedImage, quality: int | None) -> Path:
    job.output.parent.mkdir(parents=True, exist_ok=True)
    save_image(job.output, pixels, alpha=loaded.alpha, like=loaded, quality=quality)
    return job.output


def _reason(exc: BaseException) -> str:
    if isinstance(exc, InpaintStudioError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory"
    return f"{type(exc).__name__}: {exc}"


class _Progress:
    """tqdm bar on stderr (count, rate, ETA) when asked and available; silent otherwise."""

    def __init__(self, total: int, enabled: bool) -> None:
        self._bar = None
        if enabled and total > 1:
            try:
                from tqdm import tqdm

                self._bar = tqdm(total=total, unit="img", file=sys.stderr, dynamic_ncols=True)
            except ImportError:  # pragma: no cover - tqdm is a dependency
                self._bar = None

    def step(self) -> None:
        if self._bar is not None:
            self._bar.update(1)

    def write(self, line: str, stream) -> None:
        if self._bar is not None:
            self._bar.write(line, file=stream)
        else:
            print(line, file=stream)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _lower_thread_priority() -> None:
    """Nice the calling thread (Linux: per-thread nice values) so that decoding and encoding
    fill the gaps of inference instead of preempting torch's threads, whose parallel regions
    stall when one thread is descheduled; a no-op elsewhere or when not permitted."""
    if sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), IO_THREAD_NICE)
        except OSError:
            pass


def run_jobs(
    jobs: Iterable[Job],
    inpaint: Callable[[np.ndarray, np.ndarray], np.ndarray],
    *,
    workers: int = 1,
    quality: int | None = None,
    max_pixels: int | None = None,
    progress: bool = True,
    err=None,
    overlap_io: bool = True,
) -> BatchSummary:
    """Run `inpaint(image (H,W,3) uint8, mask (H,W) uint8) -> (H,W,3) uint8` over `jobs`.

    Failures (bad image, bad mask, unwritable output) are reported one line each on `err`
    and the other jobs continue. Outputs keep format, EXIF, ICC and alpha of their input.
    ``overlap_io``: decode/encode on I/O threads while the model works; False runs load,
    fill and save in turn on one worker thread (which of the two is faster with one worker
    differed between two 2-core CPUs: docs/benchmarks.md). The outputs are the same.
    """
    from inpaint_studio.core.imageio import default_max_pixels

    err = err if err is not None else sys.stderr
    jobs = list(jobs)
    workers = max(1, int(workers))
    limit = max_pixels or default_max_pixels()  # $INPAINT_STUDIO_MAX_PIXELS or 200 MP
    summary = BatchSummary()
    bar = _Progress(len(jobs), progress)
    lock = threading.Lock()
    window = workers + 2  # images decoded ahead / results waiting to be encoded

    def fail(job: Job, exc: BaseException) -> None:
        with lock:
            line = f"{job.image.name}: {_reason(exc)}"
            summary.failures.append(line)
            bar.write(f"inpaint-studio: {line}", err)
            bar.step()

    def fill(job: Job, loading: Future) -> tuple[np.ndarray, LoadedImage]:
        loaded, mask = loading.result()
        return inpaint(loaded.pixels, mask), loaded

    if not overlap_io:
        return _run_in_turn(jobs, inpaint, quality, limit, summary, bar, fail)

    io_pool = ThreadPoolExecutor(
        max_workers=2, thread_name_prefix="inpaint-io", initializer=_lower_thread_priority
    )
    infer_pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="inpaint-infer")
    pending = iter(jobs)
    loads: deque[tuple[Job, Future]] = deque()
    fills: deque[tuple[Job, Future]] = deque()
    saves: deque[tuple[Job, Future]] = deque()

    def collect_save(block: bool) -> None:
        while saves and (block or saves[0][1].done()):
            job, future = saves.popleft()
            try:
                written = future.result()
            except BaseException as exc:  # noqa: BLE001 - reported per job, batch goes on
                fail(job, exc)
                continue
            with lock:
                summary.written.append(written)
                bar.step()

    try:
        while True:
            while len(loads) < window:
                job = next(pending, None)
                if job is None:
                    break
                loads.append((job, io_pool.submit(_load, job, limit)))
            while loads and len(fills) < workers:
                job, loading = loads.popleft()
                fills.append((job, infer_pool.submit(fill, job, loading)))
            if not fills:
                break
            job, future = fills.popleft()
            try:
                pixels, loaded = future.result()
            except BaseException as exc:  # noqa: BLE001 - reported per job, batch goes on
                if isinstance(exc, KeyboardInterrupt):
                    raise
                fail(job, exc)
                continue
            saves.append((job, io_pool.submit(_save, job, pixels, loaded, quality)))
            collect_save(block=len(saves) > window)
        collect_save(block=True)
    finally:
        infer_pool.shutdown(wait=True, cancel_futures=True)
        io_pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
    return summary


def _run_in_turn(jobs, inpaint, quality, limit, summary, bar, fail) -> BatchSummary:
    """Load, fill and save each job in turn on one worker thread (the app also never runs
    the model on the main thread); same reporting as the overlapped path."""

    def loop() -> None:
        for job in jobs:
            try:
                loaded, mask = _load(job, limit)
                written = _save(job, inpaint(loaded.pixels, mask), loaded, quality)
            except Exception as exc:  # noqa: BLE001 - reported per job, batch goes on
                fail(job, exc)
                continue
            summary.written.append(written)
            bar.step()

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inpaint-infer")
    try:
        pool.submit(loop).result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
    return summary
