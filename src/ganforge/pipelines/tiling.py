"""Tiled inference with overlap blending, so that memory stays bounded whatever the image size.

An image is cut into overlapping tiles; each tile goes through the model on its own; the outputs
are blended with weights that ramp linearly across the overlaps, so seams do not show. Used by
translation (pix2pix, CycleGAN) and super-resolution pipelines.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as F


def _starts(length: int, tile: int, step: int) -> list[int]:
    """Tile offsets along one axis covering [0, length), the last one flush with the end."""
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, step))
    starts.append(length - tile)
    return starts


def _ramp(length: int, overlap: int, device: torch.device) -> torch.Tensor:
    """Blend weights along one tile axis: 1 in the middle, rising across `overlap` pixels at both
    ends. The outer quarter of the overlap gets almost no weight, because a convolutional model's
    output is least reliable at a tile's edge. Weights never reach 0, so a pixel that only one tile
    covers (at the image border) is still exact after normalization."""
    weight = torch.ones(length, device=device)
    if overlap > 0:
        margin = overlap // 4
        i = torch.arange(overlap, device=device, dtype=torch.float32)
        rise = ((i + 1 - margin) / (overlap - margin + 1)).clamp(min=1e-3)
        n = min(overlap, length // 2)
        weight[:n] = rise[:n]
        weight[length - n :] = torch.minimum(weight[length - n :], rise[:n].flip(0))
    return weight


def pad_to_multiple(image: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Reflect-pad (B, C, H, W) on the bottom and right to multiples of `multiple`; returns the pad."""
    h, w = image.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return image, (0, 0)
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(image, (0, pw, 0, ph), mode=mode), (ph, pw)


@torch.no_grad()
def tiled_apply(
    fn: Callable[[torch.Tensor], torch.Tensor],
    image: torch.Tensor,
    tile: int = 256,
    overlap: int = 32,
    scale: int = 1,
    multiple: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> torch.Tensor:
    """Apply image-to-image `fn` to `image` (1, C, H, W) tile by tile.

    Args:
        fn: maps (1, C, t, t) to (1, C', t*scale, t*scale); t is a multiple of `multiple`.
        tile: tile side in input pixels (rounded down to a multiple of `multiple`).
        overlap: input pixels shared by neighbouring tiles, blended linearly.
        scale: output pixels per input pixel (super-resolution factor), 1 for translation.
        multiple: sizes the model needs its input to be a multiple of (e.g. 2**depth for a U-Net).
        progress: called as `progress(done, total)` after each tile (and once with (0, total) before
            the first); it may raise to cancel the work (progress bars, the studio's cancel button).
    Returns (1, C', H*scale, W*scale).
    """
    if image.dim() != 4 or image.shape[0] != 1:
        raise ValueError(f"tiled_apply takes one image (1, C, H, W), got {tuple(image.shape)}")
    tile = max(multiple, tile // multiple * multiple)
    if overlap >= tile:
        raise ValueError(f"overlap {overlap} must be smaller than the tile {tile}")
    h, w = image.shape[-2:]
    padded, _ = pad_to_multiple(image, multiple)
    ph, pw = padded.shape[-2:]
    if ph <= tile and pw <= tile:
        if progress is not None:
            progress(0, 1)
        result = fn(padded)[..., : h * scale, : w * scale]
        if progress is not None:
            progress(1, 1)
        return result
    step = tile - overlap
    out = None
    total = torch.zeros(1, 1, ph * scale, pw * scale, device=image.device)
    corners = [(y, x) for y in _starts(ph, tile, step) for x in _starts(pw, tile, step)]
    if progress is not None:
        progress(0, len(corners))
    for done, (y, x) in enumerate(corners, 1):
        th, tw = min(tile, ph), min(tile, pw)
        result = fn(padded[..., y : y + th, x : x + tw])
        if out is None:
            out = torch.zeros(
                1, result.shape[1], ph * scale, pw * scale, device=image.device, dtype=result.dtype
            )
        weight = (
            _ramp(th * scale, overlap * scale, image.device)[:, None]
            * _ramp(tw * scale, overlap * scale, image.device)[None, :]
        )
        ys, xs = slice(y * scale, (y + th) * scale), slice(x * scale, (x + tw) * scale)
        out[..., ys, xs] += result * weight
        total[..., ys, xs] += weight
        if progress is not None:
            progress(done, len(corners))
    return (out / total)[..., : h * scale, : w * scale]
