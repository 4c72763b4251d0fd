"""Evaluate image sets against reference images: the library behind `ganforge eval`.

`evaluate_folders(real, fake)` embeds two image sets with one feature extractor and returns an
`EvalReport` whose `record` holds everything needed to reproduce each figure (extractor and weights
sha256, sample counts and seeds, reference dataset and split, resize method). Sampling a trained
generator first is a pipeline's job: `ganforge.pipelines.evaluate.evaluate_generator`.
"""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ganforge import __version__
from ganforge.errors import ConfigError, DataError
from ganforge.metrics.diversity import (
    MAX_PAIRWISE,
    class_histogram_entropy,
    classifier_confidence,
    diversity,
    per_class_diversity,
)
from ganforge.metrics.features import FeatureExtractor, get_extractor
from ganforge.metrics.frechet import FeatureStats, frechet_distance
from ganforge.metrics.inception_score import inception_score
from ganforge.metrics.kid import kernel_inception_distance
from ganforge.metrics.names import DESCRIPTIONS, parse_metrics
from ganforge.metrics.precision_recall import precision_recall
from ganforge.metrics.reference import Reference


@dataclass
class EvalReport:
    """`values` by metric key (fd, kid, kid_std, precision, recall, is, is_std, accuracy);
    `names` says what each is called; `record` is what metrics.json stores."""

    values: dict[str, float]
    names: dict[str, str]
    record: dict[str, Any] = field(default_factory=dict)

    def rows(self) -> list[tuple[str, str]]:
        """(name, formatted value) lines of the summary table."""
        rows = []
        for key, value in self.values.items():
            if key.endswith("_std"):
                continue
            text = f"{value:.6g}" if key.startswith("kid") else f"{value:.4f}"
            std = self.values.get(f"{key}_std")
            rows.append((self.names[key], text + (f" ± {std:.2g}" if std is not None else "")))
        return rows

    def summary(self) -> str:
        """One line for model cards and logs."""
        return ", ".join(f"{name} {value}" for name, value in self.rows())


def metric_names(extractor: FeatureExtractor) -> dict[str, str]:
    """What each figure is called with this extractor: FID, KID and IS only on the standard weights."""
    official = getattr(extractor, "official", False)
    suffix = "" if official else "-" + extractor.fd_name.removeprefix("FD-")
    return {
        "fd": extractor.fd_name,
        "kid": f"KID{suffix}",
        "precision": f"precision{suffix}",
        "recall": f"recall{suffix}",
        "density": f"density{suffix}",
        "coverage": f"coverage{suffix}",
        "is": f"IS{suffix}",
        "accuracy": f"accuracy ({extractor.name})",
        "diversity": f"diversity{suffix}",
        "class_diversity": f"class-diversity{suffix}",  # mean over classes
        "class_diversity_min": f"class-diversity-min{suffix}",  # the lowest class
        "confidence": f"confidence{suffix}",  # mean top-class probability
        "class_entropy": f"class-entropy{suffix}",  # nats
    }


