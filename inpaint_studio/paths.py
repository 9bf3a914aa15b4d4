"""Where resources, user models and state live (no Qt, no torch)."""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "inpaint-studio"


def resources_dir() -> Path:
    """Folder holding shipped models and sample photos (`resources/` at the project root)."""
    env = os.environ.get("INPAINT_STUDIO_RESOURCES")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "resources"


def sample_photo() -> Path:
    """The built-in sample photo that the app opens with `--sample`."""
    return resources_dir() / "samples" / "sample.jpg"


def _xdg(var: str, default: str) -> Path:
    return Path(os.environ.get(var) or Path.home() / default)


def user_data_dir() -> Path:
    """Per-user data folder (XDG_DATA_HOME/inpaint-studio)."""
    return _xdg("XDG_DATA_HOME", ".local/share") / APP_NAME


def user_models_dir() -> Path:
    """Folder scanned for user TorchScript models (*.pt, *.pth, *.jit)."""
    return user_data_dir() / "models"


#: Environment variable naming the state folder outright (tests, portable installs).
ENV_STATE_DIR = "INPAINT_STUDIO_STATE_DIR"


def user_state_dir() -> Path:
    """Per-user state folder for autosave / crash recovery: $INPAINT_STUDIO_STATE_DIR if set,
    else XDG_STATE_HOME/inpaint-studio."""
    env = os.environ.get(ENV_STATE_DIR)
    if env:
        return Path(env)
    return _xdg("XDG_STATE_HOME", ".local/state") / APP_NAME
