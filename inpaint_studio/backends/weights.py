"""Save/load the generator's weights file: fp16 state dict + config + metadata (torch)."""

from __future__ import annotations

from pathlib import Path

import torch

from inpaint_studio.backends.ffc_net import InpaintNet, NetConfig

FORMAT = "inpaint-studio-ffc/1"


def save_weights(net: InpaintNet, path: str | Path, meta: dict | None = None) -> None:
    """Write net's weights (floating tensors as fp16) atomically to `path`."""
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in net.state_dict().items()}
    payload = {"format": FORMAT, "config": net.config.to_dict(), "state": state, "meta": meta or {}}
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)


def load_weights(path: str | Path, device: str = "cpu") -> tuple[InpaintNet, dict]:
    """Build an InpaintNet in eval mode (fp32 weights) from a weights file; returns (net, meta)."""
    name = Path(path).name
    try:
        payload = torch.load(Path(path), map_location="cpu", weights_only=True)
    except OSError:
        raise
    except Exception as exc:  # noqa: BLE001 - truncated zip, foreign pickle, EOF...
        raise ValueError(f"{name} cannot be read as a weights file ({type(exc).__name__})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{name} is not an Inpaint Studio weights file")
    try:
        net = InpaintNet(NetConfig(**payload["config"]))
        state = payload["state"]
        net.load_state_dict(
            {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
        )
    except (KeyError, TypeError, AttributeError, RuntimeError) as exc:
        # missing/unexpected keys or shapes: the file's tensors do not fit its own config
        raise ValueError(f"{name} is damaged: its weights do not match its network config") from exc
    return net.eval().to(device), payload.get("meta", {})