def compute_metrics(
    extractor: FeatureExtractor,
    reference: Reference,
    fake: torch.Tensor,
    fake_logits: torch.Tensor | None,
    metrics: Sequence[str],
    fake_labels: torch.Tensor | None = None,
    kid_subsets: int = 100,
    kid_subset_size: int | None = None,  # None: half the images
    seed: int = 0,
) -> tuple[dict[str, float], dict[str, Any]]:
    """The chosen metrics of fake features (M, D) against a reference; returns (values, details).

    With fd or kid, the sample diversity (ganforge.metrics.diversity) comes too, and with a classifier
    (digits-lenet, fashion-lenet) its mean top-class confidence and class-histogram entropy: a
    collapsed generator shows there."""
    values: dict[str, float] = {}
    details: dict[str, Any] = {}
    for metric in metrics:
        if metric == "fd":
            values["fd"] = frechet_distance(reference.stats, FeatureStats.of(fake))
        elif metric == "kid":
            kid = kernel_inception_distance(reference.features, fake, kid_subsets, kid_subset_size, seed)
            values["kid"], values["kid_std"] = kid.mean, kid.std
            details["kid"] = {"subsets": kid.subsets, "subset_size": kid.subset_size, "kernel": "(x.y/d+1)^3"}
        elif metric == "pr":
            pr = precision_recall(reference.features, fake, k=3)
            values["precision"], values["recall"] = pr.precision, pr.recall
            values["density"], values["coverage"] = pr.density, pr.coverage
            details["pr"] = {"k": pr.k}
        elif metric == "is":
            if fake_logits is None:
                raise ConfigError(f"--metrics is needs a classifier; {extractor.name} has none")
            score = inception_score(fake_logits, splits=10)
            values["is"], values["is_std"] = score.mean, score.std
            details["is"] = {"splits": score.splits}
        elif metric == "acc":
            if fake_logits is None or fake_labels is None:
                raise ConfigError(
                    "--metrics acc needs class-conditional images (a conditional model, or class "
                    "subfolders in --fake) and a classifier over their classes, e.g. --features digits-lenet"
                )
            values["accuracy"] = float((fake_logits.argmax(1) == fake_labels).double().mean())
    if ("fd" in metrics or "kid" in metrics) and len(fake) >= 2 and len(reference.features) >= 2:
        values["diversity"] = diversity(fake, reference.features, seed=seed)
        details["diversity"] = {"pairs_of_at_most": MAX_PAIRWISE, "distance": "euclidean, features"}
        if fake_logits is not None and 0 < extractor.num_classes < 1000:  # the data's own classes (LeNets)
            values["confidence"] = classifier_confidence(fake_logits)
            values["class_entropy"] = class_histogram_entropy(fake_logits)
    return values, details


def same_classes(model_names: Sequence[str] | None, real_names: Sequence[str] | None, count: int) -> bool:
    """Whether the reference's class indices are the model's: the same names in the same order (or,
    for a model that kept no names, as many classes)."""
    if real_names is None:
        return False
    if model_names is None:
        return len(real_names) == count
    return [str(c) for c in model_names] == [str(c) for c in real_names]


