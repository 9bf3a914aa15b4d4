"""Shared torch helpers for neural backends: device, precision, padding, OOM mapping."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np
import torch
import torch.nn.functional as F

from inpaint_studio.errors import BackendError, OutOfMemory

T = TypeVar("T")


def cpu_supports_bf16() -> bool:
    """True when this CPU has native bf16 matmul (AVX512-BF16 or AMX) per PyTorch's oneDNN."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:  # noqa: BLE001 - older builds lack the op
        return False


def cpu_bf16_is_fast(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """True when bf16 autocast speeds this CPU up: it has AMX tiles (Linux cpuinfo flag
    amx_bf16), or it is an AMD CPU with AVX512-BF16 (Zen 4 and later). Measured for our net
    at 512x512 (benchmarks/bench_model_speed.py): 2-core AMD EPYC with AVX512-BF16 0.22-0.24 s
    bf16 vs 0.32-0.33 s fp32; 2-core Intel Xeon with AVX512-BF16 but no AMX 0.37-0.42 s bf16 vs
    0.29-0.31 s fp32. Without /proc/cpuinfo, native bf16 support decides."""
    try:
        with open(cpuinfo, encoding="utf-8") as f:
            first_cpu = f.read().split("\n\n", 1)[0]
    except OSError:
        return cpu_supports_bf16()
    fields = dict(line.split(":", 1) for line in first_cpu.splitlines() if ":" in line)
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    flags = set(fields.get("flags", "").split())
    amd_bf16 = fields.get("vendor_id") == "AuthenticAMD" and "avx512_bf16" in flags
    return ("amx_bf16" in flags or amd_bf16) and cpu_supports_bf16()


def off_thread(fn: Callable[..., T], *args) -> T:
    """fn(*args) on a short-lived thread; its result, or its exception re-raised here.

    For loading models: the OpenMP team torch starts for the loading work ends with that
    thread. Left on a caller that then waits while fills run on another thread, it made
    every fill 1.4-1.7x slower on 2-core CPUs (benchmarks/bench_load_thread.py; likely
    because more OpenMP threads than cores make GNU OpenMP sleep between the prior's many
    small parallel regions: docs/benchmarks.md).
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="inpaint-load") as pool:
        return pool.submit(fn, *args).result()


def pick_precision(device: str, requested: str = "auto") -> str:
    """ "bf16" | "fp16" | "fp32" for device: auto = bf16 on CUDA and where `cpu_bf16_is_fast`."""
    if requested != "auto":
        return requested
    if device == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "bf16" if cpu_bf16_is_fast() else "fp32"


def autocast_for(device: str, precision: str):
    """Context manager running the forward pass at `precision` on `device`."""
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device, dtype=dtype)


def to_tensors(image: np.ndarray, mask: np.ndarray, device: str, multiple: int, min_size: int = 0):
    """(H,W,3) uint8 + (H,W) uint8 -> padded (1,3,H',W') [0,1], (1,1,H',W') {0,1}, (H, W).

    H', W' are multiples of `multiple` and at least `min_size` (networks whose bottleneck
    uses reflect padding need two or more pixels there); reflect padding where it fits,
    else edge replication.
    """
    h, w = mask.shape
    pixels = image if image.flags.writeable else image.copy()  # torch wants writable memory
    img = torch.from_numpy(np.ascontiguousarray(pixels)).permute(2, 0, 1)[None].float().div_(255)
    m = torch.from_numpy((mask > 0).astype(np.float32))[None, None]
    multiple = max(1, int(multiple))
    ph = -(-max(h, min_size) // multiple) * multiple - h
    pw = -(-max(w, min_size) // multiple) * multiple - w
    if ph or pw:
        mode = "reflect" if h > ph and w > pw else "replicate"
        img = F.pad(img, (0, pw, 0, ph), mode=mode)
        m = F.pad(m, (0, pw, 0, ph), mode=mode)
    return img.to(device), m.to(device), (h, w)


def to_image(out: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    """(1,3,H',W') in [0,1] -> (H,W,3) uint8 cropped to size (h, w)."""
    h, w = size
    arr = out[0, :, :h, :w].float().clamp_(0, 1).mul_(255).round_().byte()
    return np.ascontiguousarray(arr.permute(1, 2, 0).cpu().numpy())


def short_reason(exc: BaseException, limit: int = 120) -> str:
    """ "Type: first sentence" of an exception message (torch's are long and multi-line)."""
    text = " ".join(str(exc).split()).split(". ")[0].rstrip(".")
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@contextlib.contextmanager
def map_torch_errors(name: str):
    """Turn torch OOM and runtime failures into OutOfMemory / BackendError messages."""
    try:
        yield
    except torch.cuda.OutOfMemoryError as exc:
        torch.cuda.empty_cache()
        raise OutOfMemory(f"{name} ran out of GPU memory; try CPU or a smaller mask.") from exc
    except MemoryError as exc:
        raise OutOfMemory(f"{name} ran out of memory; try a smaller mask.") from exc
    except RuntimeError as exc:
        if "out of memory" in str(exc).lower():
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            raise OutOfMemory(f"{name} ran out of memory; try CPU or a smaller mask.") from exc
        raise BackendError(f"{name} failed: {str(exc).splitlines()[0]}") from exc
