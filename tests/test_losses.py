"""Adversarial losses vs hand-computed values; gradient penalties vs their closed forms on linear critics."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ganforge.errors import ConfigError
from ganforge.losses import (
    ADVERSARIAL_LOSSES,
    AdversarialLoss,
    get_adversarial_loss,
    gradient_penalty,
    r1_penalty,
)

REAL = torch.tensor([1.0, -2.0])
FAKE = torch.tensor([0.5, 3.0])


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


# (d_loss, g_loss) for REAL and FAKE, written out term by term.
EXPECTED = {
    "ns": (
        (softplus(-1.0) + softplus(2.0)) / 2 + (softplus(0.5) + softplus(3.0)) / 2,
        (softplus(-0.5) + softplus(-3.0)) / 2,
    ),
    "hinge": (
        (max(0, 1 - 1.0) + max(0, 1 + 2.0)) / 2 + (max(0, 1 + 0.5) + max(0, 1 + 3.0)) / 2,  # 1.5 + 2.75
        -(0.5 + 3.0) / 2,
    ),
    "lsgan": (
        0.5 * ((1.0 - 1) ** 2 + (-2.0 - 1) ** 2) / 2 + 0.5 * (0.5**2 + 3.0**2) / 2,
        0.5 * ((0.5 - 1) ** 2 + (3.0 - 1) ** 2) / 2,
    ),
    "wgan": ((0.5 + 3.0) / 2 - (1.0 - 2.0) / 2, -(0.5 + 3.0) / 2),
}


def test_registry_names():
    assert set(ADVERSARIAL_LOSSES) == {"ns", "hinge", "lsgan", "wgan"}
    for name in ADVERSARIAL_LOSSES:
        loss = get_adversarial_loss(name)
        assert isinstance(loss, AdversarialLoss) and loss.name == name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_known_values(name):
    loss = get_adversarial_loss(name)
    d_expected, g_expected = EXPECTED[name]
    d = loss.d_loss(REAL, FAKE)
    g = loss.g_loss(FAKE)
    assert d.shape == () and g.shape == ()
    assert torch.allclose(d, torch.tensor(d_expected))
    assert torch.allclose(g, torch.tensor(g_expected))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sign_conventions(name):
    """A D that scores reals high and fakes low has the lower D loss; G gains when D is fooled."""
    loss = get_adversarial_loss(name)
    confident, fooled = torch.tensor([1.0, 1.2]), torch.tensor([-1.0, -1.2])
    assert loss.d_loss(confident, fooled) < loss.d_loss(fooled, confident)
    assert loss.g_loss(confident) < loss.g_loss(fooled)


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(
        ConfigError, match=r"unknown adversarial loss 'wgan-gp'; valid names: ns, hinge, lsgan, wgan"
    ):
        get_adversarial_loss("wgan-gp")


class LinearCritic(nn.Module):
    """D(x) = <w, flatten(x)> + b (+ a per-class offset), whose input gradient is w everywhere."""

    def __init__(self, weight: torch.Tensor):
        super().__init__()
        self.weight = nn.Parameter(weight.clone())
        self.class_bias = nn.Parameter(torch.tensor([0.0, 5.0]))

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        out = x.flatten(1) @ self.weight.flatten() + 0.3
        return out if labels is None else out + self.class_bias[labels]


def test_gradient_penalty_on_linear_critic():
    w = torch.tensor([[[[0.5, -1.0], [2.0, 0.25]]]])  # (1, 1, 2, 2), ||w|| = sqrt(5.3125)
    D = LinearCritic(w)
    real, fake = torch.randn(3, 1, 2, 2), torch.randn(3, 1, 2, 2)
    gp = gradient_penalty(D, real, fake, generator=torch.Generator().manual_seed(0))
    expected = (w.norm() - 1) ** 2
    assert torch.allclose(gp, expected)
    # create_graph=True: the penalty backpropagates into D, d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    gp.backward()
    assert torch.allclose(D.weight.grad, 2 * (w.norm() - 1) * w / w.norm())
    # labels are passed through to D
    labelled = gradient_penalty(D, real, fake, labels=torch.tensor([0, 1, 1]))
    assert torch.allclose(labelled, expected)


def test_gradient_penalty_alpha_comes_from_generator():
    seen = []

    def D(x):
        seen.append(x.detach().clone())
        return (x**2).flatten(1).sum(1)

    real, fake = torch.ones(4, 1, 2, 2), torch.zeros(4, 1, 2, 2)
    a = gradient_penalty(D, real, fake, generator=torch.Generator().manual_seed(7))
    b = gradient_penalty(D, real, fake, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b) and torch.equal(seen[0], seen[1])
    alpha = torch.rand(4, 1, 1, 1, generator=torch.Generator().manual_seed(7))
    assert torch.allclose(seen[0], alpha.expand(4, 1, 2, 2))  # x_hat = alpha * 1 + (1 - alpha) * 0
    # grad = 2 x_hat, so ||grad|| = 2 * alpha * 2 (four entries)
    assert torch.allclose(a, ((4 * alpha.flatten()) - 1).square().mean())


def test_r1_penalty_on_linear_critic():
    w = torch.tensor([[[[0.5, -1.0], [2.0, 0.25]]]])
    D = LinearCritic(w)
    real = torch.randn(3, 1, 2, 2).requires_grad_(True)
    r1 = r1_penalty(D(real), real)
    assert torch.allclose(r1, w.square().sum())
    r1.backward()
    assert torch.allclose(D.weight.grad, 2 * w)  # d/dw ||w||^2


def test_r1_penalty_is_per_sample_sum_then_batch_mean():
    real = torch.tensor([[1.0, 2.0], [3.0, 0.0]], requires_grad=True)
    logits = (real**2).sum(1)  # grad = 2 x: per-sample squared norms 4*5 = 20 and 4*9 = 36
    assert torch.allclose(r1_penalty(logits, real), torch.tensor(28.0))


def test_r1_penalty_needs_requires_grad():
    real = torch.randn(2, 1, 2, 2)
    with pytest.raises(ValueError, match=r"requires_grad_\(True\)"):
        r1_penalty(real.sum((1, 2, 3)), real)


def test_mode_seeking_pairs_are_the_batch_halves():
    from ganforge.losses import mode_seeking_ratio, paired_labels

    assert paired_labels(torch.tensor([3, 1, 4, 1, 5])).tolist() == [3, 1, 4, 3, 1]  # odd: 5 -> halves 3 + 2
    assert paired_labels(torch.tensor([2, 7, 1, 8])).tolist() == [2, 7, 2, 7]
    z = torch.tensor([[0.0], [1.0], [2.0], [4.0]])  # pairs (0, 2) and (1, 3): |dz| 2 and 3
    fake = torch.tensor([[0.0, 0.0], [1.0, 1.0], [1.0, 3.0], [1.0, 1.0]])  # |dx| 2, 2 and 0, 0
    assert float(mode_seeking_ratio(fake, z)) == pytest.approx((4 / 4) / (5 / 2))
    assert float(mode_seeking_ratio(torch.ones(4, 3), z)) == 0.0  # images that ignore z