def real_class_features(
    extractor: FeatureExtractor, real: Any, seed: int = 0, batch_size: int = 64, per_class: int = 100
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Features and labels of at most `per_class` images of each class of `real` (an ImageData),
    a fixed random choice; None when it has no labels."""
    from ganforge.metrics.features.base import batched

    if getattr(real, "labels", None) is None:
        return None
    order = torch.randperm(len(real.labels), generator=torch.Generator().manual_seed(seed))
    keep = torch.cat([order[real.labels[order] == c][:per_class] for c in real.labels.unique()])
    keep = keep.sort().values
    feats, _ = extractor.extract(batched(real.images[keep], batch_size), len(keep), progress=False)
    return feats, real.labels[keep]


def class_diversity_values(
    fake: torch.Tensor,
    fake_labels: torch.Tensor,
    real: tuple[torch.Tensor, torch.Tensor] | None,
    seed: int = 0,
) -> dict[str, float]:
    """Mean and lowest per-class diversity of fake features (class indices of G) against real
    (features, labels) from `real_class_features`; {} without real labels."""
    if real is None:
        return {}
    by_class = per_class_diversity(fake, fake_labels, real[0], real[1], 100, seed)
    return {
        "class_diversity": sum(by_class.values()) / len(by_class),
        "class_diversity_min": min(by_class.values()),
    }


def check_metrics(extractor: FeatureExtractor, metrics: Sequence[str], n: int) -> None:
    """Fail before any work when a metric cannot be computed with this extractor and count."""
    if "is" in metrics and not extractor.num_classes:
        raise ConfigError(f"--metrics is needs a classifier; {extractor.name} has none")
    if "is" in metrics and n < 10:
        raise ConfigError(f"--metrics is needs at least 10 images (it splits them in 10), got --n {n}")


def label_map(extractor: FeatureExtractor, class_names: Sequence[str] | None) -> torch.Tensor:
    """Maps the images' class indices to the extractor's, by class name."""
    if not extractor.num_classes or not extractor.class_names:
        raise ConfigError(
            f"--metrics acc needs a classifier over your classes; {extractor.name} has none that ganforge "
            "knows the names of: use --features digits-lenet (MNIST digits) or fashion-lenet (Fashion-MNIST)"
        )
    if class_names is None:  # no names (a checkpoint): the classes must be the classifier's, in order
        return torch.arange(extractor.num_classes)
    missing = [str(c) for c in class_names if str(c) not in extractor.class_names]
    if missing:
        raise ConfigError(
            f"--metrics acc: the classes {', '.join(missing[:5])} are not among {extractor.name}'s "
            f"({', '.join(extractor.class_names)}); use a classifier for this data"
        )
    return torch.tensor([extractor.class_names.index(str(c)) for c in class_names])


def _environment(device: torch.device | str) -> dict[str, str]:
    return {
        "ganforge": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": str(device),
    }


def _images_per_second(count: int, seconds: float) -> float:
    return round(count / seconds, 2) if seconds > 0 else math.inf


def folder_size(folder: str | Path) -> int:
    """The side of the first image in a folder (the others are center-cropped/resized to it)."""
    from PIL import Image

    from ganforge.data.folder import find_images, missing_folder

    root = Path(folder).expanduser()
    if not root.is_dir():
        raise missing_folder(folder)
    files = find_images(root)
    if not files:
        raise DataError(f"--fake folder {folder} holds no images")
    with Image.open(files[0]) as image:
        return min(image.size)


def evaluate_folders(
    real: str,
    fake: str,
    split: str = "all",
    metrics: str | Sequence[str] = ("fd", "kid"),
    features: str = "effnet-lite0",
    n: int | None = None,
    seed: int = 0,
    weights: str | None = None,
    device: str = "cpu",
    batch_size: int = 64,
    size: int | None = None,
    kid_subsets: int = 100,
    kid_subset_size: int | None = None,  # None: half the images
    progress: bool | None = None,
) -> EvalReport:
    """Measure the images of folder `fake` against `real` (a folder or built-in dataset and split).

    Both sets are loaded at `size` (default: the side of the first fake image); `n` caps each at a
    fixed random choice. Class subfolders in `fake` give labels for `acc`."""
    from ganforge.data import load_source
    from ganforge.metrics.reference import choose, reference_features

    chosen = parse_metrics(metrics)
    size = size or folder_size(fake)
    extractor = get_extractor(features, weights, device)
    fake_data = load_source(fake, size=size, channels=None, labels=True)
    index = choose(len(fake_data), n, seed)
    fake_data = fake_data if index is None else fake_data.subset(index)
    check_metrics(extractor, chosen, len(fake_data))
    if "acc" in chosen and fake_data.labels is None:
        raise ConfigError(
            f"--metrics acc needs class subfolders in --fake {fake} (e.g. fake/0/*.png, fake/1/...)"
        )
    mapping = label_map(extractor, fake_data.class_names) if "acc" in chosen else None
    channels = fake_data.channels
    reference = reference_features(
        extractor, real, split, size=size, channels=channels, n=n, seed=seed, batch_size=batch_size,
        progress=progress,
    )  # fmt: skip
    start = time.perf_counter()
    from ganforge.metrics.features.base import batched

    fake_feats, logits = extractor.extract(
        batched(fake_data.images, batch_size), len(fake_data), progress, description="fake images"
    )
    seconds = time.perf_counter() - start
    fake_labels = mapping[fake_data.labels] if mapping is not None else None
    values, details = compute_metrics(
        extractor, reference, fake_feats, logits, chosen, fake_labels, kid_subsets, kid_subset_size, seed
    )
    names = metric_names(extractor)
    fake_info = {"folder": str(fake), "images": len(fake_data), "size": size, "seed": seed}
    record = make_record(
        extractor, reference, fake_info, values, names, details, chosen, seconds, len(fake_data), device
    )
    return EvalReport(values, {k: names[k.removesuffix("_std")] for k in values}, record)


def make_record(
    extractor: FeatureExtractor,
    reference: Reference,
    fake_info: dict[str, Any],
    values: dict[str, float],
    names: dict[str, str],
    details: dict[str, Any],
    chosen: list[str],
    seconds: float,
    count: int,
    device: str,
) -> dict[str, Any]:
    results = {
        names[k.removesuffix("_std")] + (" std" if k.endswith("_std") else ""): v for k, v in values.items()
    }
    return {
        "kind": "ganforge eval",
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "results": results,
        "values": values,
        "metrics": {m: DESCRIPTIONS[m] for m in chosen},
        "details": details,
        "extractor": extractor.describe(),
        "reference": {
            **reference.info,
            "cache_file": str(reference.cache_file) if reference.cache_file else None,
        },
        "fake": fake_info,
        "fake_images_per_second": _images_per_second(count, seconds),
        "environment": _environment(device),
    }
