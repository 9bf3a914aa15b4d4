"""Backends by name: register factories, list them with a cheap availability check, create.

Built in: "telea", "ns" (OpenCV) and "patchmatch". Plugins, looked up on first use and
skipped while their module does not exist:

- ``backends.neural``: our network, registered as ``INFO.name`` ("ours") with
  ``NeuralInpainter`` as factory and ``is_available()`` as check, and ``FAST_INFO.name``
  ("ours-fast", ``FastNeuralInpainter``: the same weights without the FFC network).
- ``backends.blend_backend``: "blend", our network mixed with PatchMatch (needs both).
- ``backends.torchscript_backend``: ``discover()`` -> ``[(name, info, factory, is_available)]``
  for TorchScript files ("lama", "torchscript:/path/file.pt"); ``create("torchscript:PATH")``
  for an unregistered path goes to ``create_from_path(PATH)``.

Nothing here imports torch or loads weights: checks must stay cheap (file exists,
``importlib.util.find_spec``). ``DEFAULT_BACKEND`` is evaluated on access: "ours" when
registered and available, else "telea".
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Callable
from dataclasses import dataclass

from inpaint_studio.backends.base import BackendInfo, Inpainter
from inpaint_studio.errors import BackendUnavailable

logger = logging.getLogger(__name__)

Factory = Callable[[], Inpainter]
AvailabilityCheck = Callable[[], tuple[bool, str]]

PREFERRED_BACKEND = "ours"
FALLBACK_BACKEND = "telea"
TORCHSCRIPT_PREFIX = "torchscript:"

_NEURAL_MODULE = "inpaint_studio.backends.neural"
_TORCHSCRIPT_MODULE = "inpaint_studio.backends.torchscript_backend"
_BLEND_MODULE = "inpaint_studio.backends.blend_backend"


@dataclass(frozen=True)
class _Entry:
    info: BackendInfo
    factory: Factory
    check: AvailabilityCheck | None
    plugin: bool


_entries: dict[str, _Entry] = {}
_plugins_loaded = False


def register(
    name: str,
    factory: Factory,
    info: BackendInfo,
    is_available: AvailabilityCheck | None = None,
    *,
    _plugin: bool = False,
) -> None:
    """Add or replace backend `name`; factory() builds an unloaded Inpainter."""
    _entries[name] = _Entry(info=info, factory=factory, check=is_available, plugin=_plugin)


def unregister(name: str) -> None:
    """Remove backend `name` if registered."""
    _entries.pop(name, None)


def _optional_module(module_name: str):
    """Import module_name, or None when it does not exist or fails to import (logged)."""
    try:
        if importlib.util.find_spec(module_name) is None:
            return None
        return importlib.import_module(module_name)
    except Exception:  # a broken plugin must not take the registry down
        logger.warning("could not import backend module %s", module_name, exc_info=True)
        return None


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    neural = _optional_module(_NEURAL_MODULE)
    if neural is not None:
        try:
            info = neural.INFO
            register(
                info.name,
                neural.NeuralInpainter,
                info,
                getattr(neural, "is_available", None),
                _plugin=True,
            )
            fast = neural.FAST_INFO
            register(fast.name, neural.FastNeuralInpainter, fast, neural.is_available, _plugin=True)
        except AttributeError:
            logger.warning("%s lacks INFO or NeuralInpainter", _NEURAL_MODULE, exc_info=True)
        blend = _optional_module(_BLEND_MODULE)
        if blend is not None:
            register(
                blend.INFO.name, blend.BlendInpainter, blend.INFO, blend.is_available, _plugin=True
            )
    torchscript = _optional_module(_TORCHSCRIPT_MODULE)
    if torchscript is not None and hasattr(torchscript, "discover"):
        try:
            found = list(torchscript.discover())
        except Exception:
            logger.warning("TorchScript model discovery failed", exc_info=True)
            found = []
        for name, info, factory, check in found:
            register(name, factory, info, check, _plugin=True)


def refresh() -> None:
    """Forget plugin backends and look them up again (e.g. after a model file was added)."""
    global _plugins_loaded
    for name in [n for n, e in _entries.items() if e.plugin]:
        del _entries[name]
    _plugins_loaded = False
    _load_plugins()


def names() -> list[str]:
    """Registered backend names in registration order (built-ins first)."""
    _load_plugins()
    return list(_entries)


def _entry(name: str) -> _Entry:
    _load_plugins()
    try:
        return _entries[name]
    except KeyError:
        raise BackendUnavailable(
            f"unknown model '{name}'; available: {', '.join(_entries) or 'none'}"
        ) from None


def info(name: str) -> BackendInfo:
    """BackendInfo of a registered backend; raises BackendUnavailable for unknown names."""
    return _entry(name).info


def create(name: str) -> Inpainter:
    """Build the (not yet loaded) Inpainter for `name` or a "torchscript:PATH" model file."""
    _load_plugins()
    if name not in _entries and name.startswith(TORCHSCRIPT_PREFIX):
        torchscript = _optional_module(_TORCHSCRIPT_MODULE)
        if torchscript is None or not hasattr(torchscript, "create_from_path"):
            raise BackendUnavailable("TorchScript models are not supported by this installation.")
        return torchscript.create_from_path(name[len(TORCHSCRIPT_PREFIX) :])
    return _entry(name).factory()


def _check(entry: _Entry) -> tuple[bool, str]:
    if entry.check is None:
        return True, ""
    try:
        ok, reason = entry.check()
    except Exception as exc:  # a failing check means "not available", with the reason
        return False, str(exc) or type(exc).__name__
    return bool(ok), "" if ok else str(reason)


def is_available(name: str) -> tuple[bool, str]:
    """Cheap (ok, reason) check for one backend; unknown names are not available."""
    _load_plugins()
    entry = _entries.get(name)
    if entry is None:
        return False, f"unknown model '{name}'"
    return _check(entry)


def available() -> list[tuple[BackendInfo, bool, str]]:
    """(info, ok, reason) for every registered backend, without importing torch or weights."""
    _load_plugins()
    return [(entry.info, *_check(entry)) for entry in list(_entries.values())]


def default_backend() -> str:
    """Name of the default backend: "ours" when registered and available, else "telea"."""
    if PREFERRED_BACKEND in names() and is_available(PREFERRED_BACKEND)[0]:
        return PREFERRED_BACKEND
    return FALLBACK_BACKEND


def __getattr__(attr: str) -> str:
    if attr == "DEFAULT_BACKEND":
        return default_backend()
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")


def _register_builtins() -> None:
    from inpaint_studio.backends import opencv_backend, patchmatch_backend

    # cv2 is a hard dependency (core uses it too): the OpenCV methods are always available
    register("telea", opencv_backend.TeleaInpainter, opencv_backend.TELEA_INFO)
    register("ns", opencv_backend.NavierStokesInpainter, opencv_backend.NS_INFO)
    register(
        "patchmatch",
        patchmatch_backend.PatchMatchInpainter,
        patchmatch_backend.INFO,
        patchmatch_backend.is_available,
    )


_register_builtins()
