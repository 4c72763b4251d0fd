"""Small building blocks shared by the models: spectral norm switch and DCGAN weight init."""

from __future__ import annotations

from typing import TypeVar

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

M = TypeVar("M", bound=nn.Module)

# Layers whose weight DCGAN initializes from N(0, 0.02).
_WEIGHT_LAYERS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.Linear)
_NORM_LAYERS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.GroupNorm, nn.InstanceNorm2d, nn.LayerNorm)


def maybe_spectral_norm(module: M, enabled: bool) -> M:
    """Return `module` with spectral normalization on its weight when `enabled` (Miyato et al. 2018).

    Uses `torch.nn.utils.parametrizations.spectral_norm`, which changes the module in place; the raw
    weight then lives at ``module.parametrizations.weight.original``. Initialize the weight before
    calling this: the power iteration's first estimate of sigma is taken from the weight as it is now.
    """
    return spectral_norm(module) if enabled else module


@torch.no_grad()
def init_dcgan_weights_(module: nn.Module) -> nn.Module:
    """Initialize every layer under `module` as DCGAN does (Radford et al. 2015), in place.

    Conv, transposed conv and linear weights ~ N(0, 0.02); norm weights ~ N(1, 0.02); biases 0.
    Embeddings are left alone: their scale is a per-model decision. Raises if a weight is already
    spectrally normalized, because re-initializing it would leave the power iteration's vectors stale.
    """
    for layer in module.modules():
        if isinstance(layer, _WEIGHT_LAYERS + _NORM_LAYERS) and parametrize.is_parametrized(layer, "weight"):
            raise RuntimeError(
                f"{type(layer).__name__} already has a parametrized weight (spectral norm?); "
                "call init_dcgan_weights_ before maybe_spectral_norm"
            )
        if isinstance(layer, _WEIGHT_LAYERS):
            nn.init.normal_(layer.weight, 0.0, 0.02)
        elif isinstance(layer, _NORM_LAYERS) and getattr(layer, "weight", None) is not None:
            nn.init.normal_(layer.weight, 1.0, 0.02)
        else:
            continue
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)
    return module


def check_labels(labels: torch.Tensor | None, num_classes: int, batch: int, model: str) -> None:
    """Raise a clear error when `labels` does not fit a model with `num_classes` classes (0: none)."""
    if num_classes == 0:
        if labels is not None:
            raise ValueError(f"{model} is unconditional (num_classes=0) but was given labels; pass None")
        return
    if labels is None:
        raise ValueError(f"{model} is class-conditional (num_classes={num_classes}); pass labels (B,)")
    if labels.shape != (batch,) or labels.dtype != torch.int64:
        raise ValueError(
            f"{model} expects labels of shape ({batch},) and dtype int64, "
            f"got shape {tuple(labels.shape)} and dtype {labels.dtype}"
        )


def check_images(images: torch.Tensor, channels: int, size: int, model: str) -> None:
    """Raise a clear error unless `images` is a (B, channels, size, size) batch."""
    if images.dim() != 4 or tuple(images.shape[1:]) != (channels, size, size):
        expected = f"(B, {channels}, {size}, {size})"
        raise ValueError(f"{model} expects images of shape {expected}, got {tuple(images.shape)}")
