"""DCGAN weight init statistics and the spectral norm switch."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from ganforge.nn import init_dcgan_weights_, maybe_spectral_norm


def test_dcgan_init_statistics():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(64, 128, 4), nn.BatchNorm2d(4096), nn.ConvTranspose2d(128, 64, 4), nn.Linear(256, 256)
    )
    init_dcgan_weights_(model)
    for layer in (model[0], model[2], model[3]):
        w = layer.weight
        assert abs(w.mean().item()) < 1e-3, type(layer).__name__
        assert w.std().item() == pytest.approx(0.02, rel=0.02), type(layer).__name__
    assert torch.equal(model[0].bias, torch.zeros(128)) and torch.equal(model[3].bias, torch.zeros(256))
    bn = model[1]
    assert bn.weight.mean().item() == pytest.approx(1.0, abs=2e-3)
    assert bn.weight.std().item() == pytest.approx(0.02, rel=0.1)
    assert torch.equal(bn.bias, torch.zeros(4096))


def test_init_refuses_spectrally_normalized_weights():
    layer = maybe_spectral_norm(nn.Linear(3, 3), True)
    with pytest.raises(RuntimeError, match="before maybe_spectral_norm"):
        init_dcgan_weights_(layer)


def test_maybe_spectral_norm():
    plain = nn.Conv2d(2, 3, 3)
    assert maybe_spectral_norm(plain, False) is plain and not parametrize.is_parametrized(plain)
    wrapped = maybe_spectral_norm(nn.Linear(8, 4), True)
    assert parametrize.is_parametrized(wrapped, "weight")
    with torch.no_grad():
        wrapped.parametrizations.weight.original.mul_(10.0)
    for _ in range(20):  # power iteration runs once per train-mode forward
        wrapped(torch.randn(1, 8))
    assert torch.linalg.matrix_norm(wrapped.weight, ord=2).item() == pytest.approx(1.0, abs=1e-3)
