"""Modulated and demodulated convolution and noise injection (Karras et al. 2020, "Analyzing and
Improving the Image Quality of StyleGAN", section 2.2), in plain PyTorch.

A style s (one scale per input channel, from an affine map of w) modulates the weights,
``w'_ijk = s_i * w_ijk``; demodulation rescales every output channel j by
``1 / sqrt(sum_ik w'_ijk**2 + eps)``, so that unit-variance inputs give unit-variance outputs. This
replaces StyleGAN1's AdaIN, whose explicit normalization caused the "droplet" artifacts.

Two equivalent ways to compute it: the grouped convolution of the paper (one weight per sample,
``groups=B``) and the "non-fused" form that scales the activations before and after one shared
convolution. The second is much faster on CPUs and is the default; a test checks they agree.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.nn.equalized import EqualizedLinear

NoiseMode = Literal["random", "const", "none"]


def modulated_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    styles: torch.Tensor,
    demodulate: bool = True,
    fused: bool = False,
    eps: float = 1e-8,
) -> torch.Tensor:
    """Modulated 'same' convolution of x (B, C_in, H, W) with weight (C_out, C_in, k, k), styles (B, C_in).

    `fused=True` runs the paper's grouped convolution; `fused=False` the equivalent non-fused form.
    """
    b, c_in, h, w = x.shape
    c_out, _, k, _ = weight.shape
    if styles.shape != (b, c_in) or weight.shape[1] != c_in:
        raise ValueError(
            f"modulated_conv2d: x {tuple(x.shape)}, weight {tuple(weight.shape)} and styles "
            f"{tuple(styles.shape)} do not fit together"
        )
    pad = k // 2
    demod = None
    if demodulate:
        # sum over (i, k, k) of (s_i w_ji..)**2 = (w**2 summed over kernel) @ s**2
        demod = torch.rsqrt(styles.square() @ weight.square().sum(dim=(2, 3)).t() + eps)  # (B, C_out)
    if not fused:
        y = F.conv2d(x * styles[:, :, None, None], weight, padding=pad)  # (B, C_out, H, W)
        return y * demod[:, :, None, None] if demod is not None else y
    wb = weight[None] * styles[:, None, :, None, None]  # (B, C_out, C_in, k, k)
    if demod is not None:
        wb = wb * demod[:, :, None, None, None]
    y = F.conv2d(x.reshape(1, b * c_in, h, w), wb.reshape(b * c_out, c_in, k, k), padding=pad, groups=b)
    return y.reshape(b, c_out, h, w)  # (B, C_out, H, W)


class ModulatedConv2d(nn.Module):
    """A convolution whose weights a style vector w modulates (and, by default, demodulates).

    Args:
        w_dim: length of w; the style affine maps it to one scale per input channel (bias starts at 1).
        upsample: double H and W (bilinear) before the convolution.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        w_dim: int,
        demodulate: bool = True,
        upsample: bool = False,
    ):
        super().__init__()
        self.affine = EqualizedLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.weight_scale = 1.0 / math.sqrt(in_channels * kernel_size * kernel_size)
        self.demodulate, self.upsample = demodulate, upsample

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w)  # (B, C_in)
        if not self.demodulate:
            styles = styles * self.weight_scale  # without demodulation the He scale must stay (to-RGB)
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        return modulated_conv2d(x, self.weight, styles, self.demodulate)


class NoiseInjection(nn.Module):
    """Adds per-pixel Gaussian noise times a learned strength (starting at 0), one noise map per image.

    Modes: "random" draws fresh noise from `generator` (training), "const" uses a fixed map stored as
    a buffer (deterministic sampling; bundles carry it), "none" adds nothing.
    """

    def __init__(self, resolution: int):
        super().__init__()
        self.strength = nn.Parameter(torch.zeros([]))
        self.register_buffer("const_noise", torch.randn(1, 1, resolution, resolution))

    def forward(
        self, x: torch.Tensor, mode: NoiseMode = "random", generator: torch.Generator | None = None
    ) -> torch.Tensor:
        if mode == "none":
            return x
        if mode == "const":
            return x + self.const_noise * self.strength
        if mode != "random":
            raise ValueError(f"noise mode must be 'random', 'const' or 'none', got {mode!r}")
        b, _, h, w = x.shape
        device = generator.device if generator is not None else x.device
        noise = torch.randn(b, 1, h, w, generator=generator, device=device).to(x.device, x.dtype)
        return x + noise * self.strength
