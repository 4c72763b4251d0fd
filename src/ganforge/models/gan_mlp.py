"""The original GAN: fully connected generator and discriminator (Goodfellow et al. 2014).

Both networks are plain MLPs with LeakyReLU(0.2) hidden layers; the generator ends in tanh and the
discriminator in one raw logit. Class-conditional variants (``num_classes > 0``): the generator
concatenates a learned label embedding to z (Mirza & Osindero 2014), and the discriminator adds the
projection term ``<embed(y), h>`` to its logit (Miyato & Koyama 2018).
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.errors import ConfigError
from ganforge.nn.examples import ImageInputs, NoiseInputs
from ganforge.nn.layers import check_images, check_labels, maybe_spectral_norm
from ganforge.registry import MODELS


def _check_common(img_channels: int, img_size: int, hidden: int, layers: int, num_classes: int) -> None:
    if img_channels < 1 or img_size < 1:
        raise ConfigError(f"img_channels and img_size must be >= 1, got {img_channels} and {img_size}")
    if hidden < 1 or layers < 1:
        raise ConfigError(f"hidden and layers must be >= 1, got hidden={hidden}, layers={layers}")
    if num_classes < 0:
        raise ConfigError(f"num_classes must be >= 0 (0: unconditional), got {num_classes}")


@MODELS.register("gan_mlp.G", tiny=dict(z_dim=8, img_channels=1, img_size=6, hidden=16, layers=2))
class MLPGenerator(NoiseInputs, nn.Module):
    """MLP generator: z (B, z_dim) [+ labels (B,)] -> images (B, C, H, W) in [-1, 1].

    Args:
        z_dim: length of the noise vector.
        img_channels, img_size: output images are (img_channels, img_size, img_size).
        hidden: width of every hidden layer.
        layers: number of hidden layers (each Linear + LeakyReLU 0.2), before the output Linear + tanh.
        num_classes: 0 for unconditional; otherwise a label embedding as wide as z is concatenated to z,
            so that label and noise enter with the same width and scale (both ~ N(0, 1) at init).
    """

    def __init__(
        self,
        z_dim: int = 100,
        img_channels: int = 1,
        img_size: int = 28,
        hidden: int = 256,
        layers: int = 3,
        num_classes: int = 0,
    ):
        super().__init__()
        _check_common(img_channels, img_size, hidden, layers, num_classes)
        if z_dim < 1:
            raise ConfigError(f"z_dim must be >= 1, got {z_dim}")
        self.z_dim = z_dim
        self.img_channels = img_channels
        self.img_size = img_size
        self.num_classes = num_classes

        self.label_embed = nn.Embedding(num_classes, z_dim) if num_classes else None
        blocks: list[nn.Module] = []
        width = z_dim * 2 if num_classes else z_dim
        for _ in range(layers):
            blocks += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
            width = hidden
        blocks += [nn.Linear(width, img_channels * img_size * img_size), nn.Tanh()]
        self.net = nn.Sequential(*blocks)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"MLPGenerator expects z of shape (B, {self.z_dim}), got {tuple(z.shape)}")
        check_labels(labels, self.num_classes, z.shape[0], "MLPGenerator")
        if self.label_embed is not None:
            z = torch.cat([z, self.label_embed(labels)], dim=1)  # (B, 2 * z_dim)
        x = self.net(z)
        return x.view(-1, self.img_channels, self.img_size, self.img_size)  # (B, C, H, W)


@MODELS.register("gan_mlp.D", tiny=dict(img_channels=1, img_size=6, hidden=16, layers=2))
class MLPDiscriminator(ImageInputs, nn.Module):
    """MLP discriminator: images (B, C, H, W) [+ labels (B,)] -> raw logits (B,).

    Args:
        img_channels, img_size: input images are (img_channels, img_size, img_size).
        hidden: width of every hidden layer.
        layers: number of hidden layers (each Linear + LeakyReLU 0.2 + Dropout).
        num_classes: 0 for unconditional; otherwise projection discriminator (Miyato & Koyama 2018):
            ``logit = linear(h) + <embed(y), h>`` on the last hidden features h.
        spectral_norm: spectral normalization on every Linear and the projection embedding
            (Miyato et al. 2018).
        dropout: dropout after each hidden activation; Goodfellow et al. 2014 trained D with dropout.
    """

    def __init__(
        self,
        img_channels: int = 1,
        img_size: int = 28,
        hidden: int = 256,
        layers: int = 3,
        num_classes: int = 0,
        spectral_norm: bool = False,
        dropout: float = 0.3,
    ):
        super().__init__()
        _check_common(img_channels, img_size, hidden, layers, num_classes)
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {dropout}")
        self.img_channels = img_channels
        self.img_size = img_size
        self.num_classes = num_classes

        blocks: list[nn.Module] = []
        width = img_channels * img_size * img_size
        for _ in range(layers):
            blocks += [maybe_spectral_norm(nn.Linear(width, hidden), spectral_norm), nn.LeakyReLU(0.2)]
            if dropout > 0:
                blocks.append(nn.Dropout(dropout))
            width = hidden
        self.features = nn.Sequential(*blocks)
        self.head = maybe_spectral_norm(nn.Linear(hidden, 1), spectral_norm)
        self.class_embed = None
        if num_classes:
            embed = nn.Embedding(num_classes, hidden)
            nn.init.normal_(embed.weight, 0.0, 0.02)  # start with a small class term next to the head
            self.class_embed = maybe_spectral_norm(embed, spectral_norm)

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        check_images(images, self.img_channels, self.img_size, "MLPDiscriminator")
        check_labels(labels, self.num_classes, images.shape[0], "MLPDiscriminator")
        h = self.features(images.flatten(1))  # (B, hidden)
        logits = self.head(h).squeeze(1)  # (B,)
        if self.class_embed is not None:
            logits = logits + (self.class_embed(labels) * h).sum(dim=1)
        return logits
