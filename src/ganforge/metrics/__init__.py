"""Evaluation metrics: Fréchet distance, KID, precision/recall, Inception Score, PSNR/SSIM.

Submodules import lazily so that `from ganforge.metrics.image_quality import psnr` stays cheap.
"""

from ganforge.metrics.image_quality import psnr, psnr_y, ssim, ssim_y

__all__ = ["psnr", "psnr_y", "ssim", "ssim_y"]
