"""The semi-supervised GAN's discriminator, which is also a classifier (Odena 2016, "Semi-Supervised
Learning with Generative Adversarial Networks"; Salimans et al. 2016, "Improved Techniques for
Training GANs").

One network gives K+1 logits for an image: one per class and one for "fake". With
``fake_logit="zero"`` the fake logit is fixed at 0; a softmax does not change when every logit moves
by the same amount, so this loses nothing (Salimans et al. 2016, section 5), and
p(real | x) = Z / (Z + 1) with Z = sum_k exp(l_k). With ``fake_logit="learned"`` the head has K+1
outputs, as in Odena 2016. Called like any discriminator, ``C(images)`` returns the real-vs-fake logit
log Z - l_fake (B,); ``C.outputs(images)`` returns the K+1 logits and the features that feature
matching compares.

Two networks: `sgan.C`, convolutional (two stages of conv3x3 + conv3x3 stride 2 with LeakyReLU(0.2)
and dropout, a last conv3x3, global average pooling to the features (B, F), a linear head), and
`sgan.C_mlp`, fully connected like the MNIST discriminator of Salimans et al. 2016. Both add Gaussian
noise to their input in training. There is no BatchNorm: real, labeled and generated images pass
through C together, and batch statistics would mix them (and make test-time predictions depend on
running averages taken partly over fakes).
"""

from __future__ import annotations

from typing import TypeVar

import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from ganforge.errors import ConfigError
from ganforge.nn.examples import ImageInputs, NoiseInputs
from ganforge.nn.layers import check_images, check_labels
from ganforge.registry import MODELS

FAKE_LOGITS = ("zero", "learned")
M = TypeVar("M", bound=nn.Module)


class KPlusOneClassifier(ImageInputs, nn.Module):
    """What both classifier-discriminators share: the K+1 logits, the class logits and the D contract.
    A subclass builds `self.body` (images -> features (B, F)) and `self.head` (features -> logits)."""

    body: nn.Module
    head: nn.Linear
    head_dropout: nn.Module

    def _setup(
        self,
        img_channels: int,
        img_size: int,
        classes: int,
        fake_logit: str,
        dropout: float,
        input_noise: float,
    ) -> None:
        if img_channels < 1 or img_size < 4:
            raise ConfigError(f"img_channels must be >= 1 and img_size >= 4, got {img_channels}, {img_size}")
        if classes < 2:
            raise ConfigError(f"a classifier needs at least 2 classes, got {classes}")
        if fake_logit not in FAKE_LOGITS:
            raise ConfigError(f"fake_logit must be one of {', '.join(FAKE_LOGITS)}, got {fake_logit!r}")
        if not 0.0 <= dropout < 1.0 or input_noise < 0:
            raise ConfigError(
                f"dropout must lie in [0, 1) and input_noise be >= 0, got {dropout}, {input_noise}"
            )
        self.img_channels = img_channels
        self.img_size = img_size
        self.classes = classes
        self.fake_logit = fake_logit
        self.input_noise = input_noise

    def outputs(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits (B, K+1) with the fake logit last, features (B, F)) for images (B, C, H, W)."""
        check_images(images, self.img_channels, self.img_size, type(self).__name__)
        if self.training and self.input_noise > 0:
            images = images + self.input_noise * torch.randn_like(images)
        features = self.body(images)  # (B, F)
        logits = self.head(self.head_dropout(features))  # (B, K) or (B, K+1)
        if self.fake_logit == "zero":
            logits = torch.cat([logits, logits.new_zeros(logits.shape[0], 1)], dim=1)  # (B, K+1)
        return logits, features

    def class_logits(self, images: torch.Tensor) -> torch.Tensor:
        """The K class logits (B, K); their softmax is p(class | x, x is real)."""
        return self.outputs(images)[0][:, : self.classes]

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The real-vs-fake logit log(sum_k exp l_k) - l_fake (B,), as every discriminator returns."""
        check_labels(labels, 0, images.shape[0], type(self).__name__)
        return real_logit(self.outputs(images)[0])


