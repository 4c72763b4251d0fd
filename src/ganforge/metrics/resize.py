"""The resize in front of every feature extractor: quantize to uint8, then antialiased bicubic.

Parmar, Zhang & Zhu 2022 ("On Aliased Resizing and Surprising Subtleties in GAN Evaluation") showed
that FID moves by several points with the resize used, and that PIL's antialiased bicubic is the
one that behaves. The images are quantized to uint8 first (what a saved PNG holds), then resized in
float without re-quantizing. torch's `interpolate(mode="bicubic", antialias=True)` uses PIL's
kernel (a = -0.5, support widened by the scale when shrinking) and matches PIL's float-mode
BICUBIC resize to about 1e-4 of a grey level (tests/metrics/test_resize.py), so it is used here:
batched and on any device.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F

RESIZE_METHOD = "uint8 -> torch bicubic antialias (= PIL BICUBIC, float mode)"


def resize_uint8(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (B, C, H, W) -> float pixels in [0, 255] (B, C, size, size), not clamped or re-quantized."""
    if images.dtype != torch.uint8:
        raise TypeError(f"resize_uint8 takes uint8 images, got {images.dtype}")
    x = images.float()
    if tuple(x.shape[-2:]) == (size, size):
        return x
    return F.interpolate(x, size=(size, size), mode="bicubic", antialias=True, align_corners=False)


def resize_pil(images: torch.Tensor, size: int) -> torch.Tensor:
    """The reference: PIL's BICUBIC on each channel in float ('F') mode. Slow; for tests."""
    out = np.empty((*images.shape[:2], size, size), np.float32)
    for i, image in enumerate(images.numpy()):
        for c, channel in enumerate(image):
            pil = Image.fromarray(channel.astype(np.float32), mode="F")
            out[i, c] = np.asarray(pil.resize((size, size), Image.BICUBIC))
    return torch.from_numpy(out)
