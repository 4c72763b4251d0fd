"""The feature-extractor contract shared by every network that metrics embed images with.

An extractor takes images as ganforge holds them (uint8, or float in [-1, 1]), quantizes them to
uint8, converts channels, resizes them to its input size with the resize of `ganforge.metrics.resize`
and returns features (N, D) and, where it has a classifier, logits (N, K). `name` and
`weights_sha256` identify exactly what produced a figure; `fd_name` is what the Fréchet distance
on its features may be called ("FID" only for the standard Inception weights).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from typing import Any

import torch
from torch import nn

from ganforge.imaging import to_uint8
from ganforge.metrics.resize import RESIZE_METHOD, resize_uint8
from ganforge.registry import Registry

# name -> builder(weights: str | None, random_init: bool) -> FeatureExtractor
EXTRACTORS: Registry[Callable[..., FeatureExtractor]] = Registry("feature extractor")


def register_extractor(name: str, **meta: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return EXTRACTORS.register(name, **meta)


class FeatureExtractor(nn.Module):
    """Wraps a network: subclasses set the attributes below and implement `normalize` and `embed`."""

    name: str = ""  # registry name, e.g. "effnet-lite0"
    fd_name: str = "FD"  # what a Fréchet distance on these features is called in tables
    input_size: int = 0  # images are resized to input_size x input_size
    channels: int = 3  # 3: gray input is repeated; 1: RGB input becomes BT.601 luma
    feature_dim: int = 0
    num_classes: int = 0  # 0 when the network has no classifier
    class_names: list[str] | None = None
    resize_method: str = RESIZE_METHOD
    # "fp32", or "bf16" where the extractor is registered with bf16_ok=True and get_extractor was
    # asked for it; recorded in describe() and in the reference-statistics cache key (bf16 features
    # differ by a few percent)
    numerics: str = "fp32"

    def __init__(self, weights_sha256: str | None, weights_source: str):
        super().__init__()
        self.weights_sha256 = weights_sha256  # sha256 of the weights file, None for random weights
        self.weights_source = weights_source  # where the weights came from, for metrics.json

    # ---- to implement
    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Float pixels in [0, 255] (B, channels, S, S) -> the network's input."""
        raise NotImplementedError

    def embed(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Normalized input -> (features (B, D), logits (B, K) or None)."""
        raise NotImplementedError

    # ---- shared
    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 or [-1, 1] float (B, C, H, W) -> float pixels in [0, 255] at the input size, on the device.

        Quantizing first means a generated image and the PNG written from it give the same features.
        """
        images = to_uint8(images).to(self.device)
        if images.shape[1] == 3 and self.channels == 1:
            weights = torch.tensor([0.299, 0.587, 0.114], device=images.device).view(1, 3, 1, 1)
            images = (images.float() * weights).sum(1, keepdim=True).round().to(torch.uint8)  # (B, 1, H, W)
        resized = resize_uint8(images, self.input_size)
        if resized.shape[1] == 1 and self.channels == 3:  # gray: resize one channel, not three copies
            resized = resized.expand(-1, 3, -1, -1)
        return resized

    @torch.no_grad()
    def extract(
        self,
        batches: Iterable[torch.Tensor],
        total: int | None = None,
        progress: bool | None = None,
        description: str = "features",
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Features (N, D) and logits (N, K) or None, float32 on the CPU, of a stream of image batches."""
        was_training = self.training
        self.eval()
        feats, logits = [], []
        with _progress(progress, total, f"{description} ({self.name})") as advance:
            for images in batches:
                f, lg = self.embed(self.normalize(self.prepare(images)))
                feats.append(f.float().cpu())
                if lg is not None:
                    logits.append(lg.float().cpu())
                advance(images.shape[0])
        self.train(was_training)
        if not feats:
            return torch.zeros(0, self.feature_dim), None
        return torch.cat(feats), torch.cat(logits) if logits else None

    def features(
        self, images: torch.Tensor, batch_size: int = 64, progress: bool | None = False
    ) -> torch.Tensor:
        """(N, C, H, W) uint8 or [-1, 1] float -> (N, D) float32 on the CPU."""
        return self.extract(batched(images, batch_size), images.shape[0], progress)[0]

    def logits(self, images: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
        """Classifier logits (N, K); raises for extractors without a classifier."""
        if not self.num_classes:
            raise ValueError(f"feature extractor {self.name} has no classifier")
        return self.extract(batched(images, batch_size), images.shape[0], False)[1]

    def describe(self) -> dict[str, Any]:
        """What metrics.json records about the extractor."""
        return {
            "name": self.name,
            "fd_name": self.fd_name,
            "weights_sha256": self.weights_sha256,
            "weights_source": self.weights_source,
            "input_size": self.input_size,
            "feature_dim": self.feature_dim,
            "resize": self.resize_method,
            "numerics": self.numerics,
        }


def batched(images: torch.Tensor, batch_size: int) -> Iterator[torch.Tensor]:
    for start in range(0, images.shape[0], batch_size):
        yield images[start : start + batch_size]


def _progress(enabled: bool | None, total: int | None, description: str) -> Any:
    from ganforge.console import console, progress_enabled

    if not (progress_enabled() if enabled is None else enabled):
        return nullcontext(lambda n: None)
    from contextlib import contextmanager

    from rich.progress import MofNCompleteColumn, Progress, TimeRemainingColumn

    @contextmanager
    def bar() -> Iterator[Callable[[int], None]]:
        columns = (*Progress.get_default_columns()[:-1], MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=console, transient=True) as p:
            task = p.add_task(description, total=total)
            yield lambda n: p.advance(task, n)

    return bar()
