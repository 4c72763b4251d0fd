"""Feature extractors for metrics, by name: `get_extractor("effnet-lite0")`.

| name | network | input | features | logits | Fréchet distance called |
|---|---|---|---|---|---|
| `inception` | FID Inception-v3 (TF 2015-12-05 weights) | 299, RGB | 2048 | 1008 | FID |
| `effnet-lite0` | EfficientNet-Lite0, ImageNet | 224, RGB | 1280 | 1000 | FD-EffNetLite0 |
| `digits-lenet` | LeNet trained here on mnist-5k | 28, gray | 128 | 10 | FD-digits-lenet |
| `fashion-lenet` | LeNet trained here on Fashion-MNIST | 28, gray | 128 | 10 | FD-fashion-lenet |
"""

from __future__ import annotations

import torch

from ganforge.metrics.features import effnet, inception, lenet  # noqa: F401 - register the extractors
from ganforge.metrics.features.base import EXTRACTORS, FeatureExtractor

__all__ = ["EXTRACTORS", "FeatureExtractor", "get_extractor", "list_extractors"]

_LOADED: dict[tuple, FeatureExtractor] = {}


def get_extractor(
    name: str,
    weights: str | None = None,
    device: torch.device | str = "cpu",
    random_init: bool = False,
) -> FeatureExtractor:
    """A feature extractor by name, with its standard weights, a local `weights` file, or random
    weights (`random_init=True`, for tests; such figures are never called FID).

    Extractors are frozen (no gradients to their weights) and shared for the life of the process,
    so asking again is free; do not move or modify the one you get. Building one never touches the
    global torch RNG.
    """
    from ganforge.data.download import cache_dir

    key = (name, str(weights) if weights else None, str(torch.device(device)), random_init, str(cache_dir()))
    if key not in _LOADED:
        builder = EXTRACTORS.get(name)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)  # random_init extractors are the same in every process
            extractor = builder(weights=weights, random_init=random_init)
        _LOADED[key] = extractor.to(device).eval().requires_grad_(False)
    return _LOADED[key]


def list_extractors() -> list[str]:
    return EXTRACTORS.names()
