"""SRResNet generator and SRGAN discriminator (Ledig et al. 2017, "Photo-Realistic Single Image
Super-Resolution Using a Generative Adversarial Network").

Generator (C = channels, B = blocks; k9n64s1 = 9x9 conv, 64 maps, stride 1, as in the paper's figure):
  head      conv k9 (img -> C), PReLU                                   at low resolution
  body      B residual blocks [conv k3, BN, PReLU, conv k3, BN] + skip, then conv k3, BN, + head
  upsample  log2(scale) x [conv k3 (C -> 4C), pixel shuffle x2 (Shi et al. 2016), PReLU]
  tail      conv k9 (C -> img), linear output
Everything before the upsampling works at the input's resolution, so the cost grows with the
low-resolution image, not the output. The network is fully convolutional: any input size works,
and an H x W input gives a (scale H) x (scale W) output.

Two choices beyond the paper, both off by default except where a preset says otherwise:
`norm="none"` drops BatchNorm (Lim et al. 2017, EDSR, found it hurts SR), and `bicubic_skip=True`
adds the bicubic upscaling of the input to the output, so the network learns only the residual
(global residual learning, Kim et al. 2016, VDSR); its last conv then starts at zero, so an
untrained generator is exactly bicubic.

Discriminator: 8 conv k3 layers, LeakyReLU(0.2), widths C, C, 2C, 2C, 4C, 4C, 8C, 8C with strides
1, 2, 1, 2, ... (BN after all but the first), then dense(1024), LeakyReLU, dense(1) -> one logit.
Its dense layer fixes the input size (96x96 crops in the paper); it must be a multiple of 16.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ganforge.data.sr_pairs import bicubic
from ganforge.errors import ConfigError
from ganforge.nn.examples import ImageInputs, image_inputs
from ganforge.registry import MODELS

SCALES = (2, 4, 8)


def _norm(norm: str, channels: int) -> nn.Module:
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    if norm == "none":
        return nn.Identity()
    raise ConfigError(f"norm must be 'batch' or 'none', got {norm!r}")


class ResidualBlock(nn.Module):
    """conv k3, norm, PReLU, conv k3, norm, plus the input (He et al. 2016, as used by SRResNet)."""

    def __init__(self, channels: int, norm: str):
        super().__init__()
        bias = norm != "batch"  # a bias before BatchNorm is cancelled by its mean subtraction
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=bias),
            _norm(norm, channels),
            nn.PReLU(),
            nn.Conv2d(channels, channels, 3, padding=1, bias=bias),
            _norm(norm, channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


@torch.no_grad()
def icnr_(conv: nn.Conv2d, factor: int) -> None:
    """Init a conv that feeds PixelShuffle(factor) so that, at init, shuffling it is nearest-neighbour
    upsampling of one ordinary conv (ICNR, Aitken et al. 2017): no checkerboard from the start."""
    out = conv.out_channels // factor**2
    sub = torch.empty(out, conv.in_channels, *conv.kernel_size)
    nn.init.kaiming_uniform_(sub, a=math.sqrt(5))  # PyTorch's default conv init, on the small kernel
    # PixelShuffle reads channel c * factor**2 + k as sub-pixel k of output channel c
    conv.weight.copy_(sub.repeat_interleave(factor**2, dim=0))
    if conv.bias is not None:
        conv.bias.zero_()


@MODELS.register(
    "srresnet.G",
    tiny=dict(img_channels=3, channels=4, blocks=1, scale=2),
    kind="image-to-image",  # forward(lr (B, C, H, W)) -> sr (B, C, scale H, scale W)
)
class SRResNet(nn.Module):
    """SRResNet: low-resolution images (B, C, H, W) in [-1, 1] -> (B, C, scale H, scale W).

    Args:
        img_channels: 1 (gray) or 3 (RGB).
        channels: width of the residual body (64 in the paper).
        blocks: residual blocks (16 in the paper).
        scale: upscaling factor, 2, 4 or 8 (a pixel-shuffle x2 stage each).
        norm: "batch" (the paper) or "none".
        bicubic_skip: add the bicubic upscaling of the input to the output (not in the paper).
    The output is linear (not squashed by tanh); images are clamped to [-1, 1] when saved.
    """

    def __init__(
        self,
        img_channels: int = 3,
        channels: int = 64,
        blocks: int = 16,
        scale: int = 4,
        norm: str = "batch",
        bicubic_skip: bool = False,
    ):
        super().__init__()
        if img_channels not in (1, 3):
            raise ConfigError(f"srresnet.G img_channels must be 1 or 3, got {img_channels}")
        if channels < 1 or blocks < 0:
            raise ConfigError(f"srresnet.G needs channels >= 1 and blocks >= 0, got {channels}, {blocks}")
        if scale not in SCALES:
            raise ConfigError(f"srresnet.G scale must be one of {', '.join(map(str, SCALES))}, got {scale}")
        self.img_channels, self.scale, self.bicubic_skip = img_channels, scale, bicubic_skip
        bias = norm != "batch"
        self.head = nn.Sequential(nn.Conv2d(img_channels, channels, 9, padding=4), nn.PReLU())
        self.body = nn.Sequential(
            *[ResidualBlock(channels, norm) for _ in range(blocks)],
            nn.Conv2d(channels, channels, 3, padding=1, bias=bias),
            _norm(norm, channels),
        )
        ups: list[nn.Module] = []
        for _ in range(int(math.log2(scale))):
            conv = nn.Conv2d(channels, channels * 4, 3, padding=1)
            icnr_(conv, 2)
            ups += [conv, nn.PixelShuffle(2), nn.PReLU()]  # (B, 4C, h, w) -> (B, C, 2h, 2w)
        self.upsample = nn.Sequential(*ups)
        self.tail = nn.Conv2d(channels, img_channels, 9, padding=4)
        if bicubic_skip:  # start as plain bicubic; the network adds detail from there
            nn.init.zeros_(self.tail.weight)
            nn.init.zeros_(self.tail.bias)

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        if lr.dim() != 4 or lr.shape[1] != self.img_channels:
            raise ValueError(f"SRResNet expects images (B, {self.img_channels}, H, W), got {tuple(lr.shape)}")
        features = self.head(lr)
        x = features + self.body(features)  # the long skip over all residual blocks
        out = self.tail(self.upsample(x))  # (B, C, scale H, scale W)
        if self.bicubic_skip:
            out = out + bicubic(lr, self.scale)
        return out

    def example_inputs(self, batch: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        """(images,) of an odd size, 7x7, in [-1, 1]: any size works."""
        return image_inputs(self, batch, generator, self.img_channels, 7)


@MODELS.register(
    "srresnet.D",
    tiny=dict(img_channels=3, img_size=16, channels=4, dense=8),
)
class SRGANDiscriminator(ImageInputs, nn.Module):
    """SRGAN's discriminator: images (B, C, img_size, img_size) -> logits (B,).

    Args:
        img_channels: 1 or 3.
        img_size: side of the (high-resolution) crops it judges; a multiple of 16 (96 in the paper).
        channels: width of the first conv (64 in the paper); the last ones have 8x this.
        dense: units of the hidden dense layer (1024 in the paper).
        norm: "batch" (the paper) or "none".
    """

    def __init__(
        self,
        img_channels: int = 3,
        img_size: int = 96,
        channels: int = 64,
        dense: int = 1024,
        norm: str = "batch",
    ):
        super().__init__()
        if img_channels not in (1, 3):
            raise ConfigError(f"srresnet.D img_channels must be 1 or 3, got {img_channels}")
        if img_size < 16 or img_size % 16:
            raise ConfigError(
                f"srresnet.D img_size must be a multiple of 16 (four stride-2 convs), got {img_size}"
            )
        if channels < 1 or dense < 1:
            raise ConfigError(f"srresnet.D needs channels >= 1 and dense >= 1, got {channels}, {dense}")
        self.img_channels, self.img_size = img_channels, img_size
        bias = norm != "batch"
        layers: list[nn.Module] = [nn.Conv2d(img_channels, channels, 3, padding=1), nn.LeakyReLU(0.2)]
        cin = channels
        for i in range(1, 8):
            cout = channels * 2 ** (i // 2)
            stride = 2 if i % 2 else 1
            layers += [
                nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=bias),
                _norm(norm, cout),
                nn.LeakyReLU(0.2),
            ]
            cin = cout
        self.features = nn.Sequential(*layers)  # (B, 8C, S/16, S/16)
        side = img_size // 16
        self.classifier = nn.Sequential(
            nn.Flatten(),  # (B, 8C * side * side)
            nn.Linear(cin * side * side, dense),
            nn.LeakyReLU(0.2),
            nn.Linear(dense, 1),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.dim() != 4 or tuple(images.shape[1:]) != (self.img_channels, self.img_size, self.img_size):
            raise ValueError(
                f"SRGANDiscriminator expects (B, {self.img_channels}, {self.img_size}, {self.img_size}), "
                f"got {tuple(images.shape)}"
            )
        return self.classifier(self.features(images)).view(-1)  # (B,)
