"""batch.run_jobs: the overlapped and the in-turn paths give the same files and messages."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inpaint_studio.batch import plan_jobs, run_jobs


def _inputs(tmp_path: Path) -> tuple[Path, Path]:
    images, masks = tmp_path / "img", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        Image.fromarray(rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)).save(
            images / f"p{i}.png"
        )
        mask = np.zeros((40, 56), np.uint8)
        mask[10 + i : 20 + i, 5:30] = 255
        Image.fromarray(mask).save(masks / f"p{i}.png")
    (images / "broken.png").write_bytes(b"not a png")
    Image.fromarray(np.zeros((40, 56), np.uint8)).save(masks / "broken.png")
    return images, masks


def _mean_fill(threads: list[str]):
    def fill(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        threads.append(threading.current_thread().name)
        out = image.copy()
        out[mask != 0] = image[mask == 0].mean(axis=0).astype(np.uint8)
        return out

    return fill


@pytest.mark.parametrize("workers", [1, 2])
def test_in_turn_and_overlapped_runs_write_the_same_files(tmp_path, workers):
    images, masks = _inputs(tmp_path)
    results = {}
    for overlap in (True, False):
        out = tmp_path / f"out_{overlap}"
        out.mkdir()
        jobs, errors = plan_jobs(images, masks, out)
        assert not errors
        threads: list[str] = []
        err = io.StringIO()
        summary = run_jobs(
            jobs, _mean_fill(threads), workers=workers, progress=False, err=err, overlap_io=overlap
        )
        assert sorted(p.name for p in summary.written) == [f"p{i}.png" for i in range(4)]
        assert len(summary.failures) == 1 and summary.failures[0].startswith("broken.png: ")
        assert "broken.png" in err.getvalue()
        assert threads and threading.main_thread().name not in threads  # never the main thread
        results[overlap] = {p.name: np.asarray(Image.open(p)) for p in sorted(out.iterdir())}
    assert results[True].keys() == results[False].keys()
    for name, pixels in results[True].items():
        np.testing.assert_array_equal(pixels, results[False][name])
