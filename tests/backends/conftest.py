"""Shared fixtures for the backend tests."""

from __future__ import annotations

import sys

import pytest


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Run torch single-threaded: on a small machine that is busy (a training run, other test
    workers) its intra-op thread pool oversubscribes the cores and tiny forwards get ~100x
    slower. Results do not depend on the thread count."""
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
