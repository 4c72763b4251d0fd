"""Progressive GAN generator and discriminator (Karras et al. 2017, "Progressive Growing of GANs for
Improved Quality, Stability, and Variation").

Both networks are built at their final size from fixed constructor arguments; how far they have
grown lives in two buffers, `stage` (0 is 4x4, each stage doubles the resolution) and `alpha` (the
fade-in weight of the newest stage, 1 when it is fully in). The recipe sets them every step with
`set_growth`; EMA copies and bundles carry them, so a bundle samples at the stage it was trained to.

While a stage fades in, G's output is ``lerp(upsample(to_rgb_prev(h_prev)), to_rgb(h), alpha)`` and D
reads ``lerp(from_rgb_prev(downsample(x)), block(from_rgb(x)), alpha)``. G always returns
`img_size` images (the current stage's image, nearest-upsampled) and D always takes them and
average-pools to the current stage, so shapes never change as the networks grow. The blend is
computed at alpha = 1 too (it is then exactly the new path), which keeps the graph the same at
every step.

The layers: equalized learning rate everywhere, pixel norm after every conv in G, leaky ReLU(0.2),
minibatch standard deviation before D's last block; no batch norm.
"""

from __future__ import annotations

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
from ganforge.registry import MODELS


def num_stages(img_size: int) -> int:
    """Stages from 4x4 to `img_size` (4x4 is stage 0); raises unless `img_size` is a power of two >= 8."""
    if img_size < 8 or img_size & (img_size - 1):
        raise ConfigError(
            f"ProGAN img_size must be a power of two >= 8 (8, 16, ..., 128, 256, ...), got {img_size}; "
            "use --size 64 or --size 128, for example"
        )
    return img_size.bit_length() - 2  # 4 -> 1 stage, 8 -> 2, ...


