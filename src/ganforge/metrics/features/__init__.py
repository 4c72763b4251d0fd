"""Feature extractors for metrics, by name: `get_extractor("effnet-lite0")`.

| name | network | input | features | logits | Fréchet distance called |
|---|---|---|---|---|---|
| `inception` | FID Inception-v3 (TF 2015-12-05 weights) | 299, RGB | 2048 | 1008 | FID |
| `effnet-lite0` | EfficientNet-Lite0, ImageNet | 224, RGB | 1280 | 1000 | FD-EffNetLite0 |
| `digits-lenet` | LeNet trained here on mnist-5k | 28, gray | 128 | 10 | FD-digits-lenet |
| `fashion-lenet` | LeNet trained here on Fashion-MNIST | 28, gray | 128 | 10 | FD-fashion-lenet |
"""

from __future__ import annotations

import os

import torch

from ganforge.metrics.features import effnet, inception, lenet  # noqa: F401 - register the extractors
from ganforge.metrics.features.base import EXTRACTORS, FeatureExtractor

__all__ = ["EXTRACTORS", "FeatureExtractor", "get_extractor", "list_extractors"]

PRECISIONS = ("fp32", "bf16")
PRECISION_ENV = "GANFORGE_FEATURE_PRECISION"  # fp32 (default) or bf16

_LOADED: dict[tuple, FeatureExtractor] = {}


def get_extractor(
    name: str,
    weights: str | None = None,
    device: torch.device | str = "cpu",
    random_init: bool = False,
    precision: str | None = None,
) -> FeatureExtractor:
    """A feature extractor by name, with its standard weights, a local `weights` file, or random
    weights (`random_init=True`, for tests; such figures are never called FID).

    `precision` ("fp32" or "bf16"; None: $GANFORGE_FEATURE_PRECISION, else "fp32") sets the
    extractor's `numerics`. bf16 is an opt-in for EfficientNet-Lite0 only (2.4x faster on an
    AVX512-BF16 CPU, but its FD moves by up to ~3%: README "Speed"); the default float32 is the
    reference, and the FID Inception always runs in it.

    Extractors are frozen (no gradients to their weights) and shared for the life of the process,
    so asking again is free; do not move or modify the one you get. Building one never touches the
    global torch RNG.
    """
    from ganforge.data.download import cache_dir
    from ganforge.memory import keep_freed_memory

    keep_freed_memory()  # its 224x224 batches would fault fresh pages in every time (ganforge.memory)
    device = torch.device(device)
    numerics = feature_numerics(name, precision)
    key = (name, str(weights) if weights else None, str(device), random_init, str(cache_dir()), numerics)
    if key not in _LOADED:
        builder = EXTRACTORS.get(name)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)  # random_init extractors are the same in every process
            extractor = builder(weights=weights, random_init=random_init)
        extractor.numerics = numerics
        _LOADED[key] = extractor.to(device).eval().requires_grad_(False)
    return _LOADED[key]


def feature_numerics(name: str, precision: str | None = None) -> str:
    """ "bf16" or "fp32": what extractor `name` computes in for `precision` (None: the env var)."""
    from ganforge.errors import ConfigError

    where = "precision" if precision is not None else f"${PRECISION_ENV}"
    precision = precision if precision is not None else (os.environ.get(PRECISION_ENV) or "fp32")
    if precision not in PRECISIONS:
        raise ConfigError(
            f"{where} {precision!r} is not one of {', '.join(PRECISIONS)} "
            "(fp32: the reference features; bf16: ~2.4x faster on CPUs with bf16, FD within ~3%)"
        )
    if precision == "bf16" and EXTRACTORS.entry(name).meta.get("bf16_ok", False):
        return "bf16"
    return "fp32"


def list_extractors() -> list[str]:
    return EXTRACTORS.names()
