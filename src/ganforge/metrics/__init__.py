"""Evaluation metrics: Fréchet distance, KID, precision/recall, Inception Score, PSNR/SSIM.

    from ganforge.metrics import evaluate_folders, frechet_distance, get_extractor, psnr

Scoring a trained generator is `ganforge.pipelines.evaluate_generator` (a pipeline samples it first).

Everything but the image-quality functions is imported on first use, so that importing this
package (the trainer does) stays cheap.
"""

from typing import Any

from ganforge.metrics.image_quality import psnr, psnr_y, ssim, ssim_y

_LAZY = {
    "EvalReport": "ganforge.metrics.evaluate",
    "evaluate_folders": "ganforge.metrics.evaluate",
    "FeatureStats": "ganforge.metrics.frechet",
    "frechet_distance": "ganforge.metrics.frechet",
    "kernel_inception_distance": "ganforge.metrics.kid",
    "precision_recall": "ganforge.metrics.precision_recall",
    "inception_score": "ganforge.metrics.inception_score",
    "get_extractor": "ganforge.metrics.features",
    "FeatureExtractor": "ganforge.metrics.features",
}

__all__ = ["psnr", "psnr_y", "ssim", "ssim_y", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ganforge.metrics' has no attribute {name!r}")
