"""The ResNet image-to-image generator of CycleGAN (Zhu et al. 2017), after Johnson et al. 2016.

c7s1-k, d2k, d4k, R4k x n_blocks, u2k, uk, c7s1-out, tanh: a 7x7 conv, two stride-2 downsampling
convs, `n_blocks` residual blocks at a quarter of the resolution, two stride-2 transposed convs
back up and a 7x7 conv to the output channels. Reflection padding avoids border artifacts;
instance norm is the paper's choice for style transfer. The paper uses 6 blocks at 128x128 and 9
at 256x256 and larger. Any input whose sides are multiples of 4 works, so a generator trained on
crops translates whole images.
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.errors import ConfigError
from ganforge.nn.examples import image_inputs
from ganforge.nn.layers import init_dcgan_weights_
from ganforge.registry import MODELS

NORMS = ("instance", "batch", "none")


def norm_layer(kind: str, channels: int) -> nn.Module:
    """Instance norm without affine parameters (as in the CycleGAN code), batch norm, or nothing."""
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    return nn.Identity()


class ResnetBlock(nn.Module):
    """x + conv-norm-relu-conv-norm(x), 3x3 convs with reflection padding (same channels in and out)."""

    def __init__(self, channels: int, norm: str, dropout: float):
        super().__init__()
        bias = norm != "batch"
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            norm_layer(norm, channels),
            nn.ReLU(inplace=True),
        ]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            norm_layer(norm, channels),
        ]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


@MODELS.register(
    "resnet.G",
    tiny=dict(in_channels=3, out_channels=3, base_channels=4, n_blocks=1),
    kind="image-to-image",  # forward(x (B, in, H, W)) -> (B, out, H, W)
)
class ResnetGenerator(nn.Module):
    """CycleGAN's generator: images (B, in_channels, H, W) -> images (B, out_channels, H, W) in [-1, 1].

    Args:
        in_channels, out_channels: image channels of the two domains (1 or 3).
        base_channels: width of the first conv (64 in the paper); the residual blocks have 4x this.
        n_blocks: residual blocks, 6 (128x128) or 9 (256x256) in the paper.
        norm: "instance" (the paper), "batch" or "none".
        dropout: dropout inside the residual blocks (0 in CycleGAN).
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        base_channels: int = 64,
        n_blocks: int = 9,
        norm: str = "instance",
        dropout: float = 0.0,
    ):
        super().__init__()
        if min(in_channels, out_channels, base_channels) < 1:
            raise ConfigError(
                f"resnet.G channels must be >= 1, got in_channels={in_channels}, "
                f"out_channels={out_channels}, base_channels={base_channels}"
            )
        if n_blocks < 0:
            raise ConfigError(f"resnet.G n_blocks must be >= 0 (6 or 9 in the paper), got {n_blocks}")
        if norm not in NORMS:
            raise ConfigError(f"resnet.G norm must be one of {', '.join(NORMS)}, got {norm!r}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"resnet.G dropout must lie in [0, 1), got {dropout}")
        self.in_channels, self.out_channels = in_channels, out_channels
        bias = norm != "batch"  # a bias before batch norm is cancelled by its mean subtraction
        c = base_channels
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, c, 7, bias=bias),  # c7s1-c: (B, c, H, W)
            norm_layer(norm, c),
            nn.ReLU(inplace=True),
        ]
        for mult in (1, 2):  # d2c, d4c: (B, 4c, H/4, W/4)
            layers += [
                nn.Conv2d(c * mult, c * mult * 2, 3, stride=2, padding=1, bias=bias),
                norm_layer(norm, c * mult * 2),
                nn.ReLU(inplace=True),
            ]
        layers += [ResnetBlock(c * 4, norm, dropout) for _ in range(n_blocks)]
        for mult in (4, 2):  # u2c, uc: back to (B, c, H, W)
            layers += [
                nn.ConvTranspose2d(
                    c * mult, c * mult // 2, 3, stride=2, padding=1, output_padding=1, bias=bias
                ),
                norm_layer(norm, c * mult // 2),
                nn.ReLU(inplace=True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(c, out_channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_dcgan_weights_(self.net)  # N(0, 0.02), as in the CycleGAN code

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.dim() != 4 or images.shape[1] != self.in_channels:
            raise ValueError(
                f"ResnetGenerator expects images of shape (B, {self.in_channels}, H, W), "
                f"got {tuple(images.shape)}"
            )
        h, w = images.shape[-2:]
        if h % 4 or w % 4 or min(h, w) < 8:
            raise ValueError(
                f"ResnetGenerator needs image sides that are multiples of 4 and at least 8 (two 2x "
                f"downsamplings, then reflection padding), got {h}x{w}; pad or resize the image"
            )
        return self.net(images)

    def example_inputs(self, batch: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        """A valid input batch: (images,) of 16x16 in [-1, 1]."""
        return image_inputs(self, batch, generator, self.in_channels, 16)
