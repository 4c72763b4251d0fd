"""U-Net generator of pix2pix (Isola et al. 2017), after Ronneberger et al. 2015.

An encoder of stride-2 4x4 convolutions halves the image `depth` times; a decoder of stride-2
transposed convolutions doubles it back, and every decoder layer also reads the encoder layer of
the same resolution (skip connections), so fine detail such as edges passes straight across and
the bottleneck only has to carry what changes. Dropout in the first decoder layers is the only
noise (the paper found a z input was ignored).

Layers (C = base_channels, widths C * 2**i capped at 8C; the paper's 256x256 model has depth 8):
  encoder   conv(in -> C); then depth-1 x [LReLU(0.2), conv, norm] (no norm at the bottleneck)
  decoder   depth-1 x [ReLU, convT(2x channels after the first), norm, dropout in the first
            `dropout_layers`]; then ReLU, convT -> out_channels, tanh
It is fully convolutional: any H and W that are multiples of 2**depth work, so a model trained on
64x64 crops translates a 640x480 photo directly or tile by tile.

Two options for photos:
- `upsample="resize"` replaces each transposed convolution by a nearest-neighbour 2x resize and
  a 3x3 convolution (Odena et al. 2016, "Deconvolution and Checkerboard Artifacts"): a stride-2
  4x4 transposed convolution gives every other output pixel a different kernel sum, which shows
  as a fine checkerboard on smooth photo areas.
- `chroma=True` (gray -> color): the network predicts only the two chroma channels Cb, Cr of
  YCbCr (ITU-R BT.601, the luma weights of `ganforge.data.derived.luminance`), and the output is
  the input's luma Y plus that chroma, converted to RGB. The output's luminance is then the input's
  exactly: no tint where the input is gray is forced, and no texture is added to the light. Chroma
  that would leave the RGB cube is scaled down per pixel (which keeps Y) instead of clipped.
- `coarse_fill=True` (inpainting, input = image + mask channel): the holes are first filled by a
  push-pull pyramid (normalized averaging down to where every pixel is known, bilinear back up,
  after the pull-push of Gortler et al. 1996, "The Lumigraph"), a smooth fill from the whole
  surrounding context at any hole size; the U-Net reads that filled image and the mask and adds a
  correction, and the known pixels are pasted back. Coarse-to-fine: the net only has to learn
  what a smooth fill gets wrong, and large holes see context beyond its receptive field.
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.errors import ConfigError
from ganforge.models.patchgan import make_norm
from ganforge.nn.layers import init_dcgan_weights_
from ganforge.registry import MODELS

MAX_CHANNEL_MULT = 8  # widest layer is 8x base_channels (512 for the paper's 64)


def _up_conv(c_in: int, c_out: int, upsample: str, bias: bool) -> list[nn.Module]:
    """Layers that double H and W: a stride-2 transposed conv, or nearest 2x resize + 3x3 conv."""
    if upsample == "transpose":
        return [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=bias)]
    return [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, 1, 1, bias=bias)]


# RGB - Y per unit of (Cb, Cr), full-range BT.601 (JPEG): luma-weighted, each column sums to 0
YCBCR_TO_RGB = ((0.0, 1.402), (-0.344136, -0.714136), (1.772, 0.0))


def push_pull_fill(images: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """Fill the unknown pixels of `images` (B, C, H, W) where `known` (B, 1, H, W) is 0: average the
    known pixels down a 2x pyramid (each level's pixel is the mean of the known ones below it) until
    nothing is missing, then fill each level's holes from the bilinearly upsampled level above.
    Known pixels are returned unchanged; an image with no known pixel comes back as zeros."""
    known = (known > 0).to(images.dtype)
    if bool(known.all()):
        return images
    if max(images.shape[-2:]) <= 1:  # the top of the pyramid: a pixel with nothing known stays 0
        return images * known
    down = nn.functional.avg_pool2d
    count = down(known, 2, ceil_mode=True)  # share of known pixels under each coarse pixel
    coarse = down(images * known, 2, ceil_mode=True) / count.clamp(min=1e-8)
    coarse = push_pull_fill(coarse, (count > 0).to(images.dtype))
    up = nn.functional.interpolate(coarse, size=images.shape[-2:], mode="bilinear", align_corners=False)
    return images * known + up * (1 - known)


def with_luma(luma: torch.Tensor, chroma: torch.Tensor) -> torch.Tensor:
    """RGB (B, 3, H, W) with BT.601 luma `luma` (B, 1, H, W) and chroma (Cb, Cr) (B, 2, H, W), all in
    [-1, 1]. Per pixel the chroma is scaled by the largest t <= 1 that keeps R, G and B in [-1, 1];
    since the chroma adds nothing to the luma, the luma stays exactly `luma`. Computed in float32."""
    with torch.autocast(device_type=luma.device.type, enabled=False):
        luma, chroma = luma.float(), chroma.float()
        matrix = torch.tensor(YCBCR_TO_RGB, device=luma.device)  # (3, 2)
        delta = torch.einsum("kc,bchw->bkhw", matrix, chroma)  # (B, 3, H, W): RGB - Y
        eps = 1e-6
        room_up = torch.where(delta > eps, (1 - luma) / delta.clamp(min=eps), torch.full_like(delta, 1.0))
        room_down = torch.where(
            delta < -eps, (-1 - luma) / delta.clamp(max=-eps), torch.full_like(delta, 1.0)
        )
        t = torch.minimum(room_up, room_down).amin(1, keepdim=True).clamp(0, 1)  # (B, 1, H, W)
        return luma + t * delta


@MODELS.register(
    "unet.G",
    tiny=dict(in_channels=1, out_channels=3, base_channels=4, depth=3),
    kind="image-to-image",  # forward(x (B, in, H, W)) -> (B, out, H, W)
)
class UNetGenerator(nn.Module):
    """U-Net: images (B, in_channels, H, W) -> images (B, out_channels, H, W) in [-1, 1].

    Args:
        in_channels: input channels (1 for gray to colour, 4 for inpainting: image + mask).
        out_channels: output channels.
        base_channels: width of the first and last layer (64 in the paper).
        depth: stride-2 down-samplings; H and W must be multiples of 2**depth. log2(size) gives a
            1x1 bottleneck, as in the paper (8 at 256x256).
        norm: "batch" (the paper) or "instance"; evaluated with running statistics in eval mode.
        dropout: dropout probability in the first decoder layers (0.5 in the paper; 0 turns it off).
        dropout_layers: how many decoder layers, from the bottleneck, get dropout (3 in the paper).
        upsample: "transpose" (the paper: stride-2 4x4 transposed convolutions) or "resize"
            (nearest 2x + 3x3 convolution: no checkerboard).
        chroma: gray -> color that keeps the input's luminance; needs in_channels=1, out_channels=3.
        chroma_scale: chroma is predicted at 1/chroma_scale of the resolution (the decoder's output
            averaged over chroma_scale x chroma_scale blocks) and upsampled bilinearly: colour is
            low-frequency, so this removes chroma speckle and tile seams without touching the light.
        coarse_fill: inpainting (in_channels = out_channels + 1, the last a mask, +1 = hole): correct
            a push-pull fill of the holes and keep the known pixels.
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        base_channels: int = 64,
        depth: int = 8,
        norm: str = "batch",
        dropout: float = 0.5,
        dropout_layers: int = 3,
        upsample: str = "transpose",
        chroma: bool = False,
        coarse_fill: bool = False,
        chroma_scale: int = 1,
    ):
        super().__init__()
        if min(in_channels, out_channels, base_channels) < 1:
            raise ConfigError(
                f"in_channels, out_channels and base_channels must be >= 1, "
                f"got {in_channels}, {out_channels}, {base_channels}"
            )
        if not 1 <= depth <= 12:
            raise ConfigError(f"U-Net depth must be 1..12, got {depth}; log2(image size) is typical")
        if norm not in ("batch", "instance"):
            raise ConfigError(f"U-Net norm must be 'batch' or 'instance', got {norm!r}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"U-Net dropout must lie in [0, 1), got {dropout}")
        if upsample not in ("transpose", "resize"):
            raise ConfigError(f"U-Net upsample must be 'transpose' or 'resize', got {upsample!r}")
        if chroma and (in_channels, out_channels) != (1, 3):
            raise ConfigError(
                f"a chroma U-Net maps gray to RGB (1 -> 3 channels), got {in_channels} -> {out_channels}"
            )
        if coarse_fill and in_channels != out_channels + 1:
            raise ConfigError(
                "a coarse_fill U-Net inpaints: it reads the image and a mask channel "
                f"(in_channels = out_channels + 1), got {in_channels} -> {out_channels}"
            )
        if chroma_scale < 1 or chroma_scale & (chroma_scale - 1) or chroma_scale > 2**depth:
            raise ConfigError(f"chroma_scale must be a power of 2 in 1..{2**depth}, got {chroma_scale}")
        if chroma_scale > 1 and not chroma:
            raise ConfigError("chroma_scale is for a chroma U-Net (chroma=True)")
        self.coarse_fill = coarse_fill
        self.chroma_scale = chroma_scale
        self.chroma = chroma
        if chroma:
            # eval-mode gain on the predicted chroma, fitted after training (`calibrate_chroma_gain`);
            # 1 while training, so that the network never learns to compensate for it
            self.register_buffer("chroma_gain", torch.ones(()))
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.depth = depth
        self.multiple = 2**depth  # H and W must be multiples of this
        bias = norm != "batch"  # BatchNorm's shift makes a conv bias redundant

        widths = [base_channels * min(2**i, MAX_CHANNEL_MULT) for i in range(depth)]
        self.down = nn.ModuleList([nn.Conv2d(in_channels, widths[0], 4, 2, 1)])
        for i in range(1, depth):
            innermost = i == depth - 1
            block: list[nn.Module] = [
                nn.LeakyReLU(0.2),
                nn.Conv2d(widths[i - 1], widths[i], 4, 2, 1, bias=bias or innermost),
            ]
            if not innermost:  # a 1x1 bottleneck has nothing to normalize over
                block.append(make_norm(norm, widths[i]))
            self.down.append(nn.Sequential(*block))

        # up[j] undoes down[depth - 1 - j]; all but the first read their input concatenated with a skip.
        self.up = nn.ModuleList()
        for j in range(depth - 1):
            i = depth - 1 - j  # the encoder level this layer comes up from
            c_in = widths[i] if j == 0 else 2 * widths[i]
            block = [
                nn.ReLU(),
                *_up_conv(c_in, widths[i - 1], upsample, bias),
                make_norm(norm, widths[i - 1]),
            ]
            if dropout > 0 and j < dropout_layers:
                block.append(nn.Dropout(dropout))
            self.up.append(nn.Sequential(*block))
        c_last = widths[0] if depth == 1 else 2 * widths[0]
        c_out = 2 if chroma else out_channels  # chroma: Cb, Cr
        self.up.append(nn.Sequential(nn.ReLU(), *_up_conv(c_last, c_out, upsample, True), nn.Tanh()))
        init_dcgan_weights_(self)  # N(0, 0.02), as in the paper

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"UNetGenerator expects (B, {self.in_channels}, H, W), got {tuple(x.shape)}")
        h, w = x.shape[-2:]
        if h % self.multiple or w % self.multiple:
            raise ValueError(
                f"UNetGenerator with depth {self.depth} needs H and W that are multiples of "
                f"{self.multiple}, got {h}x{w}; pad the image (ganforge.pipelines.tiling.pad_to_multiple)"
            )
        luma = x
        if self.coarse_fill:
            known = (x[:, -1:] <= 0).to(x.dtype)  # the mask channel: +1 hole, -1 known
            coarse = push_pull_fill(x[:, :-1], known)
            x = torch.cat([coarse, x[:, -1:]], dim=1)
        skips = []
        for layer in self.down:
            x = layer(x)
            skips.append(x)  # skips[i]: (B, widths[i], H / 2**(i+1), W / 2**(i+1))
        x = self.up[0](skips.pop())
        for layer in self.up[1:]:
            x = layer(torch.cat([x, skips.pop()], dim=1))  # (B, 2 * width, h, w)
        if self.coarse_fill:
            # the tanh output is a correction of the smooth fill; known pixels stay exactly as given
            return coarse * known + (coarse + x).clamp(-1, 1) * (1 - known)
        if self.chroma_scale > 1:  # (before the chroma check: calibrate_chroma_gain reads this raw chroma)
            low = nn.functional.avg_pool2d(x, self.chroma_scale)
            x = nn.functional.interpolate(low, size=(h, w), mode="bilinear", align_corners=False)
        if not self.chroma:
            return x
        return with_luma(luma, x if self.training else x * self.chroma_gain)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        if self.chroma and prefix + "chroma_gain" not in state_dict:  # saved before the gain existed
            state_dict[prefix + "chroma_gain"] = torch.ones(())
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @torch.no_grad()
    def calibrate_chroma_gain(self, images: torch.Tensor, batch_size: int = 32) -> float:
        """Fit `chroma_gain` to color images (N, 3, H, W) in [-1, 1] (training data): the least-squares
        scale of the predicted chroma onto the true one. An L1/GAN-trained colorizer on photos picks
        plausible but often wrong hues; shrinking them by this factor trades a little colorfulness
        for a closer color, the classic shrinkage of a noisy regression. Returns the gain (in [0, 1])."""
        if not self.chroma:
            raise ValueError("calibrate_chroma_gain needs a chroma U-Net")
        was_training = self.training
        self.eval()
        self.chroma = False  # the raw (Cb, Cr) prediction
        try:
            weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
            dot = norm = 0.0
            for start in range(0, len(images), batch_size):
                rgb = images[start : start + batch_size].float()
                y = (rgb * weights).sum(1, keepdim=True)
                true = torch.cat([(rgb[:, 2:3] - y) / 1.772, (rgb[:, 0:1] - y) / 1.402], 1)  # (B, 2, H, W)
                device = next(self.parameters()).device
                guess = self(y.to(device)).float().cpu()
                dot += float((guess * true).sum())
                norm += float(guess.square().sum())
        finally:
            self.chroma = True
            self.train(was_training)
        gain = min(1.0, max(0.0, dot / norm)) if norm > 0 else 1.0
        self.chroma_gain.fill_(gain)
        return gain

    def example_inputs(self, batch: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        """Valid inputs for a forward pass: (images,) at the smallest size, 2**depth square."""
        device = next(self.parameters()).device
        images = torch.rand((batch, self.in_channels, self.multiple, self.multiple), generator=generator)
        return ((images * 2 - 1).to(device),)
