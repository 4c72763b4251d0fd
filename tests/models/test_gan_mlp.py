"""The MLP GAN (Goodfellow et al. 2014): shapes, conditional paths, spectral norm."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from ganforge.errors import ConfigError
from ganforge.models.gan_mlp import MLPDiscriminator, MLPGenerator


@pytest.mark.parametrize("num_classes", [0, 10])
def test_default_shapes(num_classes):
    G = MLPGenerator(num_classes=num_classes)
    D = MLPDiscriminator(num_classes=num_classes)
    labels = torch.arange(3) if num_classes else None
    images = G(torch.randn(3, 100), labels)
    assert images.shape == (3, 1, 28, 28) and images.abs().max() <= 1
    assert D(images, labels).shape == (3,)


def test_layers_and_hidden():
    G = MLPGenerator(z_dim=10, img_channels=3, img_size=8, hidden=32, layers=4)
    linears = [m for m in G.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(10, 32)] + [(32, 32)] * 3 + [(32, 192)]
    assert isinstance(G.net[-1], nn.Tanh)


def test_conditional_generator_depends_on_labels():
    G = MLPGenerator(z_dim=8, img_size=4, hidden=16, num_classes=3)
    images = G(torch.randn(1, 8).expand(3, 8), torch.arange(3))
    assert not torch.allclose(images[0], images[1]) and not torch.allclose(images[1], images[2])


def test_projection_discriminator_is_linear_plus_inner_product():
    D = MLPDiscriminator(img_size=4, hidden=16, num_classes=3, dropout=0.0)
    x = torch.randn(1, 1, 4, 4).expand(3, 1, 4, 4)
    logits = D(x, torch.arange(3))
    assert logits.unique().numel() == 3
    h = D.features(x.flatten(1))
    torch.testing.assert_close(logits, D.head(h).squeeze(1) + (D.class_embed.weight * h).sum(1))


def test_spectral_norm_and_dropout_options():
    D = MLPDiscriminator(img_size=4, hidden=16, num_classes=2, spectral_norm=True, dropout=0.0)
    layers = [m for m in D.modules() if isinstance(m, nn.Linear | nn.Embedding)]
    assert len(layers) == 5 and all(parametrize.is_parametrized(m, "weight") for m in layers)
    assert not any(isinstance(m, nn.Dropout) for m in D.modules())
    assert any(isinstance(m, nn.Dropout) for m in MLPDiscriminator(img_size=4, hidden=8).modules())


def test_bad_arguments_raise():
    with pytest.raises(ConfigError, match="dropout"):
        MLPDiscriminator(dropout=1.0)
    with pytest.raises(ConfigError, match="num_classes"):
        MLPGenerator(num_classes=-1)
    with pytest.raises(ValueError, match=r"z of shape \(B, 100\)"):
        MLPGenerator()(torch.randn(2, 64))
    with pytest.raises(ValueError, match=r"images of shape \(B, 1, 28, 28\)"):
        MLPDiscriminator()(torch.randn(2, 1, 32, 32))
