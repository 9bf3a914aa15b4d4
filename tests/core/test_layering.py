"""Layering: the core and the backend registry import neither Qt nor torch."""

from __future__ import annotations

import importlib.util
import pkgutil
import subprocess
import sys

import pytest

import inpaint_studio.core

FORBIDDEN = ("PySide6", "torch")


def _core_modules() -> list[str]:
    return sorted(
        f"inpaint_studio.core.{m.name}" for m in pkgutil.iter_modules(inpaint_studio.core.__path__)
    )


def _loaded_after_import(modules: list[str]) -> list[str]:
    code = (
        "import sys\n"
        f"for name in {modules!r}:\n"
        "    __import__(name)\n"
        f"print(','.join(m for m in {FORBIDDEN!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return [m for m in out.stdout.strip().split(",") if m]


def test_core_imports_neither_qt_nor_torch():
    modules = ["inpaint_studio.core", *_core_modules()]
    assert "inpaint_studio.core.document" in modules
    assert _loaded_after_import(modules) == []


@pytest.mark.parametrize(
    "module", ["inpaint_studio.backends.base", "inpaint_studio.backends.registry"]
)
def test_backend_registry_imports_neither_qt_nor_torch(module):
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} not written yet")
    assert _loaded_after_import([module]) == []


def _loaded_qt_after_import(modules: list[str]) -> list[str]:
    return [m for m in _loaded_after_import(modules) if m != "torch"]


def test_training_and_evaluation_import_no_qt():
    """tools/gpu_train.sh runs these on a GPU machine that has torch but no Qt."""
    modules = [
        "inpaint_studio.cli",
        "inpaint_studio.training.train",
        "inpaint_studio.training.evaluate",
        "inpaint_studio.backends.neural",
    ]
    assert _loaded_qt_after_import(modules) == []
