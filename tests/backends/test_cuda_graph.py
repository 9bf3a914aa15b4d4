"""CUDA-graph replay of the prior in training (backends/cuda_graph.py)."""

from __future__ import annotations

import pytest
import torch

from inpaint_studio.backends.ffc_net import InpaintNet, NetConfig


def _input(n: int = 2, size: int = 64, device: str = "cpu") -> torch.Tensor:
    torch.manual_seed(0)
    mask = torch.zeros(n, 1, size, size)
    mask[..., size // 4 : size // 2, size // 5 : size - 9] = 1
    img = torch.rand(n, 3, size, size)
    return torch.cat([img * (1 - mask), mask], dim=1).to(device)


def test_graph_prior_is_a_no_op_off_cuda():
    net = InpaintNet(NetConfig(base=8, blocks=1, prior="multigrid"))
    x = _input()
    before = net(x)
    assert net.graph_prior(x) is None
    assert net._graphed_prior is None
    assert torch.equal(net(x), before)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_graphed_prior_matches_direct_calls_and_falls_back_on_other_shapes():
    net = InpaintNet(NetConfig(base=8, blocks=1, prior="multigrid")).cuda().train()
    x = _input(device="cuda")
    with torch.no_grad():
        direct = net(x)
    error = net.graph_prior(x)
    assert error is not None and error <= 1e-4 and net._graphed_prior is not None
    other = _input(size=48, device="cuda")  # another shape: a direct call
    with torch.no_grad():
        assert (net(x) - direct).abs().max() <= 1e-4
        assert net(other).shape == (2, 3, 48, 48)
        y = _input(device="cuda").flip(0)  # new values through the same graph
        net._graphed_prior, graphed = None, net._graphed_prior
        expected = net(y)
        net._graphed_prior = graphed
        assert (net(y) - expected).abs().max() <= 1e-4
