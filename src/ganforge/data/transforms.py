"""Operations on whole uint8 image tensors: square fit, antialiased resize, channel conversion, subsets."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601 weights, the ones Pillow's RGB -> L conversion uses
SUBSET_SEED = 0  # `limit` picks the same images on every run and machine
_CHUNK = 2048  # images resized per interpolate call, so 70,000 images never need 1 GB of float


def fit_square(images: torch.Tensor, fit: Literal["crop", "pad"] = "crop") -> torch.Tensor:
    """Center-crop, or pad with white, (N, C, H, W) uint8 images to a square."""
    h, w = images.shape[-2:]
    if h == w:
        return images
    if fit == "crop":
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        return images[..., top : top + side, left : left + side]
    side = max(h, w)
    top, left = (side - h) // 2, (side - w) // 2
    return F.pad(images, (left, side - w - left, top, side - h - top), value=255)


def resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """Resize square (N, C, H, W) uint8 images to (size, size), antialiased bilinear; same size is a no-op."""
    if images.shape[-2:] == (size, size):
        return images
    out = torch.empty((*images.shape[:2], size, size), dtype=torch.uint8)
    for start in range(0, len(images), _CHUNK):
        chunk = images[start : start + _CHUNK].float()
        scaled = F.interpolate(chunk, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        out[start : start + _CHUNK] = scaled.round_().clamp_(0, 255).to(torch.uint8)
    return out


def to_channels(images: torch.Tensor, channels: int | None) -> torch.Tensor:
    """Gray -> RGB by repeating the channel; RGB -> gray by BT.601 luminance; None keeps the input."""
    have = images.shape[1]
    if channels is None or channels == have:
        return images
    if have == 1 and channels == 3:
        return images.expand(-1, 3, -1, -1).contiguous()
    if have == 3 and channels == 1:
        weights = torch.tensor(LUMA).view(1, 3, 1, 1)
        out = torch.empty((images.shape[0], 1, *images.shape[2:]), dtype=torch.uint8)
        for start in range(0, len(images), _CHUNK):
            luma = (images[start : start + _CHUNK].float() * weights).sum(1, keepdim=True)
            out[start : start + _CHUNK] = luma.round_().clamp_(0, 255).to(torch.uint8)
        return out
    raise ValueError(f"cannot convert {have}-channel images to {channels} channels")


def subset_order(n: int) -> torch.Tensor:
    """A fixed pseudo-random order of range(n); `limit` keeps the first N of it, in dataset order.

    Taking the first N files would, for a folder of class subfolders, give only the first class.
    """
    generator = torch.Generator().manual_seed(SUBSET_SEED)
    return torch.randperm(n, generator=generator)


def limit_index(n: int, limit: int | None) -> torch.Tensor | None:
    """Sorted indices of the `limit` images to keep out of `n`, or None to keep all."""
    if limit is None or limit >= n:
        return None
    return subset_order(n)[:limit].sort().values