def _channels(res: int, channel_base: int, max_channels: int) -> int:
    return max(1, min(channel_base // res, max_channels))


class _Growing(nn.Module):
    """The growth buffers shared by G and D."""

    def _init_growth(self, stages: int) -> None:
        self.num_stages = stages
        self.register_buffer("stage", torch.tensor(stages - 1, dtype=torch.int64))
        self.register_buffer("alpha", torch.tensor(1.0))

    def set_growth(self, stage: int, alpha: float) -> None:
        """Grow to `stage` (0: 4x4) with the newest stage faded in by `alpha` in [0, 1]."""
        if not 0 <= stage < self.num_stages or not 0.0 <= alpha <= 1.0:
            raise ValueError(
                f"growth stage {stage} / alpha {alpha} out of range (stages 0..{self.num_stages - 1})"
            )
        self.stage.fill_(stage)
        self.alpha.fill_(alpha)

    @property
    def resolution(self) -> int:
        """The side of the images at the current stage."""
        return 4 * 2 ** int(self.stage)


class GBlock(nn.Sequential):
    """Nearest 2x upsample, then two 3x3 conv + leaky ReLU + pixel norm."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__(
            EqualizedConv2d(c_in, c_out, 3, gain=LRELU_GAIN),
            EqualizedConv2d(c_out, c_out, 3, gain=LRELU_GAIN),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        for conv in self:
            x = pixel_norm(lrelu(conv(x)))
        return x


@MODELS.register("progan.G", tiny=dict(z_dim=8, img_channels=3, img_size=8, channel_base=64, max_channels=8))
class ProGANGenerator(NoiseInputs, _Growing):
    """ProGAN generator: z (B, z_dim) -> images (B, C, img_size, img_size) in [-1, 1] at the current stage.

    Args:
        channel_base, max_channels: feature maps at resolution r are min(channel_base // r, max_channels)
            (the paper: 8192 and 512, i.e. 512 up to 16x16, then halving).
    """

    def __init__(
        self,
        z_dim: int = 512,
        img_channels: int = 3,
        img_size: int = 128,
        channel_base: int = 8192,
        max_channels: int = 512,
    ):
        super().__init__()
        stages = num_stages(img_size)
        if min(z_dim, img_channels, channel_base, max_channels) < 1:
            raise ConfigError("ProGAN z_dim, img_channels, channel_base and max_channels must be >= 1")
        self.z_dim, self.img_channels, self.img_size, self.num_classes = z_dim, img_channels, img_size, 0
        ch = [_channels(4 * 2**k, channel_base, max_channels) for k in range(stages)]
        # 4x4: a dense layer (the paper's 4x4 transposed conv, gain sqrt(2)/4) then a 3x3 conv
        self.dense = EqualizedLinear(z_dim, ch[0] * 16, gain=LRELU_GAIN / 4)
        self.conv4 = EqualizedConv2d(ch[0], ch[0], 3, gain=LRELU_GAIN)
        self.blocks = nn.ModuleList(GBlock(ch[k - 1], ch[k]) for k in range(1, stages))
        self.to_rgb = nn.ModuleList(EqualizedConv2d(c, img_channels, 1) for c in ch)
        self._init_growth(stages)

    def forward(
        self, z: torch.Tensor, labels: torch.Tensor | None = None, clamp: bool = True
    ) -> torch.Tensor:
        """Images at the current stage, upsampled to img_size; `clamp=False` gives the raw output
        that D trains on."""
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"ProGANGenerator expects z of shape (B, {self.z_dim}), got {tuple(z.shape)}")
        check_labels(labels, 0, z.shape[0], "ProGANGenerator")
        stage = int(self.stage)
        x = pixel_norm(lrelu(self.dense(pixel_norm(z))).view(z.shape[0], -1, 4, 4))  # (B, C, 4, 4)
        x = pixel_norm(lrelu(self.conv4(x)))
        previous = x
        for block in self.blocks[:stage]:
            previous, x = x, block(x)
        img = self.to_rgb[stage](x)
        if stage > 0:
            skip = F.interpolate(self.to_rgb[stage - 1](previous), scale_factor=2, mode="nearest")
            img = torch.lerp(skip, img, self.alpha)  # exactly img at alpha = 1
        factor = self.img_size // img.shape[-1]
        if factor > 1:
            img = F.interpolate(img, scale_factor=factor, mode="nearest")  # (B, C, img_size, img_size)
        return img.clamp(-1, 1) if clamp else img


class DBlock(nn.Sequential):
    """Two 3x3 conv + leaky ReLU, then a 2x average-pool down."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__(
            EqualizedConv2d(c_in, c_in, 3, gain=LRELU_GAIN), EqualizedConv2d(c_in, c_out, 3, gain=LRELU_GAIN)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self:
            x = lrelu(conv(x))
        return F.avg_pool2d(x, 2)


@MODELS.register("progan.D", tiny=dict(img_channels=3, img_size=8, channel_base=64, max_channels=8))
class ProGANDiscriminator(ImageInputs, _Growing):
    """ProGAN discriminator: images (B, C, img_size, img_size) -> logits (B,), read at the current stage."""

    def __init__(
        self,
        img_channels: int = 3,
        img_size: int = 128,
        channel_base: int = 8192,
        max_channels: int = 512,
        mbstd_group: int = 4,
    ):
        super().__init__()
        stages = num_stages(img_size)
        self.img_channels, self.img_size, self.num_classes = img_channels, img_size, 0
        ch = [_channels(4 * 2**k, channel_base, max_channels) for k in range(stages)]
        self.from_rgb = nn.ModuleList(EqualizedConv2d(img_channels, c, 1, gain=LRELU_GAIN) for c in ch)
        self.blocks = nn.ModuleList(
            DBlock(ch[k], ch[k - 1]) for k in range(1, stages)
        )  # blocks[k-1]: res k -> k-1
        self.mbstd = MinibatchStdDev(mbstd_group, 1)
        self.conv4 = EqualizedConv2d(ch[0] + 1, ch[0], 3, gain=LRELU_GAIN)
        self.dense = EqualizedLinear(ch[0] * 16, ch[0], gain=LRELU_GAIN)
        self.out = EqualizedLinear(ch[0], 1)
        self._init_growth(stages)

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        check_images(images, self.img_channels, self.img_size, "ProGANDiscriminator")
        check_labels(labels, 0, images.shape[0], "ProGANDiscriminator")
        stage = int(self.stage)
        factor = self.img_size // (4 * 2**stage)
        x = F.avg_pool2d(images, factor) if factor > 1 else images  # (B, C, res, res) at the current stage
        h = lrelu(self.from_rgb[stage](x))
        if stage > 0:
            h = self.blocks[stage - 1](h)
            skip = lrelu(self.from_rgb[stage - 1](F.avg_pool2d(x, 2)))
            h = torch.lerp(skip, h, self.alpha)
        for k in range(stage - 1, 0, -1):
            h = self.blocks[k - 1](h)
        h = lrelu(self.conv4(self.mbstd(h)))  # (B, C, 4, 4)
        h = lrelu(self.dense(h.flatten(1)))
        return self.out(h).flatten()  # (B,)


def downsample_reals(real: torch.Tensor, stage: int, alpha: float, img_size: int) -> torch.Tensor:
    """Real images as the networks see them at `stage` / `alpha`: average-pooled to the stage's side,
    blended with the previous stage's (upsampled) during a fade-in, as the paper does, then
    nearest-upsampled back to `img_size` so that they have the same shape as G's output."""
    res = 4 * 2**stage
    factor = img_size // res
    x = F.avg_pool2d(real, factor) if factor > 1 else real
    if stage > 0 and alpha < 1.0:
        low = F.interpolate(F.avg_pool2d(x, 2), scale_factor=2, mode="nearest")
        x = torch.lerp(low, x, alpha)
    return F.interpolate(x, scale_factor=factor, mode="nearest") if factor > 1 else x
