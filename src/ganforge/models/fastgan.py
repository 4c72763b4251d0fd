"""A FastGAN-style generator and self-supervised discriminator (Liu et al. 2021, "Towards Faster and
Stabilized GAN Training for High-fidelity Few-shot Image Synthesis"), sized for CPU minutes.

Generator: z -> 4x4 (transposed conv) -> [nearest upsample x2, conv3x3, BatchNorm, GLU] per
resolution -> conv3x3 -> tanh. Options from the paper's code: per-pixel noise after every conv
(`noise`, with a learned strength starting at 0) and a second conv3x3 (with its noise, BatchNorm and
GLU) in the blocks of the resolutions `double_at`, as its UpBlockComp. Skip-layer excitation (SLE)
lets a low-resolution map gate the channels of a map 8 times larger: the small map is pooled to
4x4, a 4x4 conv takes it to 1x1, then LeakyReLU, a 1x1 conv and a sigmoid give one gate per channel
of the large map. Gates come from 4x4 -> 32x32 and 8x8 -> 64x64 (and 16 -> 128, 32 -> 256 at larger
sizes), as the paper's 8 -> 128, 16 -> 256, 32 -> 512 scaled down.

Discriminator: stride-2 4x4 convs with BatchNorm and LeakyReLU(0.2) down to 8x8, then (with
`mbstd_group` > 0) minibatch standard deviation (Karras et al. 2017) and a 1x1 conv. Its head is
either the paper's, a 4x4 conv to a 5x5 map of real/fake logits averaged to one logit (`head`
"patch": each logit sees 46x46 pixels of a 64 px image, so D is a sum of patch judgments), or
(`head` "global") a 4x4 conv to `head_width` maps at those 5x5 positions, LeakyReLU, and a hidden
layer of `head_hidden` units over all of them (LeakyReLU, then one logit): one judgment of the
whole image, whose parts it can weigh against each other. On real images two small
decoders (upsample, conv3x3, BatchNorm, GLU) reconstruct the whole image (at half size) from the
8x8 features, and one random quadrant (at full size) from the matching quadrant of the 16x16
features: D must describe the image, not just separate it from fakes, which is the paper's answer
to a discriminator that overfits a thousand images. The paper compares reconstructions with
LPIPS; ganforge uses L1 (no VGG weights offline).

Widths follow StyleGAN's rule, min(channel_base // resolution, max_channels). Spectral norm on
every conv, as in the paper's code, is a switch.

Class-conditional (`num_classes` > 0; not in the paper): G takes a learned embedding of the class
(`class_dim` numbers) beside z, and D adds a projection term (Miyato & Koyama 2018) to its logit,
the dot product of a learned class embedding with the global head's hidden layer (or with the patch
head's pooled features). G's `class_weights` (the training data's class frequencies, kept with the
model) are what `ganforge sample` and `ganforge eval` draw classes from, so that a model of
unbalanced classes is measured against data of the same balance.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.errors import ConfigError
from ganforge.nn.equalized import MinibatchStdDev
from ganforge.nn.layers import check_images, check_labels, maybe_spectral_norm
from ganforge.nn.modulated import NoiseInjection, NoiseMode
from ganforge.registry import MODELS

SIZES = (32, 64, 128, 256)
D_HEADS = ("patch", "global")
UP_RESOLUTIONS = tuple(8 * 2**i for i in range(int(math.log2(max(SIZES) // 8)) + 1))  # G's up blocks: 8..256


def _check(img_size: int, channel_base: int, max_channels: int) -> None:
    if img_size not in SIZES:
        raise ConfigError(f"fastgan img_size must be one of {', '.join(map(str, SIZES))}, got {img_size}")
    if channel_base < 1 or max_channels < 1:
        raise ConfigError(f"channel_base and max_channels must be >= 1, got {channel_base}, {max_channels}")


def widths(img_size: int, channel_base: int, max_channels: int) -> dict[int, int]:
    """Channels at each resolution 4 .. img_size: min(channel_base // r, max_channels), at least 4."""
    levels = [4 * 2**i for i in range(int(math.log2(img_size // 4)) + 1)]
    return {r: max(4, min(channel_base // r, max_channels)) for r in levels}


def conv(c_in: int, c_out: int, kernel: int, stride: int = 1, padding: int = 0, sn: bool = True) -> nn.Module:
    return maybe_spectral_norm(nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=False), sn)


class UpBlock(nn.Module):
    """Nearest upsample x2, conv3x3, [noise], BatchNorm, GLU, and with `double` a second conv3x3,
    [noise], BatchNorm, GLU: (B, c_in, r, r) -> (B, c_out, 2r, 2r). `noise_res` is the output
    resolution (2r) for noise injection (None: no noise)."""

    def __init__(self, c_in: int, c_out: int, sn: bool, double: bool = False, noise_res: int | None = None):
        super().__init__()
        self.conv = conv(c_in, 2 * c_out, 3, padding=1, sn=sn)
        self.norm = nn.BatchNorm2d(2 * c_out)
        self.noise = None if noise_res is None else NoiseInjection(noise_res)
        self.conv2 = conv(c_out, 2 * c_out, 3, padding=1, sn=sn) if double else None
        self.norm2 = nn.BatchNorm2d(2 * c_out) if double else None
        self.noise2 = None if noise_res is None or not double else NoiseInjection(noise_res)

    def forward(
        self, x: torch.Tensor, noise_mode: NoiseMode = "none", generator: torch.Generator | None = None
    ) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        stages = [(self.conv, self.noise, self.norm)]
        if self.conv2 is not None:
            stages.append((self.conv2, self.noise2, self.norm2))
        for conv_, noise, norm in stages:
            x = conv_(x)
            if noise is not None:
                x = noise(x, noise_mode, generator)
            x = F.glu(norm(x), dim=1)
        return x


class SkipExcitation(nn.Module):
    """Skip-layer excitation: per-channel gates (B, c_big, 1, 1) for a large map from a small one."""

    def __init__(self, c_small: int, c_big: int, sn: bool):
        super().__init__()
        self.squeeze = conv(c_small, c_big, 4, sn=sn)  # 4x4 -> 1x1
        self.excite = conv(c_big, c_big, 1, sn=sn)

    def forward(self, small: torch.Tensor, big: torch.Tensor) -> torch.Tensor:
        gate = F.adaptive_avg_pool2d(small, 4)  # (B, c_small, 4, 4)
        gate = torch.sigmoid(self.excite(F.leaky_relu(self.squeeze(gate), 0.1)))  # (B, c_big, 1, 1)
        return big * gate


@MODELS.register("fastgan.G", tiny=dict(z_dim=8, img_size=32, channel_base=64, max_channels=8))
class FastGANGenerator(nn.Module):
    """FastGAN-style generator: z (B, z_dim) -> images (B, C, img_size, img_size) in [-1, 1].

    Args:
        z_dim: length of z.
        img_channels: output channels.
        img_size: 32, 64, 128 or 256.
        channel_base, max_channels: width at resolution r is min(channel_base // r, max_channels).
        spectral_norm: spectral norm on every conv (the paper's code does).
        noise: per-pixel noise after every conv of the up blocks, with a learned strength starting at
            0 (the paper's code): fresh from `generator` with noise_mode "random" (training), a fixed
            stored map with "const" (the default in eval mode: samples are a function of z).
        double_at: resolutions (8 .. img_size) whose up block has a second conv (the paper's
            UpBlockComp at 8, 32, 128 and 512 px); None: none.
        num_classes: classes of a conditional G (0: unconditional); forward then takes labels (B,).
        class_dim: length of the class embedding that joins z.
        class_weights: relative frequency of each class (num_classes numbers; None: equal).
    """

    def __init__(
        self,
        z_dim: int = 128,
        img_channels: int = 3,
        img_size: int = 64,
        channel_base: int = 2048,
        max_channels: int = 128,
        spectral_norm: bool = True,
        noise: bool = False,
        double_at: list[int] | None = None,
        num_classes: int = 0,
        class_dim: int = 32,
        class_weights: list[float] | None = None,
    ):
        super().__init__()
        _check(img_size, channel_base, max_channels)
        if z_dim < 1 or img_channels < 1:
            raise ConfigError(f"z_dim and img_channels must be >= 1, got {z_dim}, {img_channels}")
        _check_classes(num_classes, class_dim, class_weights)
        self.z_dim, self.img_channels, self.img_size = z_dim, img_channels, img_size
        self.num_classes = num_classes
        self.class_embed = nn.Embedding(num_classes, class_dim) if num_classes else None
        if num_classes:  # unconditional models keep the state dict they always had
            weights = torch.tensor(class_weights or [1.0] * num_classes, dtype=torch.float32)
            self.register_buffer("class_weights", weights / weights.sum())
            # how much of the class embedding reaches G (1: all); training ramps it up from 0
            self.register_buffer("class_scale", torch.ones(()))
        ch = widths(img_size, channel_base, max_channels)
        self.resolutions = list(ch)
        double_at = list(double_at or [])
        bad = sorted(set(double_at) - set(self.resolutions[1:]))
        if bad:
            raise ConfigError(
                f"double_at {bad} are not resolutions of this generator's up blocks; use some of "
                f"{', '.join(map(str, self.resolutions[1:]))}"
            )
        sn = spectral_norm
        z_in = z_dim + (class_dim if num_classes else 0)
        self.init = maybe_spectral_norm(nn.ConvTranspose2d(z_in, 2 * ch[4], 4, bias=False), sn)
        self.init_norm = nn.BatchNorm2d(2 * ch[4])
        self.up = nn.ModuleDict(
            {
                str(r): UpBlock(ch[r // 2], ch[r], sn, double=r in double_at, noise_res=r if noise else None)
                for r in self.resolutions[1:]
            }
        )
        # gate the map at 8r from the map at r, for every r >= 4 with 8r <= img_size
        self.sle = nn.ModuleDict(
            {str(8 * r): SkipExcitation(ch[r], ch[8 * r], sn) for r in self.resolutions if 8 * r <= img_size}
        )
        self.to_rgb = conv(ch[img_size], img_channels, 3, padding=1, sn=sn)

    def forward(
        self,
        z: torch.Tensor,
        labels: torch.Tensor | None = None,
        noise_mode: NoiseMode | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """z (B, z_dim) -> images; noise_mode (with `noise`): None is random in training mode, const
        in eval mode."""
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"FastGANGenerator expects z of shape (B, {self.z_dim}), got {tuple(z.shape)}")
        check_labels(labels, self.num_classes, z.shape[0], "FastGANGenerator")
        mode = noise_mode or ("random" if self.training else "const")
        if self.class_embed is not None:
            embedded = self.class_scale * self.class_embed(labels)
            z = torch.cat([z, embedded.to(z.dtype)], dim=1)  # (B, z_dim + class_dim)
        x = F.glu(self.init_norm(self.init(z[:, :, None, None])), dim=1)  # (B, ch4, 4, 4)
        feats = {4: x}
        for r in self.resolutions[1:]:
            x = self.up[str(r)](x, mode, generator)  # (B, ch_r, r, r)
            if str(r) in self.sle:
                x = self.sle[str(r)](feats[r // 8], x)
            feats[r] = x
        # the last conv (a few maps in, 3 out, at full size) in channels-last memory: oneDNN's NCHW
        # kernels for so few output channels are slow (8 -> 3 maps at 64 px, batch 16, one thread:
        # 8.4 ms forward and backward in bf16, 2.8 ms channels-last), a step 5% faster; same values
        x = x.contiguous(memory_format=torch.channels_last)
        return torch.tanh(self.to_rgb(x)).contiguous()

    def example_inputs(self, batch: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        device = next(self.parameters()).device
        z = torch.randn(batch, self.z_dim, generator=generator).to(device)
        if not self.num_classes:
            return (z,)
        return z, (torch.arange(batch) % self.num_classes).to(device)


def _check_classes(num_classes: int, class_dim: int, class_weights: list[float] | None) -> None:
    if num_classes < 0 or num_classes == 1 or class_dim < 1:
        raise ConfigError(
            f"num_classes must be 0 (unconditional) or >= 2 and class_dim >= 1, got "
            f"{num_classes}, {class_dim}"
        )
    if class_weights is not None and (
        len(class_weights) != num_classes or min(class_weights, default=1) < 0 or sum(class_weights) <= 0
    ):
        raise ConfigError(
            f"class_weights must be {num_classes} numbers >= 0 with a positive sum, got {class_weights}"
        )


class DownBlock(nn.Module):
    """conv4x4 stride 2, BatchNorm, LeakyReLU(0.2): (B, c_in, 2r, 2r) -> (B, c_out, r, r)."""

    def __init__(self, c_in: int, c_out: int, sn: bool):
        super().__init__()
        self.conv = conv(c_in, c_out, 4, stride=2, padding=1, sn=sn)
        self.norm = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(self.norm(self.conv(x)), 0.2)


class Decoder(nn.Module):
    """The discriminator's small decoder: (B, c_in, 8, 8) -> (B, C, 8 * 2**ups, ...) in [-1, 1]."""

    def __init__(self, c_in: int, img_channels: int, ups: int, width: int, sn: bool):
        super().__init__()
        blocks, c = [], c_in
        for i in range(ups):
            c_out = max(4, width // 2**i)
            blocks.append(UpBlock(c, c_out, sn))
            c = c_out
        self.blocks = nn.Sequential(*blocks)
        self.to_rgb = conv(c, img_channels, 3, padding=1, sn=sn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.to_rgb(self.blocks(x)))


@MODELS.register(
    "fastgan.D",
    tiny=dict(img_size=32, channel_base=64, max_channels=8),
    aux_params=("decode_whole", "decode_part"),  # used by `reconstruct` on real images only
)
class FastGANDiscriminator(nn.Module):
    """FastGAN-style self-supervised discriminator: images (B, C, S, S) -> real/fake logit (B,).

    `D.outputs(images)` also returns the 16x16 and 8x8 feature maps that `D.reconstruct` decodes:
    the whole image at S/2 from the 8x8 map, and one quadrant at S/2 from the 16x16 map's quadrant.

    Args: as `fastgan.G`, and mbstd_group: images per minibatch-standard-deviation group before the
    head (0: none; StyleGAN's 4); head: "patch" (the mean of a 5x5 map of logits, the paper's) or
    "global" (`head_width` maps at those 5x5 positions, a hidden layer of `head_hidden` units over
    all of them, one logit); num_classes: classes of a conditional D (0: none), whose logit adds the
    projection of the class embedding on the global head's hidden layer (the patch head's pooled
    8x8 features).
    """

    def __init__(
        self,
        img_channels: int = 3,
        img_size: int = 64,
        channel_base: int = 2048,
        max_channels: int = 128,
        spectral_norm: bool = True,
        mbstd_group: int = 0,
        head: str = "patch",
        head_width: int = 32,
        head_hidden: int = 64,
        num_classes: int = 0,
    ):
        super().__init__()
        _check(img_size, channel_base, max_channels)
        _check_classes(num_classes, 1, None)
        if img_channels < 1:
            raise ConfigError(f"img_channels must be >= 1, got {img_channels}")
        if head not in D_HEADS or min(head_width, head_hidden) < 1:
            raise ConfigError(
                f"fastgan.D head must be one of {', '.join(D_HEADS)} with head_width and head_hidden "
                f">= 1, got {head!r}, {head_width}, {head_hidden}"
            )
        if mbstd_group < 0:
            raise ConfigError(f"mbstd_group must be >= 0 (0: no minibatch std), got {mbstd_group}")
        self.img_channels, self.img_size, self.num_classes = img_channels, img_size, num_classes
        ch = widths(img_size, channel_base, max_channels)
        sn = spectral_norm
        # the first conv has no norm, as in DCGAN's and the paper's discriminators
        self.from_rgb = conv(img_channels, ch[img_size // 2], 4, stride=2, padding=1, sn=sn)
        downs = [r for r in reversed(list(ch)) if 8 <= r < img_size // 2]
        self.down = nn.ModuleDict({str(r): DownBlock(ch[2 * r], ch[r], sn) for r in downs})
        # images of a group of mbstd_group (any batch size works) see their features' spread
        self.mbstd = MinibatchStdDev(mbstd_group) if mbstd_group else None
        c_top = ch[8] + (1 if mbstd_group else 0)
        top = [conv(c_top, ch[8], 1, sn=sn), nn.BatchNorm2d(ch[8]), nn.LeakyReLU(0.2)]
        if head == "patch":
            top.append(conv(ch[8], 1, 4, sn=sn))  # (B, 1, 5, 5): 25 patch logits, averaged
        else:  # (B, head_width, 5, 5) -> (B, head_hidden) from every position -> one logit
            top += [conv(ch[8], head_width, 4, sn=sn), nn.LeakyReLU(0.2), nn.Flatten()]
            top += [maybe_spectral_norm(nn.Linear(head_width * 25, head_hidden), sn), nn.LeakyReLU(0.2)]
            top.append(maybe_spectral_norm(nn.Linear(head_hidden, 1), sn))
        self.head = nn.Sequential(*top)
        # the projection acts on the global head's hidden layer, or on the patch head's 8x8 features pooled
        c_projected = head_hidden if head == "global" else ch[8]
        self.class_embed = (
            maybe_spectral_norm(nn.Embedding(num_classes, c_projected), sn) if num_classes else None
        )
        ups = int(math.log2(img_size // 2 // 8))  # 8x8 -> S/2
        self.decode_whole = Decoder(ch[8], img_channels, ups, ch[16], sn)
        self.decode_part = Decoder(ch[16], img_channels, ups, ch[16], sn)

    def outputs(
        self, images: torch.Tensor, labels: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(logits (B,), features at 16x16 (B, c16, 16, 16), features at 8x8 (B, c8, 8, 8)); a
        conditional D needs the images' labels (B,), and its logit is `judge`'s two terms summed."""
        base, projection, feat16, feat8 = self.judge(images, labels)
        return with_class(base, projection), feat16, feat8

    def judge(
        self, images: torch.Tensor, labels: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, torch.Tensor]:
        """(the head's own logit (B,), the class projection (B,) or None when unconditional,
        features at 16x16, features at 8x8): the terms a transition to conditioning weighs apart."""
        check_images(images, self.img_channels, self.img_size, "FastGANDiscriminator")
        check_labels(labels, self.num_classes, images.shape[0], "FastGANDiscriminator")
        x = F.leaky_relu(self.from_rgb(images), 0.2)  # (B, c, S/2, S/2)
        feats = {self.img_size // 2: x}
        for r, block in self.down.items():
            x = block(x)
            feats[int(r)] = x
        x = x if self.mbstd is None else self.mbstd(x)
        if self.class_embed is None:
            return self.head(x).flatten(1).mean(1), None, feats[16], feats[8]  # (B,), either head
        if isinstance(self.head[-1], nn.Linear):  # global: (B, head_hidden), the hidden layer
            hidden = self.head[:-1](x)
            base, pooled = self.head[-1](hidden).flatten(), hidden
        else:  # patch: the 8x8 features after the 1x1 conv, pooled (B, c8)
            hidden = self.head[:3](x)
            base, pooled = self.head[3:](hidden).flatten(1).mean(1), hidden.mean((2, 3))
        projection = (self.class_embed(labels).to(pooled.dtype) * pooled).sum(1)
        return base, projection, feats[16], feats[8]

    def reconstruct(
        self, feat16: torch.Tensor, feat8: torch.Tensor, quadrant: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(the whole image at S/2, quadrant `quadrant` (0..3, row-major) at S/2) from D's features."""
        row, col = divmod(quadrant, 2)
        part = feat16[:, :, 8 * row : 8 * row + 8, 8 * col : 8 * col + 8]  # (B, c16, 8, 8)
        return self.decode_whole(feat8), self.decode_part(part)

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.outputs(images, labels)[0]

    def example_inputs(self, batch: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        device = next(self.parameters()).device
        shape = (batch, self.img_channels, self.img_size, self.img_size)
        images = (torch.rand(shape, generator=generator) * 2 - 1).to(device)
        if not self.num_classes:
            return (images,)
        return images, (torch.arange(batch) % self.num_classes).to(device)


def with_class(base: torch.Tensor, projection: torch.Tensor | None) -> torch.Tensor:
    """A conditional D's logit, its head's own plus the class projection (`judge`'s two terms); an
    unconditional D's (projection None) as it is."""
    return base if projection is None else base + projection


def reconstruction_targets(real: torch.Tensor, quadrant: int) -> tuple[torch.Tensor, torch.Tensor]:
    """What D's decoders should give for real images (B, C, S, S): the whole image at S/2 (area
    downsampling) and quadrant `quadrant` (row-major) at S/2, which is its own full resolution."""
    size = real.shape[-1]
    half = size // 2
    row, col = divmod(quadrant, 2)
    whole = F.interpolate(real, size=half, mode="area")
    part = real[:, :, row * half : (row + 1) * half, col * half : (col + 1) * half]
    return whole, part
