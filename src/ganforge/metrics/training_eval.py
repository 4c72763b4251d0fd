"""Metrics during training: every `train.eval_every` steps, on rank 0, with the EMA generator.

The trainer calls `TrainingEvaluator(step, G, logger)`; it samples `train.eval_n` images from fixed
latents (the same every time, so successive figures differ only by the model), measures them
against as many training images (features cached), with the sample diversity beside FD/KID (and
per-class diversity for conditional generators: a collapse shows as it happens), appends a row
to `metrics.jsonl`, logs the figures to log.jsonl/TensorBoard, and returns True when the first
metric in `train.eval_metrics` improved, so the trainer keeps that state as `checkpoints/best.pt`.

It never draws from the training RNGs: resumed and uninterrupted runs stay identical with or
without evaluation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ganforge.console import info
from ganforge.data.dataset import ImageData
from ganforge.metrics.names import LOWER_IS_BETTER, parse_metrics
from ganforge.metrics.store import append_jsonl, read_jsonl

EVAL_SEED_OFFSET = 424242  # the eval latents' seed is train.seed plus this: apart from preview grids


def primary_value(metric: str, values: dict[str, float]) -> float:
    """The number `best.pt` is chosen by: fd, kid, is, accuracy as they are; pr as (P + R) / 2."""
    if metric == "pr":
        return (values["precision"] + values["recall"]) / 2
    return values["accuracy" if metric == "acc" else metric]


class TrainingEvaluator:
    def __init__(self, cfg: Any, run_dir: Path, data: ImageData, device: torch.device):
        t = cfg.train
        self.metrics = parse_metrics(t.eval_metrics)
        self.primary = self.metrics[0]
        self.n = t.eval_n
        self.features = t.eval_features
        self.seed = t.seed + EVAL_SEED_OFFSET
        self.data = data
        self.label = cfg.data.source
        self.device = device
        self.path = Path(run_dir) / "metrics.jsonl"
        self.reference = None
        self.class_reference = None  # (features, labels) of up to 100 training images per class
        self.extractor = None
        self.best: float | None = None
        self.best_key = f"best_{self.primary}"

    def check(self, G: torch.nn.Module) -> None:
        """Fail before training starts when this generator cannot be evaluated here."""
        from ganforge.errors import ConfigError

        if not hasattr(G, "z_dim"):
            raise ConfigError(
                "train.eval_every measures generators from noise; this recipe's generator takes images: "
                "set train.eval_every=0 and evaluate its outputs with `ganforge eval --real ... --fake ...`"
            )

    def resume(self, step: int) -> None:
        """Recover the best figure so far from metrics.jsonl (rows after `step` were rolled back)."""
        lower = LOWER_IS_BETTER[self.primary]
        seen = [
            float(row[self.best_key])
            for row in read_jsonl(self.path)
            if isinstance(row.get(self.best_key), (int, float)) and int(row.get("step", 0)) <= step
        ]
        if seen:
            self.best = min(seen) if lower else max(seen)

    @torch.no_grad()
    def __call__(self, step: int, G: torch.nn.Module, logger: Any = None) -> bool:
        """Evaluate `G` at `step`; True when the primary metric improved (or is the first)."""
        from ganforge.metrics.evaluate import (
            class_diversity_values,
            compute_metrics,
            label_map,
            metric_names,
            real_class_features,
        )
        from ganforge.metrics.features import get_extractor
        from ganforge.metrics.reference import reference_from_images
        from ganforge.sampling import generated_batches

        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            if self.extractor is None:
                self.extractor = get_extractor(self.features, device=self.device)
            if self.reference is None:
                self.reference = reference_from_images(
                    self.extractor, self.data.images, self.label, n=self.n, seed=0, progress=False
                )
            was_training = G.training
            labels: list[torch.Tensor] = []
            batches = generated_batches(G, self.n, self.seed, 64, self.device, labels)
            fake, logits = self.extractor.extract(batches, self.n, progress=False)
            G.train(was_training)
        fake_labels = None
        if "acc" in self.metrics and labels:
            fake_labels = label_map(self.extractor, self.data.class_names)[torch.cat(labels)]
        values, _ = compute_metrics(
            self.extractor, self.reference, fake, logits, self.metrics, fake_labels, seed=0
        )
        if labels and "diversity" in values:  # conditional: is there variety inside each class?
            if self.class_reference is None:
                with torch.random.fork_rng(devices=[]):
                    self.class_reference = real_class_features(self.extractor, self.data)
            values.update(class_diversity_values(fake, torch.cat(labels), self.class_reference))
        names = metric_names(self.extractor)
        figures = {
            names[k.removesuffix("_std")] + (" std" if k.endswith("_std") else ""): v
            for k, v in values.items()
        }
        value = primary_value(self.primary, values)
        lower = LOWER_IS_BETTER[self.primary]
        improved = self.best is None or (value < self.best if lower else value > self.best)
        if improved:
            self.best = value
        append_jsonl(
            self.path, {"step": step, **figures, self.best_key: self.best, "features": self.extractor.name}
        )
        if logger is not None:
            logger.log(step, figures)
        shown = ", ".join(f"{k} {v:.4g}" for k, v in figures.items() if not k.endswith(" std"))
        info(f"step {step}: {shown}" + (" (best so far: checkpoints/best.pt)" if improved else ""))
        return improved
