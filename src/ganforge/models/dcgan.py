"""DCGAN: deep convolutional generator and discriminator (Radford et al. 2015).

The generator projects z to a 4x4 map with a transposed conv, then doubles the resolution and halves
the channels with stride-2 transposed convs + BatchNorm + ReLU until `img_size`, ending in tanh. The
discriminator mirrors it with stride-2 convs + LeakyReLU(0.2) (BatchNorm on all but the first) down
to 4x4, then a 4x4 conv to one logit. With ``img_size=64, base_channels=64, z_dim=100`` the layers are
the classic 512 -> 256 -> 128 -> 64 -> 3 generator and 64 -> 128 -> 256 -> 512 -> 1 discriminator.

Class-conditional variants (``num_classes > 0``): the generator concatenates a label embedding to z;
the discriminator adds the projection term ``<embed(y), h>`` on its flattened last 4x4 features
(Miyato & Koyama 2018), the same features its final 4x4 conv reads.

Categorical codes (``codes=K > 0``, InfoGAN: Chen et al. 2016, without labels): the generator reads a
code c in 0..K-1 off its own z (the argmax of z's first K entries, so a seed still fixes the image and
z stays N(0, I)) and sees it one-hot in place of those entries; the discriminator gets a second head,
Q, that predicts c from the same 4x4 features (`forward(..., codes=True)`). Training G and Q to agree
makes each code a separate mode, so fewer samples fall between modes (between two digits).
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.errors import ConfigError
from ganforge.nn.examples import ImageInputs, NoiseInputs
from ganforge.nn.layers import check_images, check_labels, init_dcgan_weights_, maybe_spectral_norm
from ganforge.registry import MODELS

MAX_CHANNEL_MULT = 8  # widest layer is base_channels * 8, as at 64x64 in the paper; larger sizes stay there
# a code's one-hot entry: a little above the largest of 10 N(0, 1) entries (about 1.5 on average), so
# that the code weighs in G's first layer at least as much as the entries it replaces
CODE_SCALE = 2.0


def _num_stages(img_size: int) -> int:
    """Number of 2x resolution steps between 4x4 and `img_size`; raises unless it is a power of two >= 8."""
    if img_size < 8 or img_size & (img_size - 1):
        if img_size < 8:
            hint = "use --size 8 or larger (e.g. 32 or 64)"
        else:
            hint = f"use --size {1 << (img_size.bit_length() - 1)} or {1 << img_size.bit_length()}"
        raise ConfigError(
            f"DCGAN img_size must be a power of two >= 8 (8, 16, 32, 64, ...), got {img_size}; "
            f"{hint} to resize the images to fit"
        )
    return img_size.bit_length() - 3  # log2(img_size / 4)


def _check_common(img_channels: int, base_channels: int, num_classes: int) -> None:
    if img_channels < 1 or base_channels < 1:
        raise ConfigError(f"img_channels and base_channels must be >= 1, got {img_channels}, {base_channels}")
    if num_classes < 0:
        raise ConfigError(f"num_classes must be >= 0 (0: unconditional), got {num_classes}")


@MODELS.register("dcgan.G", tiny=dict(z_dim=8, img_channels=3, img_size=16, base_channels=4))
class DCGANGenerator(NoiseInputs, nn.Module):
    """DCGAN generator: z (B, z_dim) [+ labels (B,)] -> images (B, C, H, W) in [-1, 1].

    Args:
        z_dim: length of the noise vector.
        img_channels: 1 (gray) or 3 (RGB), or any other count.
        img_size: output side; a power of two >= 8.
        base_channels: channels of the last hidden layer (at img_size / 2); each layer before it
            has twice as many, up to base_channels * 8.
        num_classes: 0 for unconditional; otherwise a label embedding as wide as z is concatenated to z
            (both ~ N(0, 1) at init, so label and noise start on an equal footing).
        codes: K > 0 reads a categorical code from z's first K entries (`code_of`) and replaces them
            with its one-hot vector (InfoGAN); 0 (the default) uses z as it is.
    """

    def __init__(
        self,
        z_dim: int = 100,
        img_channels: int = 1,
        img_size: int = 32,
        base_channels: int = 64,
        num_classes: int = 0,
        codes: int = 0,
    ):
        super().__init__()
        stages = _num_stages(img_size)
        _check_common(img_channels, base_channels, num_classes)
        if z_dim < 1:
            raise ConfigError(f"z_dim must be >= 1, got {z_dim}")
        if not 0 <= codes < z_dim or codes == 1:
            raise ConfigError(f"codes must be 0 or 2..z_dim-1 ({z_dim - 1}), got {codes}")
        self.z_dim = z_dim
        self.codes = codes
        self.img_channels = img_channels
        self.img_size = img_size
        self.num_classes = num_classes

        # widths[i] is the channel count at resolution 4 * 2**i, e.g. 512, 256, 128, 64 at 64x64.
        widths = [base_channels * min(2 ** (stages - 1 - i), MAX_CHANNEL_MULT) for i in range(stages)]
        in_channels = z_dim * 2 if num_classes else z_dim
        blocks: list[nn.Module] = [
            nn.ConvTranspose2d(in_channels, widths[0], 4, 1, 0, bias=False),  # (B, widths[0], 4, 4)
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(inplace=True),
        ]
        for c_in, c_out in zip(widths[:-1], widths[1:], strict=True):
            blocks += [
                nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False),  # doubles H and W
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
            ]
        blocks += [nn.ConvTranspose2d(widths[-1], img_channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*blocks)
        init_dcgan_weights_(self.net)
        self.label_embed = nn.Embedding(num_classes, z_dim) if num_classes else None

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"DCGANGenerator expects z of shape (B, {self.z_dim}), got {tuple(z.shape)}")
        check_labels(labels, self.num_classes, z.shape[0], "DCGANGenerator")
        if self.codes:
            one_hot = nn.functional.one_hot(self.code_of(z), self.codes).to(z.dtype)
            z = torch.cat([one_hot * CODE_SCALE, z[:, self.codes :]], dim=1)
        if self.label_embed is not None:
            z = torch.cat([z, self.label_embed(labels)], dim=1)  # (B, 2 * z_dim)
        return self.net(z[:, :, None, None])  # (B, C, H, W)

    def code_of(self, z: torch.Tensor) -> torch.Tensor:
        """(B,) the categorical code each z carries: the argmax of its first `codes` entries."""
        return z[:, : self.codes].argmax(dim=1)


@MODELS.register("dcgan.D", tiny=dict(img_channels=3, img_size=16, base_channels=4))
class DCGANDiscriminator(ImageInputs, nn.Module):
    """DCGAN discriminator: images (B, C, H, W) [+ labels (B,)] -> raw logits (B,).

    Args:
        img_channels: channels of the input images.
        img_size: input side; a power of two >= 8.
        base_channels: channels after the first conv; each later conv doubles them, up to base * 8.
        num_classes: 0 for unconditional; otherwise projection discriminator (Miyato & Koyama 2018)
            on the flattened 4x4 features.
        spectral_norm: spectral normalization on every conv and the projection embedding
            (Miyato et al. 2018).
        norm: "batch" (the paper: BatchNorm on every conv but the first) or "none" (no normalization;
            use it with the gradient penalty, which is defined per sample, Gulrajani et al. 2017).
        codes: K > 0 adds the InfoGAN head Q: K logits of the generator's code from the flattened 4x4
            features, returned by `forward(images, labels, codes=True)`.
    """

    def __init__(
        self,
        img_channels: int = 1,
        img_size: int = 32,
        base_channels: int = 64,
        num_classes: int = 0,
        spectral_norm: bool = False,
        norm: str = "batch",
        codes: int = 0,
    ):
        super().__init__()
        stages = _num_stages(img_size)
        _check_common(img_channels, base_channels, num_classes)
        if norm not in ("batch", "none"):
            raise ConfigError(f"DCGAN discriminator norm must be 'batch' or 'none', got {norm!r}")
        if codes < 0:
            raise ConfigError(f"codes must be >= 0 (0: no code head), got {codes}")
        self.img_channels = img_channels
        self.img_size = img_size
        self.num_classes = num_classes

        # widths[i] is the channel count at resolution img_size / 2**(i+1), e.g. 64, 128, 256, 512 at 64x64.
        widths = [base_channels * min(2**i, MAX_CHANNEL_MULT) for i in range(stages)]
        blocks: list[nn.Module] = []
        c_in = img_channels
        for i, c_out in enumerate(widths):
            use_norm = norm == "batch" and i > 0
            blocks.append(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=not use_norm))  # halves H and W
            if use_norm:
                blocks.append(nn.BatchNorm2d(c_out))
            blocks.append(nn.LeakyReLU(0.2, inplace=True))
            c_in = c_out
        self.features = nn.Sequential(*blocks)
        self.head = nn.Conv2d(c_in, 1, 4, 1, 0)  # (B, c_in, 4, 4) -> (B, 1, 1, 1)
        init_dcgan_weights_(self)
        self.class_embed = None
        if num_classes:
            self.class_embed = nn.Embedding(num_classes, c_in * 4 * 4)
            nn.init.normal_(self.class_embed.weight, 0.0, 0.02)  # same scale as the head's weights
        self.code_head = nn.Linear(c_in * 4 * 4, codes) if codes else None

        # Spectral norm goes on after init, so that its power iteration starts from the final weights.
        for layer in [*self.features, self.head, self.class_embed]:
            if isinstance(layer, nn.Conv2d | nn.Embedding):
                maybe_spectral_norm(layer, spectral_norm)  # changes the layer in place

    def forward(
        self, images: torch.Tensor, labels: torch.Tensor | None = None, codes: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Real/fake logits (B,); with `codes=True` also the code head's (B, K) logits."""
        check_images(images, self.img_channels, self.img_size, "DCGANDiscriminator")
        check_labels(labels, self.num_classes, images.shape[0], "DCGANDiscriminator")
        h = self.features(images)  # (B, C_last, 4, 4)
        logits = self.head(h).flatten()  # (B,)
        if self.class_embed is not None:
            logits = logits + (self.class_embed(labels) * h.flatten(1)).sum(dim=1)
        if codes:
            if self.code_head is None:
                raise ValueError("DCGANDiscriminator was built without a code head (codes=0)")
            return logits, self.code_head(h.flatten(1))
        return logits
