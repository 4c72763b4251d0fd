"""Tensor <-> image conversions and sample grids. Images in ganforge are float in [-1, 1], NCHW."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] float (N, C, H, W) -> uint8 (N, C, H, W); uint8 input passes through."""
    if images.dtype == torch.uint8:
        return images
    return ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, C, H, W) -> float in [-1, 1]."""
    return images.float().div_(127.5).sub_(1.0)


def make_grid(images: torch.Tensor, nrow: int | None = None, padding: int = 2) -> np.ndarray:
    """Tile N images into one (H, W, C) uint8 array, `nrow` images per row (default: square)."""
    images = to_uint8(images)
    n, c, h, w = images.shape
    nrow = nrow or max(1, math.ceil(math.sqrt(n)))
    ncol_rows = math.ceil(n / nrow)
    grid = np.zeros((ncol_rows * (h + padding) + padding, nrow * (w + padding) + padding, c), np.uint8)
    for i in range(n):
        r, k = divmod(i, nrow)
        y, x = padding + r * (h + padding), padding + k * (w + padding)
        grid[y : y + h, x : x + w] = images[i].permute(1, 2, 0).numpy()
    return grid


def to_pil(array: np.ndarray) -> Image.Image:
    """(H, W, C) uint8 -> PIL image, gray when C is 1."""
    return Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array)


def save_image(images: torch.Tensor, path: str | Path, nrow: int | None = None, scale: int = 1) -> Path:
    """Save a batch as one grid image (PNG/JPEG/... by suffix), optionally upscaled `scale` times."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = to_pil(make_grid(images, nrow=nrow, padding=2 if images.shape[0] > 1 else 0))
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    image.save(path)
    return path
