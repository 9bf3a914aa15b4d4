"""CPU cost of one training batch, made in the train loop or by loader processes.

Run: .venv/bin/python benchmarks/bench_loader.py --data data/train [--batch 16] [--crop 256]
     [--workers 2] [--batches 20]

Times ``training.batches.numpy_batch`` inline and through ``BatchStream`` with ``--workers``
spawned processes (after its first batch, so start-up is not counted): seconds per batch.
"""

from __future__ import annotations

import argparse
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder of training photos")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batches", type=int, default=20)
    args = parser.parse_args()

    from inpaint_studio.training.batches import BatchStream, numpy_batch
    from inpaint_studio.training.data import PhotoCrops

    data = PhotoCrops(args.data, crop=args.crop)
    start = time.perf_counter()
    for step in range(args.batches):
        numpy_batch(data, 0, step, args.batch)
    inline = (time.perf_counter() - start) / args.batches
    with BatchStream(data, args.data, 0, 0, args.batch, workers=args.workers) as stream:
        next(stream)
        start = time.perf_counter()
        for _ in range(args.batches):
            next(stream)
        ahead = (time.perf_counter() - start) / args.batches
    print(f"batch of {args.batch} x {args.crop} px: inline {inline:.3f} s, "
          f"{args.workers} loader processes {ahead:.3f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
