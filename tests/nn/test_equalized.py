"""Equalized learning rate, pixel norm and minibatch standard deviation (Karras et al. 2017)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganforge.nn.equalized import EqualizedConv2d, EqualizedLinear, MinibatchStdDev, pixel_norm


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny layers run faster on one thread than on two contended ones."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_linear_weight_scaling_is_he_constant_times_lr_mul():
    torch.manual_seed(0)
    layer = EqualizedLinear(64, 256, gain=2.0, lr_mul=0.5, bias_init=1.0)
    assert layer.weight_scale == pytest.approx(2.0 * 0.5 / math.sqrt(64))
    # stored weights are N(0, 1 / lr_mul**2); the bias is stored divided by lr_mul
    assert layer.weight.std().item() == pytest.approx(2.0, rel=0.05)
    assert torch.allclose(layer.bias, torch.full((256,), 2.0))
    x = torch.randn(5, 64)
    expected = F.linear(x, layer.weight * layer.weight_scale, layer.bias * 0.5)
    assert torch.allclose(layer(x), expected)
    assert torch.allclose(layer(torch.zeros(1, 64)), torch.ones(1, 256))  # effective bias starts at 1


@pytest.mark.parametrize("gain", [1.0, math.sqrt(2.0)])
def test_conv_output_variance_is_gain_squared(gain):
    torch.manual_seed(0)
    conv = EqualizedConv2d(128, 64, 3, gain=gain)
    assert conv.weight_scale == pytest.approx(gain / math.sqrt(128 * 9))
    y = conv(torch.randn(16, 128, 12, 12))[:, :, 1:-1, 1:-1]  # interior: no zero padding in the window
    assert y.shape[1] == 64
    assert y.var().item() == pytest.approx(gain**2, rel=0.1)


def relative_step(layer: nn.Module, x: torch.Tensor, lr: float = 1e-3) -> float:
    """|change of the effective weight| / |effective weight| after one Adam step."""

    def effective() -> torch.Tensor:
        return (
            (layer.effective_weight() if hasattr(layer, "effective_weight") else layer.weight)
            .detach()
            .clone()
        )

    before = effective()
    opt = torch.optim.Adam(layer.parameters(), lr=lr)
    layer(x).square().mean().backward()
    opt.step()
    return ((effective() - before).norm() / before.norm()).item()


def test_equalized_layers_learn_at_the_same_relative_speed_whatever_their_fan_in():
    """The point of equalized lr: Adam steps move every layer by the same fraction of its weights.
    With He-initialized plain layers the narrow layer moves sqrt(1024 / 16) = 8 times less."""
    torch.manual_seed(0)
    small, large = torch.randn(32, 16), torch.randn(32, 1024)
    eq = relative_step(EqualizedLinear(16, 64), small) / relative_step(EqualizedLinear(1024, 64), large)
    assert eq == pytest.approx(1.0, rel=0.1)
    plain_small, plain_large = nn.Linear(16, 64), nn.Linear(1024, 64)
    for layer in (plain_small, plain_large):
        nn.init.normal_(layer.weight, 0.0, 1.0 / math.sqrt(layer.in_features))
    plain = relative_step(plain_small, small) / relative_step(plain_large, large)
    assert plain == pytest.approx(1 / 8, rel=0.15)


def test_pixel_norm_gives_unit_mean_square_per_pixel():
    x = torch.randn(3, 7, 5, 5) * 4 + 1
    y = pixel_norm(x)
    assert torch.allclose(y.square().mean(dim=1), torch.ones(3, 5, 5), atol=1e-5)
    assert torch.allclose(y * x.square().mean(dim=1, keepdim=True).sqrt(), x, atol=1e-4)


def test_minibatch_stddev_matches_a_direct_computation():
    torch.manual_seed(0)
    x = torch.randn(8, 6, 3, 3)
    y = MinibatchStdDev(group_size=4)(x)
    assert y.shape == (8, 7, 3, 3)
    assert torch.equal(y[:, :6], x)
    for members in ([0, 2, 4, 6], [1, 3, 5, 7]):  # image i is in group i % (B / group_size)
        group = x[members]
        expected = (group.var(dim=0, unbiased=False) + 1e-8).sqrt().mean()
        for i in members:
            assert torch.allclose(y[i, 6], torch.full((3, 3), expected.item()), atol=1e-6)


def test_minibatch_stddev_any_batch_size_and_identical_images():
    x = torch.randn(1, 4, 2, 2).repeat(6, 1, 1, 1)  # 6 is not a multiple of 4: groups of 3
    y = MinibatchStdDev(group_size=4)(x)
    assert y.shape == (6, 5, 2, 2)
    assert torch.allclose(y[:, 4], torch.full((6, 2, 2), 1e-4))  # no variety: sqrt(eps)
    assert MinibatchStdDev(4)(torch.randn(1, 2, 4, 4)).shape == (1, 3, 4, 4)
