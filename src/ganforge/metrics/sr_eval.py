"""Super-resolution evaluation: an upscaler against the bicubic baseline on held-out HR images.

Protocol (the one of the SR literature since Dong et al. 2014, and Ledig et al. 2017):
1. HR images are cropped centrally to a multiple of the scale.
2. LR inputs are their antialiased bicubic downscaling, rounded to 8 bits (`data.sr_pairs.downscale`).
3. The model's output and the bicubic upscaling (PyTorch's a=-0.75 kernel) are rounded to 8 bits,
   like the saved images a user gets.
4. PSNR on the BT.601 Y channel and on RGB, and SSIM on Y and on RGB, with `border` pixels
   (default: the scale) cropped from every side; per image, then averaged over images.
Both columns come from this one code path, so the comparison is like for like.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch

from ganforge.data.sr_pairs import bicubic, center_crop, downscale
from ganforge.errors import ConfigError
from ganforge.imaging import to_float, to_uint8
from ganforge.metrics.image_quality import psnr, psnr_y, ssim, ssim_y

METRICS = ("psnr_y", "psnr_rgb", "ssim_y", "ssim_rgb")


@dataclass
class SRScores:
    """Means over the images; PSNR in dB."""

    psnr_y: float
    psnr_rgb: float
    ssim_y: float
    ssim_rgb: float


@dataclass
class SREvaluation:
    model: SRScores
    bicubic: SRScores
    images: int  # how many held-out images
    scale: int
    border: int  # pixels cropped from every side before measuring
    hr_size: tuple[int, int]  # (H, W) of the HR images measured (after cropping to the scale)
    model_name: str = "model"

    def to_dict(self) -> dict:
        return asdict(self)

    def metrics(self) -> dict[str, float]:
        """Flat figures for metrics.json and model cards: the model's, bicubic's, and the protocol."""
        out: dict[str, float] = {k: getattr(self.model, k) for k in METRICS}
        out |= {f"bicubic_{k}": getattr(self.bicubic, k) for k in METRICS}
        return out | {"heldout_images": self.images, "border_px": self.border}

    def table(self) -> str:
        """A small Markdown table: one row per method, the border crop stated."""
        setting = f"x{self.scale}, {self.images} images, border {self.border} px"
        head = f"| {setting} | PSNR-Y | PSNR-RGB | SSIM-Y | SSIM-RGB |"
        rows = [head, "|---|---|---|---|---|"]
        for name, s in ((self.model_name, self.model), ("bicubic", self.bicubic)):
            rows.append(f"| {name} | {s.psnr_y:.2f} | {s.psnr_rgb:.2f} | {s.ssim_y:.4f} | {s.ssim_rgb:.4f} |")
        return "\n".join(rows)


def scores(sr: torch.Tensor, hr: torch.Tensor, border: int) -> dict[str, torch.Tensor]:
    """Per-image metrics (B,) of uint8 upscaled images against uint8 HR images."""
    return {
        "psnr_y": psnr_y(sr, hr, crop=border),
        "psnr_rgb": psnr(sr, hr, crop=border),
        "ssim_y": ssim_y(sr, hr, crop=border),
        "ssim_rgb": ssim(sr, hr, crop=border),
    }


def bicubic_upscale(lr: torch.Tensor, scale: int) -> torch.Tensor:
    """The baseline: bicubic upscaling of float LR images in [-1, 1], clamped to [-1, 1]."""
    return bicubic(lr, scale).clamp(-1.0, 1.0)


@torch.no_grad()
def evaluate_sr(
    upscale: Callable[[torch.Tensor], torch.Tensor],
    hr: torch.Tensor,
    scale: int,
    border: int | None = None,
    batch_size: int = 16,
    model_name: str = "model",
    progress: Callable[[int], None] | None = None,
) -> SREvaluation:
    """Score `upscale` (float LR (B, C, h, w) in [-1, 1] -> (B, C, scale h, scale w)) and bicubic.

    `hr` are uint8 HR images (N, C, H, W); `border` defaults to `scale`. `progress(k)` is called
    after every batch of k images.
    """
    if hr.dtype != torch.uint8 or hr.dim() != 4 or hr.shape[0] == 0:
        raise ConfigError(
            f"evaluation needs a non-empty uint8 batch (N, C, H, W), got {tuple(hr.shape)} {hr.dtype}"
        )
    border = scale if border is None else border
    hr = center_crop(hr, scale)
    h, w = hr.shape[-2:]
    if min(h, w) - 2 * border < 11:
        raise ConfigError(
            f"HR images of {h}x{w} leave {h - 2 * border}x{w - 2 * border} after the {border} px border; "
            f"SSIM needs 11x11: evaluate larger images (e.g. --size {11 + 2 * border + scale})"
        )
    lr = downscale(hr, scale)
    sums = {"model": {k: [] for k in METRICS}, "bicubic": {k: [] for k in METRICS}}
    for start in range(0, hr.shape[0], batch_size):
        target = hr[start : start + batch_size]
        low = to_float(lr[start : start + batch_size])
        outputs = {"model": upscale(low), "bicubic": bicubic_upscale(low, scale)}
        for method, out in outputs.items():
            if out.shape != target.shape:
                raise ConfigError(
                    f"the upscaler turned {tuple(low.shape)} into {tuple(out.shape)}, "
                    f"expected {tuple(target.shape)}; is it a x{scale} model?"
                )
            for key, value in scores(to_uint8(out), target, border).items():
                sums[method][key].append(value)
        if progress is not None:
            progress(target.shape[0])

    def mean(method: str) -> SRScores:
        return SRScores(**{k: float(torch.cat(v).mean()) for k, v in sums[method].items()})

    return SREvaluation(
        mean("model"), mean("bicubic"), hr.shape[0], scale, border, tuple(hr.shape[-2:]), model_name
    )
