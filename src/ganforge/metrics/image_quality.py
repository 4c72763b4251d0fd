"""Full-reference image quality: PSNR, PSNR on the luma channel, and SSIM (Wang et al. 2004);
and one no-reference measure, colorfulness (Hasler and Suesstrunk 2003).

Conventions (the same for every function here):

- Inputs are two batches of the same shape (B, C, H, W), C in {1, 3}: either float in [-1, 1]
  (ganforge's image convention) or uint8 in [0, 255]. uint8 inputs are mapped to [-1, 1] first, so
  a uint8 pair and its float pair give the same figure. Float inputs are used as they are (no
  quantization); pass uint8 (`ganforge.imaging.to_uint8`) for the figure on saved 8-bit images.
- Every function returns one value per image, shape (B,), float64; average it yourself.
- `crop` removes that many pixels from every border before measuring (the super-resolution
  literature crops `scale` pixels, e.g. crop=4 for x4).
- PSNR of two identical images is +inf.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from ganforge.errors import ConfigError

# ITU-R BT.601 luma for RGB in [0, 1] -> Y in [16, 235], as MATLAB's rgb2ycbcr and the SR papers use.
_BT601 = (65.481, 128.553, 24.966)


def _prepare(a: torch.Tensor, b: torch.Tensor, crop: int, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    if a.shape != b.shape:
        raise ConfigError(f"{name}: images differ in shape, {tuple(a.shape)} vs {tuple(b.shape)}")
    if a.ndim != 4 or a.shape[1] not in (1, 3):
        raise ConfigError(f"{name}: images must be (B, 1|3, H, W), got {tuple(a.shape)}")
    if crop < 0 or 2 * crop >= min(a.shape[-2:]):
        raise ConfigError(f"{name}: crop={crop} leaves nothing of {a.shape[-2]}x{a.shape[-1]} images")

    def as_float(x: torch.Tensor) -> torch.Tensor:
        x = x.double() / 127.5 - 1.0 if x.dtype == torch.uint8 else x.double()
        return x[..., crop : x.shape[-2] - crop, crop : x.shape[-1] - crop] if crop else x

    return as_float(a), as_float(b)


def _psnr_from_mse(mse: torch.Tensor, data_range: float) -> torch.Tensor:
    return 10.0 * torch.log10(data_range**2 / mse)


def psnr(a: torch.Tensor, b: torch.Tensor, data_range: float = 2.0, crop: int = 0) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB over all channels, per image -> (B,).

    `data_range` is the span of float inputs (2 for [-1, 1]); uint8 inputs always use 2 after
    mapping to [-1, 1], which equals the usual 255 on [0, 255].
    """
    if a.dtype == torch.uint8 or b.dtype == torch.uint8:
        data_range = 2.0
    a, b = _prepare(a, b, crop, "psnr")
    mse = (a - b).pow(2).flatten(1).mean(1)
    return _psnr_from_mse(mse, data_range)


def rgb_to_y(images: torch.Tensor) -> torch.Tensor:
    """BT.601 luma in [16, 235] of [-1, 1] float images -> (B, 1, H, W); gray input counts as R=G=B."""
    x = (images.double() + 1.0) / 2.0  # [0, 1]
    if x.shape[1] == 1:
        return 16.0 + sum(_BT601) * x
    r, g, b = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    return 16.0 + _BT601[0] * r + _BT601[1] * g + _BT601[2] * b


def psnr_y(a: torch.Tensor, b: torch.Tensor, crop: int = 0) -> torch.Tensor:
    """PSNR on the BT.601 Y channel (data range 255, no rounding of Y), per image -> (B,).

    This is the super-resolution convention (Set5/Set14/BSD100 tables since Dong et al. 2014):
    convert to YCbCr, keep Y in [16, 235], crop `crop` (= the scale factor) border pixels.
    """
    a, b = _prepare(a, b, crop, "psnr_y")
    mse = (rgb_to_y(a) - rgb_to_y(b)).pow(2).flatten(1).mean(1)
    return _psnr_from_mse(mse, 255.0)


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    return g[:, None] * g[None, :]  # (size, size), sums to 1


def _ssim_maps(a: torch.Tensor, b: torch.Tensor, data_range: float) -> torch.Tensor:
    """Per-pixel SSIM over the 'valid' area (no padding, as in Wang et al.'s reference code)."""
    c = a.shape[1]
    window = _gaussian_window().to(a.device).expand(c, 1, 11, 11)  # (C, 1, 11, 11) depthwise

    def blur(x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, window, groups=c)

    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    return ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))


def ssim(a: torch.Tensor, b: torch.Tensor, data_range: float = 2.0, crop: int = 0) -> torch.Tensor:
    """Structural similarity (Wang, Bovik, Sheikh & Simoncelli 2004), per image -> (B,).

    11x11 Gaussian window with sigma 1.5, K1 = 0.01, K2 = 0.03, population (not sample) variances,
    the mean over the valid area (borders where the window does not fit are left out) and over
    channels. Matches `skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False)`. Images must be at least 11x11 after `crop`.
    """
    if a.dtype == torch.uint8 or b.dtype == torch.uint8:
        data_range = 2.0
    a, b = _prepare(a, b, crop, "ssim")
    if min(a.shape[-2:]) < 11:
        raise ConfigError(f"ssim needs images of at least 11x11 pixels, got {a.shape[-2]}x{a.shape[-1]}")
    return _ssim_maps(a, b, data_range).flatten(1).mean(1)


def ssim_y(a: torch.Tensor, b: torch.Tensor, crop: int = 0) -> torch.Tensor:
    """SSIM on the BT.601 Y channel in [16, 235] with data range 255 (the SR convention) -> (B,)."""
    a, b = _prepare(a, b, crop, "ssim_y")
    if min(a.shape[-2:]) < 11:
        raise ConfigError(f"ssim needs images of at least 11x11 pixels, got {a.shape[-2]}x{a.shape[-1]}")
    return _ssim_maps(rgb_to_y(a), rgb_to_y(b), 255.0).flatten(1).mean(1)


def colorfulness(images: torch.Tensor) -> torch.Tensor:
    """Colorfulness M of RGB images, per image -> (B,) (Hasler and Suesstrunk 2003, "Measuring
    colourfulness in natural images"), on the 0..255 scale of the paper.

    With rg = R - G and yb = (R + G) / 2 - B over the pixels, M = sqrt(std_rg^2 + std_yb^2)
    + 0.3 sqrt(mean_rg^2 + mean_yb^2) (population std). A gray image scores 0; the paper calls
    ~33 "moderately", ~59 "quite" and ~82 "highly colourful". Float inputs are taken to lie in
    [-1, 1], uint8 in 0..255.
    """
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"colorfulness needs RGB images (B, 3, H, W), got {tuple(images.shape)}")
    x = images.double() if images.dtype == torch.uint8 else (images.double() + 1) * 127.5
    r, g, b = x[:, 0].flatten(1), x[:, 1].flatten(1), x[:, 2].flatten(1)
    rg, yb = r - g, (r + g) / 2 - b
    std = (rg.var(1, unbiased=False) + yb.var(1, unbiased=False)).sqrt()
    mean = (rg.mean(1).square() + yb.mean(1).square()).sqrt()
    return std + 0.3 * mean
