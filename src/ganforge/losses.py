"""Adversarial losses and gradient regularizers.

Every adversarial loss works on raw discriminator scores (logits, no sigmoid) and has the same two
methods: ``d_loss(real_logits, fake_logits)`` for the discriminator step and ``g_loss(fake_logits)``
for the generator step, each returning a scalar to minimize. Look one up by name with
`get_adversarial_loss` ("ns", "hinge", "lsgan", "wgan"). The regularizers `gradient_penalty` and
`r1_penalty` return the unweighted penalty; the recipe multiplies by its own weight.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ganforge.errors import ConfigError


class AdversarialLoss:
    """Interface: `d_loss` and `g_loss` both return a scalar that their player minimizes."""

    name = ""

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class NonSaturatingLoss(AdversarialLoss):
    """The original GAN loss with the non-saturating generator (Goodfellow et al. 2014).

    D minimizes ``-log sigmoid(real) - log(1 - sigmoid(fake)) = softplus(-real) + softplus(fake)``;
    G minimizes ``-log sigmoid(fake) = softplus(-fake)`` instead of ``log(1 - sigmoid(fake))``, which
    saturates early in training when D easily rejects fakes.
    """

    name = "ns"

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return F.softplus(-fake_logits).mean()


class HingeLoss(AdversarialLoss):
    """Hinge loss (Lim & Ye 2017; Miyato et al. 2018).

    D: ``relu(1 - real) + relu(1 + fake)``; G: ``-fake``.
    """

    name = "hinge"

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return -fake_logits.mean()


class LeastSquaresLoss(AdversarialLoss):
    """Least squares GAN (Mao et al. 2017) with targets a=0 (fake), b=1 (real), c=1 (G's goal).

    D: ``0.5 * (real - 1)**2 + 0.5 * fake**2``; G: ``0.5 * (fake - 1)**2``, on raw scores.
    """

    name = "lsgan"

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return 0.5 * (real_logits - 1.0).square().mean() + 0.5 * fake_logits.square().mean()

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return 0.5 * (fake_logits - 1.0).square().mean()


class WassersteinLoss(AdversarialLoss):
    """Wasserstein GAN critic loss (Arjovsky et al. 2017).

    D (the critic): ``mean(fake) - mean(real)``; G: ``-mean(fake)``. Needs a Lipschitz constraint on D:
    pair it with `gradient_penalty` (Gulrajani et al. 2017) or spectral norm.
    """

    name = "wgan"

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return fake_logits.mean() - real_logits.mean()

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return -fake_logits.mean()


ADVERSARIAL_LOSSES: dict[str, type[AdversarialLoss]] = {
    "ns": NonSaturatingLoss,
    "hinge": HingeLoss,
    "lsgan": LeastSquaresLoss,
    "wgan": WassersteinLoss,
}


def get_adversarial_loss(name: str) -> AdversarialLoss:
    """Return a new instance of the adversarial loss called `name`; raises `ConfigError` if unknown."""
    if name not in ADVERSARIAL_LOSSES:
        valid = ", ".join(ADVERSARIAL_LOSSES)
        raise ConfigError(f"unknown adversarial loss {name!r}; valid names: {valid}")
    return ADVERSARIAL_LOSSES[name]()


def gradient_penalty(
    D: Callable[..., torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    labels: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """WGAN-GP gradient penalty (Gulrajani et al. 2017): ``mean((||grad_x D(x_hat)||_2 - 1)**2)``.

    ``x_hat = alpha * real + (1 - alpha) * fake`` with one ``alpha ~ U[0, 1)`` per sample, drawn from
    `generator` (on its own device, then moved to the data's). The graph is kept (create_graph=True)
    so that the penalty can be backpropagated into D. Returns the unweighted penalty; the paper uses
    lambda = 10. Use it with a discriminator without BatchNorm (e.g. DCGAN ``norm="none"``): the
    penalty is defined per sample.
    """
    if real.shape != fake.shape:
        shapes = f"{tuple(real.shape)} and {tuple(fake.shape)}"
        raise ValueError(f"real and fake must have the same shape, got {shapes}")
    alpha_shape = (real.shape[0],) + (1,) * (real.dim() - 1)  # (B, 1, 1, 1) for images
    draw_device = generator.device if generator is not None else real.device
    alpha = torch.rand(alpha_shape, generator=generator, device=draw_device).to(real.device)
    # in float32 even under bf16 autocast: a gradient norm near 1 needs more than 3 significant digits
    with torch.autocast(real.device.type, enabled=False):
        x_hat = (alpha * real.detach().float() + (1 - alpha) * fake.detach().float()).requires_grad_(True)
        logits = D(x_hat) if labels is None else D(x_hat, labels)
        (grad,) = torch.autograd.grad(logits.float().sum(), x_hat, create_graph=True)
        return (grad.flatten(1).norm(2, dim=1) - 1.0).square().mean()


def r1_penalty(real_logits: torch.Tensor, real_images: torch.Tensor) -> torch.Tensor:
    """R1 penalty (Mescheder et al. 2018): ``mean over the batch of ||grad_x D(x)||_2**2`` on real data.

    `real_images` must have had ``requires_grad_(True)`` set before ``real_logits = D(real_images)``
    was computed, so that the gradient exists. The graph is kept (create_graph=True) so the penalty can
    be backpropagated into D. Returns the unweighted penalty; the paper's regularizer is gamma / 2 times it.
    """
    if not real_images.requires_grad:
        raise ValueError(
            "r1_penalty needs the gradient of D with respect to the real images: call "
            "real_images.requires_grad_(True) before computing real_logits = D(real_images)"
        )
    (grad,) = torch.autograd.grad(real_logits.sum(), real_images, create_graph=True)
    return grad.square().flatten(1).sum(dim=1).mean()


def paired_labels(labels: torch.Tensor) -> torch.Tensor:
    """Labels for a batch whose two halves are the mode-seeking term's pairs: the first half's
    labels, repeated, so image i and image i + h (h = ceil(n / 2)) share a label."""
    return labels[: (len(labels) + 1) // 2].repeat(2)[: len(labels)]


def mode_seeking_ratio(fake: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Mao et al. 2019's ratio of image distance to latent distance between the batch's two halves
    (image i against image i + h, h = ceil(n / 2); an odd batch's middle image has no partner). G
    minimizes weight / (ratio + 1e-5), so images that ignore z cost the most."""
    h = (z.shape[0] + 1) // 2
    m = z.shape[0] - h
    return (fake[:m] - fake[h:]).abs().mean() / (z[:m] - z[h:]).abs().mean()
