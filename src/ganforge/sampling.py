"""What a seed means: the latents and class labels of `ganforge sample --seed SEED --n N`, and the
images they give. Shared by the generate pipeline, `ganforge eval` and the trainer's evaluations, so
all three see the same images for a seed."""

from __future__ import annotations

from collections.abc import Iterator

import torch

from ganforge.errors import ConfigError


def latents(n: int, z_dim: int, seed: int) -> torch.Tensor:
    """The latents of seed `seed`: drawn on the CPU so every device gets the same images."""
    return torch.randn(n, z_dim, generator=torch.Generator().manual_seed(seed))


def check_class(G: torch.nn.Module, class_index: int | None) -> None:
    if class_index is None:
        return
    if not getattr(G, "num_classes", 0):
        raise ConfigError(
            "--class needs a class-conditional model (e.g. --preset cdcgan-mnist); this one is not"
        )
    if not 0 <= class_index < G.num_classes:
        raise ConfigError(
            f"--class {class_index} is out of range; this model has classes 0..{G.num_classes - 1}"
        )


def class_labels(G: torch.nn.Module, n: int, class_index: int | None) -> torch.Tensor | None:
    """Labels for n images: the chosen class, or for a conditional model classes in turn, or, when G
    keeps `class_weights` (its training data's class frequencies), classes at those frequencies."""
    check_class(G, class_index)
    if not getattr(G, "num_classes", 0):
        return None
    if class_index is not None:
        return torch.full((n,), class_index, dtype=torch.long)
    weights = getattr(G, "class_weights", None)
    if isinstance(weights, torch.Tensor) and weights.numel() == G.num_classes:
        return weighted_labels(n, weights.detach().float().cpu())
    return torch.arange(n) % G.num_classes


def weighted_labels(n: int, weights: torch.Tensor) -> torch.Tensor:
    """n labels whose classes come at the frequencies `weights` (K,), well mixed and without chance:
    label i is the class whose share of [0, 1) holds the fractional part of (i + 0.5) times the
    golden ratio, so any n images hold each class within a couple of images of n * weight."""
    edges = torch.cumsum(weights.double() / weights.double().sum(), 0)
    points = torch.remainder((torch.arange(n, dtype=torch.float64) + 0.5) * 0.6180339887498949, 1.0)
    return torch.searchsorted(edges, points, right=True).clamp_(max=len(weights) - 1)


def generated_batches(
    G: torch.nn.Module,
    n: int,
    seed: int,
    batch_size: int,
    device: torch.device | str,
    labels_out: list[torch.Tensor],
    class_index: int | None = None,
) -> Iterator[torch.Tensor]:
    """The images `ganforge sample --seed SEED --n N` makes, batch by batch (memory stays bounded)."""
    if not hasattr(G, "z_dim"):
        raise ConfigError(
            "`ganforge eval RUN` evaluates generators from noise; for a translation model, write its "
            "outputs to a folder and run `ganforge eval --real TARGETS --fake OUTPUTS`"
        )
    G = G.to(device).eval()
    z = latents(n, G.z_dim, seed)
    labels = class_labels(G, n, class_index)
    for start in range(0, n, batch_size):
        zb = z[start : start + batch_size]
        lb = labels[start : start + batch_size] if labels is not None else None
        if lb is not None:
            labels_out.append(lb)
        with torch.no_grad():  # float32, as GeneratePipeline's default precision
            images = G(zb.to(device), lb.to(device) if lb is not None else None).float().cpu()
        yield images
