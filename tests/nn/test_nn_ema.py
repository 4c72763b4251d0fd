"""update_ema: the lerp formula after one and two steps, BatchNorm statistics averaged, other buffers
copied, structure checked."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from ganforge.nn import update_ema


def _tiny() -> nn.Module:
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(1.0)
    return model


def test_update_ema_math_and_buffers():
    model = _tiny()
    ema = copy.deepcopy(model)
    decay = 0.9

    with torch.no_grad():
        for p in model.parameters():
            p.fill_(3.0)
    model(torch.tensor([[1.0, 2.0], [3.0, 5.0]]))  # train mode: moves the BatchNorm running stats
    # the Linear gives rows 3*(1+2)+3 = 12 and 3*(3+5)+3 = 27 in both units: batch mean 19.5, unbiased
    # variance 112.5; momentum 0.1 moves the running stats from (0, 1) to (1.95, 12.15)
    assert torch.allclose(model[1].running_mean, torch.full((2,), 1.95))
    assert torch.allclose(model[1].running_var, torch.full((2,), 12.15))
    update_ema(ema, model, decay)
    first = 0.9 * 1.0 + 0.1 * 3.0  # 1.2
    for p in ema.parameters():
        assert torch.allclose(p, torch.full_like(p, first))
    # running statistics are averaged like the weights; the counter is copied
    assert torch.allclose(ema[1].running_mean, torch.full((2,), 0.9 * 0.0 + 0.1 * 1.95))
    assert torch.allclose(ema[1].running_var, torch.full((2,), 0.9 * 1.0 + 0.1 * 12.15))
    assert ema[1].num_batches_tracked.item() == 1

    with torch.no_grad():
        for p in model.parameters():
            p.fill_(-1.0)
    update_ema(ema, model, decay)
    second = 0.9 * first + 0.1 * -1.0  # 0.98
    for p in ema.parameters():
        assert torch.allclose(p, torch.full_like(p, second))
    # The model itself is untouched, and no autograd history is recorded on the EMA copy.
    assert all(torch.equal(p, torch.full_like(p, -1.0)) for p in model.parameters())
    assert all(p.grad_fn is None for p in ema.parameters())


def test_update_ema_edge_decays_and_errors():
    model, ema = _tiny(), _tiny()
    with torch.no_grad():
        model[0].weight.fill_(5.0)
    update_ema(ema, model, 1.0)
    assert torch.equal(ema[0].weight, torch.ones(2, 2))
    update_ema(ema, model, 0.0)
    assert torch.equal(ema[0].weight, torch.full((2, 2), 5.0))
    with pytest.raises(ValueError, match="decay"):
        update_ema(ema, model, 1.5)
    with pytest.raises(ValueError, match="differ in structure"):
        update_ema(nn.Linear(2, 2), model, 0.9)


def test_non_batchnorm_buffers_are_copied():
    """Spectral norm's power-iteration vector must stay the live one (an average is not a unit vector)."""
    model = nn.utils.parametrizations.spectral_norm(nn.Linear(3, 3))
    ema = copy.deepcopy(model)
    model(torch.randn(2, 3))  # train mode: one power iteration moves u and v
    update_ema(ema, model, 0.9)
    for (name, b_ema), b in zip(ema.named_buffers(), model.buffers(), strict=True):
        assert torch.equal(b_ema, b), name
    assert len(list(model.buffers())) >= 2


def test_decay_zero_copies_the_statistics():
    model, ema = _tiny(), _tiny()
    model(torch.tensor([[1.0, 2.0], [3.0, 5.0]]))
    update_ema(ema, model, 0.0)
    for (name, b_ema), b in zip(ema.named_buffers(), model.buffers(), strict=True):
        assert torch.equal(b_ema, b), name