class GaussianNoise(nn.Module):
    """Adds N(0, std^2) noise in training only (Salimans et al. 2016's discriminators); identity at std 0."""

    def __init__(self, std: float):
        super().__init__()
        self.std = std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.std * torch.randn_like(x) if self.training and self.std > 0 else x


class GlobalAveragePool(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))  # (B, C, H, W) -> (B, C)


@MODELS.register("sgan.C", tiny=dict(img_channels=1, img_size=8, classes=3, base_channels=4))
class SGANConvClassifier(KPlusOneClassifier):
    """Convolutional K+1-way classifier-discriminator: images (B, C, H, W) -> real-vs-fake logit (B,).

    Args:
        img_channels: channels of the input images.
        img_size: input side (any size >= 4; the features are globally pooled).
        classes: K, the number of real classes (>= 2).
        base_channels: width of the first stage; the second stage and the features are twice as wide.
        fake_logit: "zero" (Salimans et al. 2016) or "learned" (an explicit K+1-th output, Odena 2016).
        dropout: dropout probability after each stride-2 stage (training only).
        input_noise: std of Gaussian noise added to the input images in training; 0 turns it off.
        weight_norm: weight normalization on every layer (Salimans & Kingma 2016), as Salimans et al.
            2016 use in their discriminators.
    """

    def __init__(
        self,
        img_channels: int = 1,
        img_size: int = 32,
        classes: int = 10,
        base_channels: int = 32,
        fake_logit: str = "zero",
        dropout: float = 0.5,
        input_noise: float = 0.0,
        weight_norm: bool = False,
    ):
        super().__init__()
        self._setup(img_channels, img_size, classes, fake_logit, dropout, input_noise)
        if base_channels < 1:
            raise ConfigError(f"base_channels must be >= 1, got {base_channels}")
        c1, c2 = base_channels, 2 * base_channels

        def conv(c_in: int, c_out: int, stride: int = 1) -> list[nn.Module]:
            return [maybe_weight_norm(nn.Conv2d(c_in, c_out, 3, stride, 1), weight_norm), nn.LeakyReLU(0.2)]

        self.body = nn.Sequential(
            *conv(img_channels, c1),
            *conv(c1, c1, stride=2),  # (B, c1, H/2, W/2)
            nn.Dropout(dropout),
            *conv(c1, c2),
            *conv(c2, c2, stride=2),  # (B, c2, H/4, W/4)
            nn.Dropout(dropout),
            *conv(c2, c2),
            GlobalAveragePool(),  # (B, c2)
        )
        self.feature_dim = c2
        self.head_dropout = nn.Identity()
        self.head = maybe_weight_norm(nn.Linear(c2, classes + (fake_logit == "learned")), weight_norm)


