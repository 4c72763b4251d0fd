"""Equalized learning rate layers, pixel norm and minibatch standard deviation (Karras et al. 2017,
"Progressive Growing of GANs"), shared by ProGAN and the StyleGAN-style networks.

Equalized learning rate: weights are stored as N(0, 1) draws and scaled at run time by He's
constant ``gain / sqrt(fan_in)``. Adam's update is invariant to a parameter's scale, so every layer
then learns at the same speed relative to its effective weights, whatever its fan-in. `lr_mul`
slows a layer down further (StyleGAN's mapping network uses 0.01): the stored weight is drawn as
N(0, 1 / lr_mul**2) and multiplied by lr_mul, so the same Adam step moves it lr_mul times as far.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

LRELU_GAIN = math.sqrt(2.0)  # He gain of a leaky ReLU with slope 0.2, rounded as in the papers


def lrelu(x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
    """Leaky ReLU with slope 0.2, times `gain` (StyleGAN puts sqrt(2) here instead of in the weights)."""
    out = F.leaky_relu(x, 0.2)
    return out * gain if gain != 1.0 else out


class EqualizedLinear(nn.Module):
    """A linear layer with an equalized learning rate: ``y = x @ (weight * scale).T + bias * lr_mul``.

    Args:
        gain: He gain folded into the run-time scale (sqrt(2) before a leaky ReLU in ProGAN, 1 otherwise).
        lr_mul: learning-rate multiplier of this layer (StyleGAN's mapping network: 0.01).
        bias_init: the bias's initial effective value (StyleGAN's style affines start at 1).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        gain: float = 1.0,
        lr_mul: float = 1.0,
        bias_init: float = 0.0,
    ):
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ValueError(f"EqualizedLinear needs positive sizes, got {in_features} -> {out_features}")
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init) / lr_mul)) if bias else None
        self.weight_scale = gain * lr_mul / math.sqrt(in_features)
        self.lr_mul = lr_mul

    def effective_weight(self) -> torch.Tensor:
        return self.weight * self.weight_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = self.bias * self.lr_mul if self.bias is not None else None
        return F.linear(x, self.effective_weight(), bias)

    def extra_repr(self) -> str:
        out, inp = self.weight.shape
        return f"{inp} -> {out}, scale={self.weight_scale:.4g}, lr_mul={self.lr_mul}"


class EqualizedConv2d(nn.Module):
    """A stride-1 'same' convolution with an equalized learning rate (scale ``gain / sqrt(C_in * k * k)``)."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True, gain: float = 1.0
    ):
        super().__init__()
        if in_channels < 1 or out_channels < 1 or kernel_size < 1:
            raise ValueError(
                f"EqualizedConv2d needs positive sizes, got {in_channels} -> {out_channels}, k={kernel_size}"
            )
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.weight_scale = gain / math.sqrt(in_channels * kernel_size * kernel_size)
        self.padding = kernel_size // 2

    def effective_weight(self) -> torch.Tensor:
        return self.weight * self.weight_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.effective_weight(), self.bias, padding=self.padding)

    def extra_repr(self) -> str:
        out, inp, k, _ = self.weight.shape
        return f"{inp} -> {out}, k={k}, scale={self.weight_scale:.4g}"


def pixel_norm(x: torch.Tensor, dim: int = 1, eps: float = 1e-8) -> torch.Tensor:
    """Normalize every feature vector (along `dim`) to unit average square (ProGAN's pixelwise norm)."""
    return x * torch.rsqrt(x.square().mean(dim=dim, keepdim=True) + eps)


class PixelNorm(nn.Module):
    """`pixel_norm` over channels as a module."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return pixel_norm(x)


def _group_size(batch: int, wanted: int) -> int:
    """The largest divisor of `batch` that is at most `wanted`, so any batch size works."""
    for g in range(min(wanted, batch), 0, -1):
        if batch % g == 0:
            return g
    return 1


class MinibatchStdDev(nn.Module):
    """Minibatch standard deviation (Karras et al. 2017): appends `num_features` maps holding the
    standard deviation of every feature over a group of `group_size` images, averaged over channels and
    pixels, so that D can see a lack of variety. Image i belongs to group ``i % (B // group_size)``."""

    def __init__(self, group_size: int = 4, num_features: int = 1):
        super().__init__()
        if group_size < 1 or num_features < 1:
            raise ValueError("MinibatchStdDev needs group_size >= 1 and num_features >= 1")
        self.group_size, self.num_features = group_size, num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        g, f = _group_size(b, self.group_size), self.num_features
        if c % f:
            raise ValueError(f"MinibatchStdDev: {c} channels do not split into {f} feature groups")
        y = x.reshape(g, b // g, f, c // f, h, w)  # (G, M, F, C/F, H, W)
        y = (y - y.mean(dim=0)).square().mean(dim=0)  # variance over each group: (M, F, C/F, H, W)
        y = (y + 1e-8).sqrt().mean(dim=(2, 3, 4))  # (M, F)
        y = y.reshape(-1, f, 1, 1).repeat(g, 1, h, w)  # (B, F, H, W)
        return torch.cat([x, y], dim=1)
