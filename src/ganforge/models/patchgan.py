"""PatchGAN discriminator (Isola et al. 2017, "Image-to-Image Translation with Conditional
Adversarial Networks"), used by pix2pix and CycleGAN.

Instead of one score per image, the discriminator scores every overlapping patch: a stack of
4x4 convolutions whose last unit sees a square of the input (its receptive field) and says whether
that patch looks real. With ``n_layers=3`` the field is 70x70 pixels, the paper's default;
``n_layers=0`` is the PixelGAN, 1x1 convolutions that judge each pixel's colour alone.

Layers for ``n_layers=n`` (C = base_channels, k4 = 4x4 conv, LReLU = LeakyReLU(0.2)):
  k4 stride 2 (in -> C), LReLU                                    no norm on the first layer
  n-1 times: k4 stride 2 (doubling, at most 8C), norm, LReLU
  k4 stride 1 (doubling, at most 8C), norm, LReLU
  k4 stride 1 -> 1 logit per patch
An input of side S gives a map of side floor(S / 2**n) - 2, so S must be at least 3 * 2**n.
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.errors import ConfigError
from ganforge.nn.examples import image_inputs
from ganforge.nn.layers import init_dcgan_weights_, maybe_spectral_norm
from ganforge.registry import MODELS

NORMS = ("batch", "instance", "none")
MAX_CHANNEL_MULT = 8  # widest layer is 8x base_channels (512 for the paper's 64)


def make_norm(norm: str, channels: int) -> nn.Module:
    """BatchNorm, InstanceNorm (no affine, no running stats, as in Ulyanov et al. 2016) or identity."""
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    if norm == "instance":
        return nn.InstanceNorm2d(channels)
    if norm == "none":
        return nn.Identity()
    raise ConfigError(f"norm must be one of {', '.join(NORMS)}, got {norm!r}")


def receptive_field(n_layers: int) -> int:
    """Side of the input square each output logit sees: 70 for n_layers=3, 1 for the PixelGAN."""
    if n_layers == 0:
        return 1
    field = 1
    # walk back from the output: two stride-1 4x4 convs, then n_layers stride-2 4x4 convs
    for stride in [1, 1] + [2] * n_layers:
        field = (field - 1) * stride + 4
    return field


@MODELS.register(
    "patchgan.D",
    tiny=dict(in_channels=6, base_channels=4, n_layers=2),
    kind="patch-discriminator",  # forward(x) -> (B, 1, h, w) logits map, not (B,)
)
class PatchGANDiscriminator(nn.Module):
    """PatchGAN discriminator: images (B, in_channels, H, W) -> raw logits map (B, 1, h, w).

    Args:
        in_channels: input channels; for pix2pix the condition and the image concatenated (3 + 3 = 6),
            for CycleGAN just the image (3).
        base_channels: channels of the first layer (64 in the paper).
        n_layers: stride-2 layers; 3 gives the 70x70 PatchGAN, 1 a 16x16 one, 0 the 1x1 PixelGAN.
        norm: "batch" (pix2pix), "instance" (CycleGAN) or "none" (e.g. with spectral norm).
        spectral_norm: spectral normalization on every conv (Miyato et al. 2018).
    """

    def __init__(
        self,
        in_channels: int = 6,
        base_channels: int = 64,
        n_layers: int = 3,
        norm: str = "batch",
        spectral_norm: bool = False,
    ):
        super().__init__()
        if in_channels < 1 or base_channels < 1:
            raise ConfigError(
                f"in_channels and base_channels must be >= 1, got {in_channels}, {base_channels}"
            )
        if not 0 <= n_layers <= 8:
            raise ConfigError(f"n_layers must be 0 (PixelGAN) to 8, got {n_layers}; 3 is the 70x70 PatchGAN")
        make_norm(norm, 1)  # validates the name
        self.in_channels = in_channels
        self.n_layers = n_layers
        self.norm = norm
        self.receptive_field = receptive_field(n_layers)
        # The smallest input that leaves at least one output logit.
        self.min_size = 1 if n_layers == 0 else 3 * 2**n_layers
        bias = norm != "batch"  # BatchNorm's shift makes a conv bias redundant

        layers: list[nn.Module]
        if n_layers == 0:  # PixelGAN: 1x1 convs
            layers = [
                nn.Conv2d(in_channels, base_channels, 1),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(base_channels, base_channels * 2, 1, bias=bias),
                make_norm(norm, base_channels * 2),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(base_channels * 2, 1, 1),
            ]
        else:
            layers = [nn.Conv2d(in_channels, base_channels, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
            c_in = base_channels
            for i in range(1, n_layers + 1):
                c_out = base_channels * min(2**i, MAX_CHANNEL_MULT)
                stride = 2 if i < n_layers else 1  # the last of these keeps the resolution
                layers += [
                    nn.Conv2d(c_in, c_out, 4, stride, 1, bias=bias),
                    make_norm(norm, c_out),
                    nn.LeakyReLU(0.2, inplace=True),
                ]
                c_in = c_out
            layers.append(nn.Conv2d(c_in, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)
        init_dcgan_weights_(self.net)  # N(0, 0.02), as in the paper
        for layer in self.net:
            if isinstance(layer, nn.Conv2d):
                maybe_spectral_norm(layer, spectral_norm)

    def output_size(self, size: int) -> int:
        """Side of the logits map for an input of side `size`."""
        if self.n_layers == 0:
            return size
        return size // 2**self.n_layers - 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"PatchGANDiscriminator expects (B, {self.in_channels}, H, W), got {tuple(x.shape)}"
            )
        if min(x.shape[-2:]) < self.min_size:
            raise ValueError(
                f"PatchGANDiscriminator with n_layers={self.n_layers} needs inputs of at least "
                f"{self.min_size}x{self.min_size}, got {tuple(x.shape[-2:])}; use fewer layers"
            )
        return self.net(x)  # (B, 1, h, w)

    def example_inputs(self, batch: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        """Valid inputs for a forward pass: (images,) of the smallest size giving a 2x2 logits map."""
        return image_inputs(
            self, batch, generator, self.in_channels, max(8, self.min_size + 2**self.n_layers)
        )