@MODELS.register("sgan.C_mlp", tiny=dict(img_channels=1, img_size=6, classes=3, hidden=16, layers=2))
class SGANMLPClassifier(KPlusOneClassifier):
    """Fully connected K+1-way classifier-discriminator, the kind Salimans et al. 2016 use on MNIST:
    images (B, C, H, W) -> real-vs-fake logit (B,). Much cheaper than the conv version on a CPU.

    Args:
        img_channels, img_size: the input images are (img_channels, img_size, img_size).
        classes: K, the number of real classes (>= 2).
        hidden: units in every hidden layer; the last hidden layer gives the features.
        layers: hidden layers, each Linear + LeakyReLU(0.2), with dropout before every Linear but the
            first (the features that feature matching compares are the last layer's, before dropout).
        fake_logit, dropout, input_noise, weight_norm: as for `sgan.C`.
        hidden_noise: std of Gaussian noise added to every hidden layer's output (and so to the head's
            input) in training; Salimans et al. 2016's MNIST discriminator uses 0.5 there (with 0.3 on
            the input) and no dropout. The features that feature matching compares are taken before it.
    """

    def __init__(
        self,
        img_channels: int = 1,
        img_size: int = 28,
        classes: int = 10,
        hidden: int = 512,
        layers: int = 3,
        fake_logit: str = "zero",
        dropout: float = 0.3,
        input_noise: float = 0.3,
        weight_norm: bool = False,
        hidden_noise: float = 0.0,
    ):
        super().__init__()
        self._setup(img_channels, img_size, classes, fake_logit, dropout, input_noise)
        if hidden < 1 or layers < 1:
            raise ConfigError(f"hidden and layers must be >= 1, got hidden={hidden}, layers={layers}")
        if hidden_noise < 0:
            raise ConfigError(f"hidden_noise must be >= 0, got {hidden_noise}")
        blocks: list[nn.Module] = [nn.Flatten()]  # (B, C * H * W)
        width = img_channels * img_size * img_size
        # the noise modules exist only when asked for, so that older bundles' layer indices still load
        noise = [GaussianNoise(hidden_noise)] if hidden_noise > 0 else []
        for i in range(layers):
            blocks += [nn.Dropout(dropout), *noise] if i else []
            blocks += [maybe_weight_norm(nn.Linear(width, hidden), weight_norm), nn.LeakyReLU(0.2)]
            width = hidden
        self.body = nn.Sequential(*blocks)
        self.feature_dim = hidden
        self.head_dropout = nn.Sequential(nn.Dropout(dropout), *noise) if noise else nn.Dropout(dropout)
        self.head = maybe_weight_norm(nn.Linear(hidden, classes + (fake_logit == "learned")), weight_norm)


@MODELS.register("sgan.G_mlp", tiny=dict(z_dim=8, img_channels=1, img_size=6, hidden=16, layers=2))
class SGANMLPGenerator(NoiseInputs, nn.Module):
    """Fully connected generator with BatchNorm, the kind Salimans et al. 2016 pair with their MNIST
    discriminator: z (B, z_dim) -> [Linear, BatchNorm, ReLU] x layers -> Linear -> tanh -> (B, C, H, W).

    Args:
        z_dim: length of the noise vector.
        img_channels, img_size: the output images are (img_channels, img_size, img_size).
        hidden: units in every hidden layer.
        layers: hidden layers.
    """

    def __init__(
        self, z_dim: int = 100, img_channels: int = 1, img_size: int = 28, hidden: int = 500, layers: int = 2
    ):
        super().__init__()
        if min(z_dim, img_channels, img_size, hidden, layers) < 1:
            raise ConfigError(
                f"z_dim, img_channels, img_size, hidden and layers must be >= 1, got "
                f"{z_dim}, {img_channels}, {img_size}, {hidden}, {layers}"
            )
        self.z_dim = z_dim
        self.img_channels = img_channels
        self.img_size = img_size
        self.num_classes = 0  # unconditional: the classes live in the discriminator
        blocks: list[nn.Module] = []
        width = z_dim
        for _ in range(layers):
            blocks += [nn.Linear(width, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU()]
            width = hidden
        blocks += [nn.Linear(width, img_channels * img_size * img_size), nn.Tanh()]
        self.net = nn.Sequential(*blocks)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"SGANMLPGenerator expects z of shape (B, {self.z_dim}), got {tuple(z.shape)}")
        check_labels(labels, 0, z.shape[0], "SGANMLPGenerator")
        flat = self.net(z)  # (B, C * H * W)
        return flat.view(-1, self.img_channels, self.img_size, self.img_size)  # (B, C, H, W)


def maybe_weight_norm(layer: M, enabled: bool) -> M:
    """`layer` with weight normalization (Salimans & Kingma 2016) when `enabled`."""
    return weight_norm(layer) if enabled else layer


def real_logit(logits: torch.Tensor) -> torch.Tensor:
    """The binary logit of "real" from K+1 logits (B, K+1), fake last: log sum_k exp(l_k) - l_fake.

    sigmoid of it is p(real | x) = sum_k p(k | x), the K+1-way softmax mass on the real classes.
    """
    return torch.logsumexp(logits[:, :-1], dim=1) - logits[:, -1]
