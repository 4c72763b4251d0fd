"""The networks of the Domain Transfer Network (Taigman, Polyak & Wolf 2016, "Unsupervised
Cross-Domain Image Generation").

DTN maps a source image x to the target domain as G(x) = g(f(x)): f is a fixed feature encoder
(in the paper's digit experiment a classifier trained on the labelled source domain, SVHN; its
last hidden layer is the representation), g a generator that decodes f's features into a target
image, and D a three-way discriminator telling apart g(f(source)), g(f(target)) and real targets.

- `dtn.F`: the encoder f: conv-BN-ReLU-maxpool blocks down to 4x4, a 4x4 conv to `feature_dim`
  with BatchNorm and tanh, plus a linear classification head used only to pretrain it.
- `dtn.G`: g composed with a copy of f, so a bundle holds one image-to-image model; f is kept in
  eval mode inside it (its BatchNorm statistics are those of pretraining).
- `dtn.D`: strided conv-BN-LeakyReLU blocks down to 4x4 and a 4x4 conv to three logits.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ganforge.data.transforms import LUMA
from ganforge.errors import ConfigError
from ganforge.nn.examples import ImageInputs
from ganforge.nn.layers import init_dcgan_weights_
from ganforge.registry import MODELS

MAX_MULT = 4  # widest layer: 4 x base_channels
CLASSES = ("fake_source", "fake_target", "real_target")  # the discriminator's three outputs, in order


def _stages(img_size: int, model: str) -> int:
    """log2(img_size / 4): the number of 2x steps between img_size and the 4x4 bottleneck."""
    if img_size < 8 or img_size & (img_size - 1):
        raise ConfigError(f"{model} img_size must be a power of two >= 8 (e.g. 32), got {img_size}")
    return img_size.bit_length() - 3


def match_channels(images: torch.Tensor, channels: int) -> torch.Tensor:
    """Gray -> RGB by repeating, RGB -> gray by BT.601 luma (differentiable), so f reads either domain."""
    have = images.shape[1]
    if have == channels:
        return images
    if have == 1 and channels == 3:
        return images.expand(-1, 3, -1, -1)
    if have == 3 and channels == 1:
        weights = images.new_tensor(LUMA).view(1, 3, 1, 1)
        return (images * weights).sum(1, keepdim=True)  # (B, 1, H, W)
    raise ValueError(f"cannot convert {have}-channel images to {channels} channels")


@MODELS.register(
    "dtn.F",
    tiny=dict(in_channels=3, img_size=8, feature_dim=8, base_channels=4, head_classes=3),
    kind="encoder",  # forward(x (B, C, S, S)) -> features (B, feature_dim)
    aux_params=("head.",),  # the pretraining classifier head: not used by forward
)
class DTNEncoder(ImageInputs, nn.Module):
    """f: images (B, in_channels, S, S) -> features (B, feature_dim); `classify` adds the class head.

    Args:
        in_channels: channels it reads (other channel counts are converted by `match_channels`).
        img_size: input side, a power of two >= 8.
        feature_dim: length of the representation f(x) (128 in the paper's digit experiment).
        base_channels: width of the first block; later blocks double it, up to 4x.
        head_classes: outputs of the pretraining classification head (10 for digits); not a
            class condition: f and G take no labels.
    """

    def __init__(
        self,
        in_channels: int = 3,
        img_size: int = 32,
        feature_dim: int = 128,
        base_channels: int = 64,
        head_classes: int = 10,
    ):
        super().__init__()
        stages = _stages(img_size, "dtn.F")
        if min(in_channels, feature_dim, base_channels, head_classes) < 1:
            raise ConfigError("dtn.F in_channels, feature_dim, base_channels and head_classes must be >= 1")
        self.in_channels, self.img_size, self.feature_dim = in_channels, img_size, feature_dim
        self.head_classes = head_classes
        layers: list[nn.Module] = []
        c_in = in_channels
        for i in range(stages):
            c_out = base_channels * min(2**i, MAX_MULT)
            layers += [
                nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),  # halves H and W
            ]
            c_in = c_out
        # Batch-normalized and squashed by tanh: bounded features of a fixed scale, which g decodes
        # and L_CONST compares, whatever domain the image came from.
        layers += [nn.Conv2d(c_in, feature_dim, 4, bias=False), nn.BatchNorm2d(feature_dim), nn.Tanh()]
        # (B, feature_dim, 1, 1)
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(feature_dim, head_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        images = match_channels(images, self.in_channels)
        if tuple(images.shape[2:]) != (self.img_size, self.img_size):
            raise ValueError(
                f"DTNEncoder expects {self.img_size}x{self.img_size} images, got {tuple(images.shape)}"
            )
        return self.body(images).flatten(1)  # (B, feature_dim)

    def classify(self, images: torch.Tensor) -> torch.Tensor:
        """Class logits (B, head_classes): the pretraining task that shapes f's features."""
        return self.head(self(images))


class ExtractorEncoder(nn.Module):
    """f from a `ganforge.metrics` feature extractor (e.g. `digits-lenet`), differentiable end to end.

    The extractor's own `prepare` quantizes to uint8, which would cut the gradient that L_CONST
    sends through f(g(.)); here pixels stay float and are resized with antialiased bilinear.
    The architecture is built untrained; the recipe copies the extractor's real weights in.
    """

    def __init__(self, name: str, img_size: int):
        super().__init__()
        try:
            from ganforge.metrics.features import EXTRACTORS
        except ImportError:
            raise ConfigError(f"encoder {name!r} needs ganforge.metrics, which is not installed") from None
        self.net = EXTRACTORS.get(name)(weights=None, random_init=True)
        self.in_channels, self.img_size = self.net.channels, img_size
        self.feature_dim = self.net.feature_dim

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        pixels = (match_channels(images.float(), self.net.channels) + 1) * 127.5  # [-1, 1] -> [0, 255]
        if pixels.shape[-1] != self.net.input_size:
            size = (self.net.input_size, self.net.input_size)
            pixels = F.interpolate(pixels, size=size, mode="bilinear", antialias=True, align_corners=False)
        features, _ = self.net.embed(self.net.normalize(pixels))
        return features  # (B, feature_dim)


class DTNDecoder(nn.Module):
    """g: features (B, feature_dim) -> images (B, out_channels, S, S) in [-1, 1] (DCGAN-style ups)."""

    def __init__(self, feature_dim: int, out_channels: int, img_size: int, base_channels: int):
        super().__init__()
        stages = _stages(img_size, "dtn.G")
        widths = [base_channels * min(2 ** (stages - 1 - i), MAX_MULT) for i in range(stages)]
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(feature_dim, widths[0], 4, bias=False),  # (B, widths[0], 4, 4)
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(inplace=True),
        ]
        for c_in, c_out in zip(widths[:-1], widths[1:], strict=True):
            layers += [
                nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(True),
            ]
        layers += [nn.ConvTranspose2d(widths[-1], out_channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_dcgan_weights_(self.net)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features[:, :, None, None])  # (B, C, S, S)


@MODELS.register(
    "dtn.G",
    tiny=dict(
        in_channels=3, out_channels=1, img_size=8, feature_dim=8, f_channels=4, g_channels=4, head_classes=3
    ),
    kind="image-to-image",  # forward(x (B, in, S, S)) -> (B, out, S, S)
    aux_params=("encoder.head.",),  # f's pretraining classifier head: not used by forward
)
class DTNGenerator(ImageInputs, nn.Module):
    """G = g o f: source images (B, in_channels, S, S) -> target-domain images (B, out_channels, S, S).

    f (`self.encoder`) is a `dtn.F` (`encoder="dtn.F"`) or a `ganforge.metrics` feature extractor
    named by `encoder` (its feature size replaces `feature_dim`). It stays in eval mode whatever
    `train()` is told: in DTN it is a fixed representation, filled and frozen by the recipe.
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        img_size: int = 32,
        feature_dim: int = 128,
        f_channels: int = 64,
        g_channels: int = 64,
        head_classes: int = 10,
        encoder: str = "dtn.F",
    ):
        super().__init__()
        if out_channels < 1 or g_channels < 1:
            raise ConfigError("dtn.G out_channels and g_channels must be >= 1")
        self.in_channels, self.out_channels, self.img_size = in_channels, out_channels, img_size
        self.multiple = 1  # any input size works (see forward); read by the translate pipeline
        if encoder == "dtn.F":
            self.encoder: nn.Module = DTNEncoder(in_channels, img_size, feature_dim, f_channels, head_classes)
        else:
            self.encoder = ExtractorEncoder(encoder, img_size)
            feature_dim = self.encoder.feature_dim
        self.decoder = DTNDecoder(feature_dim, out_channels, img_size, g_channels)
        self.encoder.eval()

    def train(self, mode: bool = True) -> DTNGenerator:
        super().train(mode)
        self.encoder.eval()
        return self

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """f(x) for images of either domain (channels converted to f's)."""
        return self.encoder(images)

    def decode(self, features: torch.Tensor) -> torch.Tensor:
        """g(h)."""
        return self.decoder(features)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Translate (B, C, H, W); f and g work at img_size, so other sizes are resized there and back."""
        size = tuple(images.shape[-2:])
        native = (self.img_size, self.img_size)
        if size == native:
            return self.decoder(self.encoder(images))
        small = F.interpolate(images, size=native, mode="bilinear", antialias=True, align_corners=False)
        out = self.decoder(self.encoder(small))  # (B, out_channels, img_size, img_size)
        return F.interpolate(out, size=size, mode="bilinear", align_corners=False).clamp(-1, 1)


@MODELS.register(
    "dtn.D",
    tiny=dict(in_channels=1, img_size=8, base_channels=4),
    kind="multiclass-discriminator",  # forward(x (B, C, S, S)) -> logits (B, 3)
)
class DTNDiscriminator(ImageInputs, nn.Module):
    """The three-way D: images (B, in_channels, S, S) -> logits (B, 3) over `CLASSES`."""

    def __init__(self, in_channels: int = 3, img_size: int = 32, base_channels: int = 64):
        super().__init__()
        stages = _stages(img_size, "dtn.D")
        if in_channels < 1 or base_channels < 1:
            raise ConfigError("dtn.D in_channels and base_channels must be >= 1")
        self.in_channels, self.img_size = in_channels, img_size
        layers: list[nn.Module] = []
        c_in = in_channels
        for i in range(stages):
            c_out = base_channels * min(2**i, MAX_MULT)
            layers.append(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=i == 0))  # halves H and W
            if i > 0:
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            c_in = c_out
        layers.append(nn.Conv2d(c_in, len(CLASSES), 4))  # (B, 3, 1, 1)
        self.net = nn.Sequential(*layers)
        init_dcgan_weights_(self.net)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.dim() != 4 or tuple(images.shape[1:]) != (self.in_channels, self.img_size, self.img_size):
            expected = f"(B, {self.in_channels}, {self.img_size}, {self.img_size})"
            raise ValueError(
                f"DTNDiscriminator expects images of shape {expected}, got {tuple(images.shape)}"
            )
        return self.net(images).flatten(1)  # (B, 3)
