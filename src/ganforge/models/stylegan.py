"""A StyleGAN-style generator and a residual discriminator (Karras et al. 2019, "A Style-Based
Generator Architecture for GANs"; Karras et al. 2020, "Analyzing and Improving the Image Quality of
StyleGAN"), in plain PyTorch so that they run on a CPU.

Generator: a mapping network turns z into w (8 equalized-lr layers at 0.01 learning rate in the
paper); a synthesis network starts from a learned 4x4 constant and, per resolution, runs
modulated/demodulated 3x3 convolutions with noise inputs and adds its to-RGB output to the
upsampled image so far (StyleGAN2's "skip" generator). Every layer takes its own w, so styles can
be mixed between latents: `num_ws` of them, ``ws`` of shape (B, num_ws, w_dim). The tracked average
``w_avg`` (a buffer, so EMA copies and bundles carry it) gives the truncation trick,
``w = w_avg + psi * (w - w_avg)``.

Layer groups (for style mixing and breeding) follow the StyleGAN paper's split by resolution:
coarse 4-8 px (pose, shape), middle 16-32 px (features), fine 64 px and up (colour, texture); models
below 64 px shift the split down so that each group holds at least one resolution.

Discriminator: StyleGAN2's residual architecture (every block ``(skip + main) / sqrt(2)``), minibatch
standard deviation and two dense layers at 4x4.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.errors import ConfigError
from ganforge.nn.equalized import (
    LRELU_GAIN,
    EqualizedConv2d,
    EqualizedLinear,
    MinibatchStdDev,
    lrelu,
    pixel_norm,
)
from ganforge.nn.examples import ImageInputs, NoiseInputs
from ganforge.nn.layers import check_images, check_labels
from ganforge.nn.modulated import ModulatedConv2d, NoiseInjection, NoiseMode
from ganforge.registry import MODELS

LAYER_GROUPS = ("coarse", "middle", "fine")


def _resolutions(img_size: int, minimum: int, model: str) -> list[int]:
    if img_size < minimum or img_size & (img_size - 1):
        raise ConfigError(
            f"{model} img_size must be a power of two >= {minimum} (16, 32, 64, 128, 256, ...), "
            f"got {img_size}; use --size 64, for example"
        )
    return [4 * 2**k for k in range(img_size.bit_length() - 2)]  # 4, 8, ..., img_size


def channels_at(res: int, channel_base: int, max_channels: int) -> int:
    """Feature maps at a resolution: ``min(channel_base // res, max_channels)``, at least 1 (StyleGAN2)."""
    return max(1, min(channel_base // res, max_channels))


def group_of_resolution(res: int, img_size: int) -> str:
    """The layer group ("coarse", "middle", "fine") a resolution belongs to in a model of `img_size`."""
    if res <= max(4, min(8, img_size // 4)):
        return "coarse"
    if res <= max(8, min(32, img_size // 2)):
        return "middle"
    return "fine"


class MappingNetwork(nn.Module):
    """z (B, z_dim) -> w (B, w_dim): pixel norm, then `num_layers` equalized-lr dense layers."""

    def __init__(self, z_dim: int, w_dim: int, num_layers: int, lr_mul: float):
        super().__init__()
        dims = [z_dim] + [w_dim] * num_layers
        self.layers = nn.ModuleList(
            EqualizedLinear(a, b, lr_mul=lr_mul) for a, b in zip(dims[:-1], dims[1:], strict=True)
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = pixel_norm(z)
        for layer in self.layers:
            x = lrelu(layer(x), LRELU_GAIN)
        return x


class SynthesisLayer(nn.Module):
    """Modulated 3x3 conv, noise, bias, leaky ReLU."""

    def __init__(self, c_in: int, c_out: int, w_dim: int, resolution: int, upsample: bool = False):
        super().__init__()
        self.conv = ModulatedConv2d(c_in, c_out, 3, w_dim, demodulate=True, upsample=upsample)
        self.noise = NoiseInjection(resolution)
        self.bias = nn.Parameter(torch.zeros(c_out))

    def forward(
        self, x: torch.Tensor, w: torch.Tensor, noise_mode: NoiseMode, generator: torch.Generator | None
    ) -> torch.Tensor:
        x = self.noise(self.conv(x, w), noise_mode, generator)
        return lrelu(x + self.bias[None, :, None, None], LRELU_GAIN)


class ToRGB(nn.Module):
    """Modulated 1x1 conv without demodulation, plus bias: features -> image channels."""

    def __init__(self, c_in: int, img_channels: int, w_dim: int):
        super().__init__()
        self.conv = ModulatedConv2d(c_in, img_channels, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(img_channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.conv(x, w) + self.bias[None, :, None, None]


@MODELS.register(
    "stylegan.G",
    tiny=dict(
        z_dim=8, w_dim=8, img_channels=3, img_size=16, channel_base=64, max_channels=8, mapping_layers=2
    ),
)
class StyleGANGenerator(NoiseInputs, nn.Module):
    """Style-based generator: ``G(z) -> images``; also `mapping(z) -> ws` and `synthesis(ws) -> images`.

    Args:
        z_dim, w_dim: latent sizes (512 and 512 in the papers).
        img_size: output side, a power of two >= 16.
        channel_base, max_channels: feature maps at resolution r are min(channel_base // r, max_channels)
            (StyleGAN2: 32768 and 512).
        mapping_layers: dense layers in the mapping network (8 in the papers).
        mapping_lr_mul: learning-rate multiplier of the mapping network (0.01).
        w_avg_beta: decay of the tracked average w used by truncation (0.995).
    """

    layer_groups = LAYER_GROUPS

    def __init__(
        self,
        z_dim: int = 512,
        w_dim: int = 512,
        img_channels: int = 3,
        img_size: int = 64,
        channel_base: int = 16384,
        max_channels: int = 512,
        mapping_layers: int = 8,
        mapping_lr_mul: float = 0.01,
        w_avg_beta: float = 0.995,
    ):
        super().__init__()
        resolutions = _resolutions(img_size, 16, "StyleGAN")
        if min(z_dim, w_dim, img_channels, channel_base, max_channels, mapping_layers) < 1:
            raise ConfigError("StyleGAN sizes (z_dim, w_dim, channels, mapping_layers) must be >= 1")
        if not 0.0 <= w_avg_beta < 1.0:
            raise ConfigError(f"w_avg_beta={w_avg_beta} must lie in [0, 1)")
        self.z_dim, self.w_dim, self.img_channels, self.img_size = z_dim, w_dim, img_channels, img_size
        self.num_classes = 0
        self.w_avg_beta = w_avg_beta
        ch = [channels_at(r, channel_base, max_channels) for r in resolutions]

        self.mapping_net = MappingNetwork(z_dim, w_dim, mapping_layers, mapping_lr_mul)
        self.const = nn.Parameter(torch.randn(ch[0], 4, 4))
        self.convs = nn.ModuleList([SynthesisLayer(ch[0], ch[0], w_dim, 4)])
        self.to_rgbs = nn.ModuleList([ToRGB(ch[0], img_channels, w_dim)])
        for k in range(1, len(resolutions)):
            self.convs.append(SynthesisLayer(ch[k - 1], ch[k], w_dim, resolutions[k], upsample=True))
            self.convs.append(SynthesisLayer(ch[k], ch[k], w_dim, resolutions[k]))
            self.to_rgbs.append(ToRGB(ch[k], img_channels, w_dim))
        self.num_ws = len(self.convs) + 1  # conv i takes ws[i]; to-RGB at block k takes ws[2k + 1]
        # the resolution each w steers: conv i works at 4 * 2**ceil(i / 2); the last w feeds the final to-RGB
        self.ws_resolutions = [4 * 2 ** ((i + 1) // 2) for i in range(len(self.convs))] + [img_size]
        self.register_buffer("w_avg", torch.zeros(w_dim))

    # ---------------------------------------------------------------- the parts

    def layer_indices(self, groups: str | Sequence[str]) -> list[int]:
        """Indices into ws of one layer group or several ("coarse", "middle", "fine")."""
        names = [groups] if isinstance(groups, str) else list(groups)
        unknown = [g for g in names if g not in LAYER_GROUPS]
        if unknown or not names:
            raise ConfigError(
                f"unknown layer group {unknown[0] if unknown else ''!r}; use {', '.join(LAYER_GROUPS)}"
            )
        return [
            i for i, r in enumerate(self.ws_resolutions) if group_of_resolution(r, self.img_size) in names
        ]

    def mapping(
        self,
        z: torch.Tensor,
        labels: torch.Tensor | None = None,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
    ) -> torch.Tensor:
        """z (B, z_dim) -> ws (B, num_ws, w_dim), truncated toward `w_avg` on the first
        `truncation_cutoff` ws (all of them by default)."""
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"StyleGANGenerator expects z of shape (B, {self.z_dim}), got {tuple(z.shape)}")
        check_labels(labels, self.num_classes, z.shape[0], "StyleGANGenerator")
        w = self.mapping_net(z)  # (B, w_dim)
        ws = w[:, None, :].repeat(1, self.num_ws, 1)  # (B, num_ws, w_dim)
        if truncation_psi != 1.0:
            cut = self.num_ws if truncation_cutoff is None else truncation_cutoff
            ws[:, :cut] = self.w_avg.lerp(ws[:, :cut], truncation_psi)
        return ws

    @torch.no_grad()
    def track_w_avg(self, w_mean: torch.Tensor) -> None:
        """Move `w_avg` toward a batch's mean w: ``w_avg = w_mean + beta * (w_avg - w_mean)``."""
        self.w_avg.copy_(w_mean.detach().to(self.w_avg).lerp(self.w_avg, self.w_avg_beta))

    def synthesis(
        self,
        ws: torch.Tensor,
        noise_mode: NoiseMode | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """ws (B, num_ws, w_dim) -> raw images (B, C, H, W), not clamped (what D sees in training).

        noise_mode: "random" (fresh noise from `generator`), "const" (the stored maps) or "none";
        None means random in training mode and const in eval mode.
        """
        if ws.dim() != 3 or ws.shape[1:] != (self.num_ws, self.w_dim):
            raise ValueError(
                f"synthesis expects ws of shape (B, {self.num_ws}, {self.w_dim}), got {tuple(ws.shape)}"
            )
        mode = noise_mode or ("random" if self.training else "const")
        x = self.const[None].expand(ws.shape[0], -1, -1, -1)  # (B, C, 4, 4)
        x = self.convs[0](x, ws[:, 0], mode, generator)
        img = self.to_rgbs[0](x, ws[:, 1])
        for k in range(1, len(self.to_rgbs)):
            x = self.convs[2 * k - 1](x, ws[:, 2 * k - 1], mode, generator)
            x = self.convs[2 * k](x, ws[:, 2 * k], mode, generator)
            img = F.interpolate(img, scale_factor=2, mode="bilinear", align_corners=False)
            img = img + self.to_rgbs[k](x, ws[:, 2 * k + 1])
        return img

    # ---------------------------------------------------------------- the generator contract

    def forward(
        self,
        z: torch.Tensor,
        labels: torch.Tensor | None = None,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        noise_mode: NoiseMode | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """z (B, z_dim) -> images (B, C, H, W) in [-1, 1]."""
        ws = self.mapping(z, labels, truncation_psi, truncation_cutoff)
        return self.synthesis(ws, noise_mode, generator).clamp(-1, 1)

    def forward_groups(
        self, z: torch.Tensor, labels: torch.Tensor | None = None, truncation_psi: float = 1.0
    ) -> torch.Tensor:
        """z (B, 3, z_dim), one latent per layer group (coarse, middle, fine) -> images in [-1, 1]."""
        if z.dim() != 3 or z.shape[1] != len(LAYER_GROUPS):
            raise ValueError(f"forward_groups expects z of shape (B, 3, {self.z_dim}), got {tuple(z.shape)}")
        per_group = [self.mapping(z[:, k], labels, truncation_psi) for k in range(len(LAYER_GROUPS))]
        ws = per_group[0].clone()
        for k, group in enumerate(LAYER_GROUPS):
            index = self.layer_indices(group)
            ws[:, index] = per_group[k][:, index]
        return self.synthesis(ws).clamp(-1, 1)


def mix_styles(ws_a: torch.Tensor, ws_b: torch.Tensor, layers: Sequence[int]) -> torch.Tensor:
    """ws (B, num_ws, w_dim) of parent a, with the ws at indices `layers` taken from parent b."""
    if ws_a.shape != ws_b.shape:
        raise ValueError(f"parents' ws differ in shape: {tuple(ws_a.shape)} and {tuple(ws_b.shape)}")
    mixed = ws_a.clone()
    index = list(layers)
    mixed[:, index] = ws_b[:, index]
    return mixed


class DiscriminatorBlock(nn.Module):
    """Two 3x3 convs then a 2x average-pool down, plus a 1x1 skip; ``(skip + main) / sqrt(2)``."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv0 = EqualizedConv2d(c_in, c_in, 3)
        self.conv1 = EqualizedConv2d(c_in, c_out, 3)
        self.skip = EqualizedConv2d(c_in, c_out, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.skip(F.avg_pool2d(x, 2))
        x = lrelu(self.conv0(x), LRELU_GAIN)
        x = F.avg_pool2d(lrelu(self.conv1(x), LRELU_GAIN), 2)
        return (skip + x) * math.sqrt(0.5)


@MODELS.register("stylegan.D", tiny=dict(img_channels=3, img_size=16, channel_base=64, max_channels=8))
class StyleGANDiscriminator(ImageInputs, nn.Module):
    """StyleGAN2's residual discriminator: images (B, C, H, W) -> logits (B,).

    Args:
        img_size: input side, a power of two >= 8.
        channel_base, max_channels: feature maps at resolution r are min(channel_base // r, max_channels).
        mbstd_group: images per minibatch-stddev group (4 in the papers; any batch size works).
    """

    def __init__(
        self,
        img_channels: int = 3,
        img_size: int = 64,
        channel_base: int = 16384,
        max_channels: int = 512,
        mbstd_group: int = 4,
    ):
        super().__init__()
        resolutions = _resolutions(img_size, 8, "StyleGAN discriminator")[::-1]  # img_size, ..., 4
        self.img_channels, self.img_size, self.num_classes = img_channels, img_size, 0
        ch = [channels_at(r, channel_base, max_channels) for r in resolutions]
        self.from_rgb = EqualizedConv2d(img_channels, ch[0], 1)
        self.blocks = nn.ModuleList(DiscriminatorBlock(a, b) for a, b in zip(ch[:-1], ch[1:], strict=True))
        self.mbstd = MinibatchStdDev(mbstd_group, 1)
        self.conv = EqualizedConv2d(ch[-1] + 1, ch[-1], 3)
        self.fc = EqualizedLinear(ch[-1] * 16, ch[-1])
        self.out = EqualizedLinear(ch[-1], 1)

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        check_images(images, self.img_channels, self.img_size, "StyleGANDiscriminator")
        check_labels(labels, 0, images.shape[0], "StyleGANDiscriminator")
        x = lrelu(self.from_rgb(images), LRELU_GAIN)
        for block in self.blocks:
            x = block(x)
        x = lrelu(self.conv(self.mbstd(x)), LRELU_GAIN)  # (B, C, 4, 4)
        x = lrelu(self.fc(x.flatten(1)), LRELU_GAIN)  # (B, C)
        return self.out(x).flatten()  # (B,)
