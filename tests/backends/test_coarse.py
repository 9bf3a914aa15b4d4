"""Coarse corrector: a no-op until trained, any input size, only ever changes the hole."""

from __future__ import annotations

import pytest
import torch

from inpaint_studio.backends.coarse_net import (
    COARSE_FACTOR,
    CoarseCorrector,
    coarse_inputs,
    coarse_residual,
    depth_weight,
)
from inpaint_studio.backends.ffc_net import PRIORS, InpaintNet, NetConfig


def _case(h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(1,3,h,w) RGB in [0,1] with a hole box zeroed, (1,1,h,w) known {0,1}."""
    torch.manual_seed(0)
    rgb = torch.rand(1, 3, h, w)
    known = torch.ones(1, 1, h, w)
    known[..., h // 4 : h // 2, w // 3 : w // 2 + 3] = 0
    return rgb * known, known


def _trained_looking(width: int = 8) -> CoarseCorrector:
    torch.manual_seed(1)
    net = CoarseCorrector(width).eval()
    with torch.no_grad():
        net.head.weight.normal_(0, 0.05)
        net.head.bias.fill_(0.01)
    return net


def test_untrained_corrector_leaves_the_prior_network_unchanged():
    torch.manual_seed(2)
    plain = InpaintNet(NetConfig(base=8, blocks=1, prior="multigrid")).eval()
    with_coarse = InpaintNet(NetConfig(base=8, blocks=1, prior="multigrid", coarse=8)).eval()
    missing, unexpected = with_coarse.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and missing and all(k.startswith("coarse.") for k in missing)
    rgb, known = _case(40, 56)
    x = torch.cat([rgb, 1 - known], dim=1)
    with torch.no_grad():
        assert torch.equal(plain(x), with_coarse(x))


@pytest.mark.parametrize("size", [(13, 29), (40, 56), (64, 64), (81, 121)])
def test_residual_has_the_input_size_and_is_zero_on_known_blocks(size):
    h, w = size
    rgb, known = _case(h, w)
    with torch.no_grad():
        fill = PRIORS["multigrid"](rgb, known)
        residual = coarse_residual(_trained_looking(), fill, known)
    assert residual.shape == (1, 3, h, w)
    hole = 1 - known
    # bilinear upsampling reaches at most one low-res block (4 px) beyond the hole's blocks
    near = torch.nn.functional.max_pool2d(hole, 4 * COARSE_FACTOR + 1, 1, 2 * COARSE_FACTOR)
    assert float(residual.abs().amax()) > 1e-3
    assert float((residual * (1 - near)).abs().amax()) == 0


def test_low_res_inputs_mark_partly_hole_blocks_as_hole_and_average_the_fill():
    fill = torch.arange(64.0).reshape(1, 1, 8, 8).expand(1, 3, 8, 8) / 64
    known = torch.ones(1, 1, 8, 8)
    known[..., 5, 6] = 0  # one pixel: its whole 4x4 block becomes hole
    small, hole = coarse_inputs(fill, known)
    assert hole.shape == (1, 1, 2, 2)
    assert hole[0, 0].tolist() == [[0, 0], [0, 1]]
    for i, j in [(0, 0), (1, 0), (1, 1)]:  # every block, the hole's too: the fill's mean
        block = fill[0, 0, 4 * i : 4 * i + 4, 4 * j : 4 * j + 4]
        assert torch.allclose(small[0, 0, i, j], block.mean())


def test_corrector_without_a_prior_is_refused():
    with pytest.raises(ValueError, match="needs a prior"):
        InpaintNet(NetConfig(base=8, blocks=1, prior="none", coarse=8))


def test_depth_weight_fades_the_residual_in_from_the_rim():
    hole = torch.zeros(1, 1, 40, 48)
    hole[..., 4:36, 4:44] = 1  # a 32 x 40 px box, aligned to the 4 px blocks
    hole[..., 37:40, :] = 1  # a 3 px scratch
    w = depth_weight(hole)[0, 0]
    assert float(w[hole[0, 0] == 0].abs().max()) == 0
    assert 0 < float(w[4, 20]) < 0.35  # rim of the box
    assert float(w[20, 24]) == pytest.approx(1.0)  # deep inside
    column = w[4:20, 24]
    assert bool((column[1:] >= column[:-1]).all())  # rises from the rim inwards
    assert float(w[37:40].max()) < 0.07  # a scratch keeps (nearly) its own full-size fill
