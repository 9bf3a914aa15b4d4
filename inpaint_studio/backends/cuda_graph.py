"""CUDA-graph replay of a parameter-free tensor function (the smooth priors) for training.

The multigrid prior is about 4,300 small kernels per call (plus 4,100 views; fixed loop
counts, no host sync). Captured once as a CUDA graph, a call is one launch. On an H200
(benchmarks/bench_train_step.py, 2026-12-04) that made a generator step (forward +
backward) of batch 64 1.38x faster (671 vs 488 crops/s) and one of batch 256 only 1.02x
(747 vs 735): at large batches the prior's full-resolution fp32 traffic, not the
launches, is what the step waits on.
Only for fixed input shapes (training: fixed batch and crop); others run the function.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


class GraphedFunction:
    """fn(*tensors) -> tensor, replayed from a CUDA graph captured on `example` tensors.

    Calls with other shapes, dtypes or devices than `example` run fn directly. fn must not
    need gradients, read no host values and hold no state between calls (the priors)."""

    def __init__(self, fn: Callable[..., torch.Tensor], example: tuple[torch.Tensor, ...]):
        self.fn = fn
        self.static_in = tuple(t.detach().clone() for t in example)
        self._key = tuple((t.shape, t.dtype, t.device) for t in example)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side), torch.no_grad():
            for _ in range(2):  # warm-up outside the graph (cuDNN / cuFFT plans, allocator)
                fn(*self.static_in)
        torch.cuda.current_stream().wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph), torch.no_grad():
            self.static_out = fn(*self.static_in)

    def __call__(self, *args: torch.Tensor) -> torch.Tensor:
        if tuple((t.shape, t.dtype, t.device) for t in args) != self._key:
            with torch.no_grad():
                return self.fn(*args)
        for dst, src in zip(self.static_in, args, strict=True):
            dst.copy_(src)
        self.graph.replay()
        return self.static_out.clone()

    def max_error(self, *args: torch.Tensor) -> float:
        """Largest |replay - direct call| on args (a check that the capture is faithful)."""
        with torch.no_grad():
            return float((self(*args) - self.fn(*args)).abs().max())
