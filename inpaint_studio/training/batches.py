"""Training batches as numpy arrays, made in the train loop or ahead of it by worker processes.

Batch number ``step`` of a run depends only on (seed, step): crops (N, S, S, 3) uint8 RGB and
masks (N, S, S) uint8 {0, 255}. So a resumed run sees the batches it would have seen, and the
number of loader processes changes the speed, never the data. No torch here: the workers are
plain spawned processes that decode the photos once and then only crop and draw masks (on a
GPU the train loop would otherwise wait for the CPU between steps).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from inpaint_studio.training.data import PhotoCrops
from inpaint_studio.training.masks import random_training_mask

_worker_data: PhotoCrops | None = None


def numpy_batch(data: PhotoCrops, seed: int, step: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(crops (n,S,S,3) uint8, masks (n,S,S) uint8 0/255) for batch `step` of run `seed`."""
    rng = np.random.default_rng([seed, step])
    imgs = np.stack([data.sample(rng) for _ in range(n)])
    masks = np.stack([random_training_mask(imgs.shape[1:3], rng) for _ in range(n)])
    return imgs, masks


def _init_worker(folder: str, crop: int) -> None:
    global _worker_data
    import cv2

    cv2.setNumThreads(1)  # one process per core already
    _worker_data = PhotoCrops(folder, crop=crop)


def _worker_batch(seed: int, step: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    assert _worker_data is not None, "worker not initialised"
    return numpy_batch(_worker_data, seed, step, n)


class BatchStream:
    """Iterator over numpy_batch(seed, step) for step = start, start + 1, ...

    ``workers`` = 0 makes each batch when asked; > 0 keeps ``prefetch`` batches in flight on
    that many spawned processes (each holds its own decoded copy of the photos). Use as a
    context manager, or call close(), so the processes end with the run."""

    def __init__(
        self,
        data: PhotoCrops,
        folder: str | Path,
        seed: int,
        start: int,
        n: int,
        workers: int = 0,
        prefetch: int | None = None,
    ) -> None:
        self.data, self.seed, self.next_step, self.n = data, seed, start, n
        self.workers = max(0, int(workers))
        self._pool = None
        self._pending: deque = deque()
        if self.workers:
            # a worker that dies (or fails to start) raises BrokenProcessPool, never hangs
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=get_context("spawn"),
                initializer=_init_worker,
                initargs=(str(folder), data.crop),
            )
            self._prefetch = prefetch or 2 * self.workers
            self._submitted = start

    def _fill(self) -> None:
        while len(self._pending) < self._prefetch:
            args = (self.seed, self._submitted, self.n)
            self._pending.append(self._pool.submit(_worker_batch, *args))
            self._submitted += 1

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        return self

    def __next__(self) -> tuple[np.ndarray, np.ndarray]:
        step = self.next_step
        self.next_step += 1
        if self._pool is None:
            return numpy_batch(self.data, self.seed, step, self.n)
        self._fill()
        return self._pending.popleft().result()

    def close(self) -> None:
        """Stop the worker processes (idempotent)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            self._pending.clear()

    def __enter__(self) -> BatchStream:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
