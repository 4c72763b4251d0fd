"""Valid example inputs of a registered model, for the registry-driven tests and `ganforge export`.

Every model answers `example_inputs(batch, generator)`. Generators from noise draw z (and class
labels when conditional); image models draw images uniform in [-1, 1] (and labels when
conditional). The two mixins give a model that method from its own attributes, so each
architecture states only what is special about its inputs.
"""

from __future__ import annotations

import torch
from torch import nn


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def noise_inputs(model: nn.Module, batch: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
    """(z,) or, for a conditional model (`num_classes` > 0), (z, labels); drawn in that order."""
    device = _device(model)
    z = torch.randn(batch, model.z_dim, generator=generator).to(device)
    classes = int(getattr(model, "num_classes", 0) or 0)
    if not classes:
        return (z,)
    return z, torch.randint(0, classes, (batch,), generator=generator).to(device)


def image_inputs(
    model: nn.Module,
    batch: int,
    generator: torch.Generator,
    channels: int,
    size: int,
    classes: int = 0,
) -> tuple[torch.Tensor, ...]:
    """(images,) uniform in [-1, 1], (B, channels, size, size), or (images, labels) when `classes`."""
    device = _device(model)
    images = (torch.rand((batch, channels, size, size), generator=generator) * 2 - 1).to(device)
    if not classes:
        return (images,)
    return images, torch.randint(0, classes, (batch,), generator=generator).to(device)


class NoiseInputs:
    """Mixin for generators from noise: `example_inputs` from `z_dim` and `num_classes`."""

    def example_inputs(self, batch: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        return noise_inputs(self, batch, generator)  # type: ignore[arg-type]


class ImageInputs:
    """Mixin for models of images at their own size: `example_inputs` from `img_channels` (or
    `in_channels`), `img_size` and, when conditional, `num_classes`."""

    def example_inputs(self, batch: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        channels = getattr(self, "img_channels", None) or self.in_channels  # type: ignore[attr-defined]
        classes = int(getattr(self, "num_classes", 0) or 0)
        return image_inputs(self, batch, generator, channels, self.img_size, classes)  # type: ignore[arg-type]
