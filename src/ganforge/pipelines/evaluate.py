"""Evaluate a trained generator: sample it as `ganforge sample` does and score the images against
reference images with `ganforge.metrics` (the library behind `ganforge eval RUN`).

`evaluate_generator("runs/00000-dcgan-mnist", metrics="fid,kid")` returns an `EvalReport` whose
`record` holds everything needed to reproduce each figure. Task evaluation sits here, above
metrics: metrics holds the pure functions and feature extractors, pipelines know bundles.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ganforge.data import load_source
from ganforge.errors import ConfigError
from ganforge.metrics.evaluate import (
    EvalReport,
    check_metrics,
    class_diversity_values,
    compute_metrics,
    label_map,
    make_record,
    metric_names,
    real_class_features,
    same_classes,
)
from ganforge.metrics.features import get_extractor
from ganforge.metrics.names import parse_metrics
from ganforge.metrics.reference import load_reference_images, reference_features
from ganforge.pipelines.loading import load_generator
from ganforge.registry import RECIPES
from ganforge.sampling import generated_batches


def evaluate_generator(
    source: str | Path,
    data: str | None = None,
    split: str = "all",
    metrics: str | Sequence[str] = ("fd", "kid"),
    features: str = "effnet-lite0",
    n: int = 10_000,
    n_real: int | None = None,
    seed: int = 0,
    weights: str | None = None,
    device: str = "cpu",
    batch_size: int = 64,
    class_index: int | None = None,
    kid_subsets: int = 100,
    kid_subset_size: int | None = None,  # None: half the images
    progress: bool | None = None,
) -> EvalReport:
    """Sample `n` images (seed `seed`) from a run, bundle or checkpoint and measure them against
    `n_real` (default: as many as `n`) images of the `split` of `data` (default: its training data),
    loaded at the generator's size. Images are those of `ganforge sample --seed SEED`."""
    chosen = parse_metrics(metrics)
    if n < 2:
        raise ConfigError(
            f"--n {n}: evaluation needs at least 2 images (10,000 or more for a reportable FID)"
        )
    loaded = load_generator(source, device, verb="eval")
    cfg = loaded.config
    if "acc" in chosen and not getattr(loaded.G, "num_classes", 0):
        raise ConfigError("--metrics acc needs a class-conditional model (e.g. --preset cdcgan-mnist)")
    extractor = get_extractor(features, weights, device)
    check_metrics(extractor, chosen, n)
    mapping = label_map(extractor, loaded.class_names) if "acc" in chosen else None
    if mapping is not None and len(mapping) != loaded.G.num_classes:
        raise ConfigError(
            f"--metrics acc: the model has {loaded.G.num_classes} classes, {extractor.name} knows "
            f"{len(mapping)}; use a classifier for this data"
        )
    reference = reference_features(
        extractor,
        data or cfg.data.source,
        split,
        size=cfg.data.size,
        channels=cfg.data.channels,
        n=n_real or n,
        seed=seed,
        batch_size=batch_size,
        progress=progress,
    )
    labels: list[torch.Tensor] = []
    start = time.perf_counter()
    batches = generated_batches(loaded.G, n, seed, batch_size, device, labels, class_index)
    fake, logits = extractor.extract(batches, n, progress, description="generated images")
    seconds = time.perf_counter() - start
    fake_labels = mapping[torch.cat(labels)] if mapping is not None else None
    values, details = compute_metrics(
        extractor, reference, fake, logits, chosen, fake_labels, kid_subsets, kid_subset_size, seed
    )
    if labels and class_index is None and "diversity" in values:
        real = load_reference_images(data or cfg.data.source, split, cfg.data.size, cfg.data.channels)
        if same_classes(loaded.class_names, real.class_names, loaded.G.num_classes):
            real_feats = real_class_features(extractor, real, seed, batch_size)
            values.update(class_diversity_values(fake, torch.cat(labels), real_feats, seed))
    names = metric_names(extractor)
    fake_info = {
        "generator": str(loaded.source),
        "run_name": cfg.name,
        "recipe": cfg.recipe,
        "step": loaded.step,
        "images": n,
        "seed": seed,
        "class_index": class_index,
        "latents": "torch.randn(n, z_dim, generator=torch.Generator().manual_seed(seed)) on the CPU",
        "size": cfg.data.size,
    }
    record = make_record(extractor, reference, fake_info, values, names, details, chosen, seconds, n, device)
    return EvalReport(values, {k: names[k.removesuffix("_std")] for k in values}, record)


def sr_eval_images(pipe: Any, data: str | None, size: int | None, n: int | None) -> tuple[torch.Tensor, str]:
    """The HR images `ganforge eval --task sr` scores an upscaler on, and where they come from: its
    run's held-out images (as its recipe keeps them out of training), or `data` (a folder or built-in)
    at `size` (default: the run's). `pipe` is an `UpscalePipeline`."""
    cfg = pipe.config
    if data is None:
        recipe = RECIPES.get(cfg.recipe)
        if not hasattr(recipe, "load_heldout"):
            raise ConfigError(f"recipe {cfg.recipe!r} keeps no held-out images; give --data")
        images, source = recipe.load_heldout(cfg).images, f"{cfg.data.source} (held out)"
    else:
        images = load_source(data, size=size or cfg.data.size, channels=pipe.channels, labels=False).images
        source = data
    return (images[:n] if n else images), source
