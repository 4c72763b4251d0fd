"""Super-resolution pairs made from any image set: high-resolution (HR) crops and their
low-resolution (LR) versions, made by antialiased bicubic downscaling, as in the SR literature
(Ledig et al. 2017 downscale 96x96 HR crops by 4 with a bicubic kernel).

Every random choice (crop positions, the held-out split) takes a `torch.Generator` or a seed, so a
pair set is the same on every run and machine. LR images are quantized to 8 bits, like the saved
images an upscaler is later given.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from ganforge.data.dataset import ImageData
from ganforge.data.splits import holdout_indices
from ganforge.errors import ConfigError

HOLDOUT_SEED = 20170525  # fixed, so evaluation finds the same held-out images from the config alone


def bicubic(images: torch.Tensor, scale: int) -> torch.Tensor:
    """Bicubic upscaling by an integer factor (PyTorch's a=-0.75 kernel, half-pixel centres)."""
    return F.interpolate(images, scale_factor=scale, mode="bicubic", align_corners=False)


def downscale(hr: torch.Tensor, scale: int, quantize: bool = True) -> torch.Tensor:
    """(B, C, H, W) HR -> (B, C, H/scale, W/scale) LR by antialiased bicubic downscaling.

    Takes float in [-1, 1] or uint8 and returns the same dtype. `quantize` rounds float output to
    the 256 levels of an 8-bit image (uint8 output is always rounded). H and W must be multiples
    of `scale`.
    """
    h, w = hr.shape[-2:]
    if h % scale or w % scale:
        raise ConfigError(f"HR images of {h}x{w} do not divide by the scale {scale}; crop them to a multiple")
    as_uint8 = hr.dtype == torch.uint8
    x = hr.float() if as_uint8 else (hr + 1.0) * 127.5  # [0, 255]
    lr = F.interpolate(x, size=(h // scale, w // scale), mode="bicubic", antialias=True, align_corners=False)
    lr = lr.clamp(0.0, 255.0)
    if as_uint8:
        return lr.round().to(torch.uint8)
    if quantize:
        lr = lr.round()
    return lr / 127.5 - 1.0


def crop_offsets(
    n: int, height: int, width: int, crop: int, generator: torch.Generator, align: int = 1
) -> torch.Tensor:
    """(n, 2) top-left corners (y, x) of random crop x crop squares, multiples of `align`."""
    if crop > height or crop > width:
        raise ConfigError(f"a {crop}x{crop} crop does not fit in {height}x{width} images; use a smaller crop")
    ny, nx = (height - crop) // align + 1, (width - crop) // align + 1
    y = torch.randint(0, ny, (n,), generator=generator, device=generator.device)
    x = torch.randint(0, nx, (n,), generator=generator, device=generator.device)
    return torch.stack([y, x], 1) * align


def crop_at(images: torch.Tensor, offsets: torch.Tensor, crop: int) -> torch.Tensor:
    """Crop each image (N, C, H, W) at its own offset (N, 2) -> (N, C, crop, crop)."""
    rows = torch.arange(crop, device=images.device)
    ys = (offsets[:, 0:1].to(images.device) + rows).view(-1, 1, crop, 1)  # (N, 1, crop, 1)
    xs = (offsets[:, 1:2].to(images.device) + rows).view(-1, 1, 1, crop)  # (N, 1, 1, crop)
    n, c = images.shape[:2]
    index = torch.arange(n, device=images.device).view(-1, 1, 1, 1)
    channels = torch.arange(c, device=images.device).view(1, -1, 1, 1)
    return images[index, channels, ys, xs]  # (N, C, crop, crop)


def random_crops(images: torch.Tensor, crop: int, generator: torch.Generator, align: int = 1) -> torch.Tensor:
    """A random crop x crop square of every image (N, C, H, W), each at its own position."""
    offsets = crop_offsets(images.shape[0], images.shape[-2], images.shape[-1], crop, generator, align)
    return crop_at(images, offsets, crop)


def center_crop(images: torch.Tensor, multiple: int) -> torch.Tensor:
    """Crop (N, C, H, W) centrally to the largest H', W' that are multiples of `multiple`."""
    h, w = images.shape[-2:]
    th, tw = h - h % multiple, w - w % multiple
    if th == 0 or tw == 0:
        raise ConfigError(f"{h}x{w} images are smaller than the scale {multiple}")
    top, left = (h - th) // 2, (w - tw) // 2
    return images[..., top : top + th, left : left + tw]


def make_pairs(
    hr: torch.Tensor, scale: int, crop: int | None = None, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """(LR, HR) uint8 pairs from uint8 images (N, C, H, W).

    HR is a random `crop` x `crop` square of each image (seeded), or with `crop=None` the whole
    image cropped centrally to a multiple of `scale`. LR is its antialiased bicubic downscaling.
    """
    if hr.dtype != torch.uint8:
        raise ConfigError("make_pairs takes uint8 images")
    if crop is None:
        hr = center_crop(hr, scale)
    else:
        if crop % scale:
            raise ConfigError(f"crop {crop} must be a multiple of the scale {scale}")
        hr = random_crops(hr, crop, torch.Generator().manual_seed(seed))
    return downscale(hr, scale), hr


def sr_pairs(data: ImageData, scale: int, crop: int | None = None, seed: int = 0) -> ImageData:
    """An ImageData of pairs: `images` the LR inputs, `targets` the HR images (see `make_pairs`)."""
    lr, hr = make_pairs(data.images, scale, crop, seed)
    return ImageData(lr, data.labels, data.class_names, data.source, targets=hr)


def holdout_count(n: int, holdout: float) -> int:
    """How many of n images `holdout` keeps back: a fraction when below 1 (at least one image when
    positive), else a count."""
    if holdout < 0:
        raise ConfigError(f"model.holdout={holdout} must be >= 0 (a fraction below 1, or a count)")
    if holdout >= 1 and holdout != int(holdout):
        raise ConfigError(f"model.holdout={holdout}: a count must be a whole number (or give a fraction < 1)")
    k = int(holdout) if holdout >= 1 else (max(1, round(holdout * n)) if holdout > 0 else 0)
    if k and k >= n:
        raise ConfigError(
            f"model.holdout={holdout:g} keeps back every one of the {n} images; use fewer, e.g. 0.1 (10%)"
        )
    return k


def holdout_split(n: int, holdout: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, held-out) sorted indices of n images; see `holdout_count` for `holdout`.

    The choice is a fixed pseudo-random one (HOLDOUT_SEED), so training and evaluation agree.
    """
    return holdout_indices(n, holdout_count(n, holdout), HOLDOUT_SEED)
