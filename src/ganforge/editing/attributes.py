"""Attribute directions from labeled images (InterFaceGAN, Shen et al. 2020): train a classifier
on labeled images, score the generator's samples with it, and fit a linear boundary in latent space
per class (`ganforge.editing.directions.labels_boundary`).

The classifier is a frozen feature extractor plus a logistic-regression head trained here:
`digits-lenet` or `fashion-lenet` features for gray images where they fit (ganforge trains and caches
those itself), EfficientNet-Lite0 features otherwise. Labels come from a folder's class subfolders,
a built-in labeled dataset, or the built-in `thickness` set: mnist-5k digits labeled thin or thick
by their stroke width, measured from the images (ink area over skeleton length), within each digit
so that the attribute is not the digit's identity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
from torch import nn

from ganforge.editing.directions import Direction, attribute_directions, sample_w
from ganforge.editing.model import generator_facts, without_codes
from ganforge.errors import ConfigError, DataError
from ganforge.pipelines.generate import latents

THICKNESS = "thickness"
THICK_FRACTION = 0.3  # the thinnest and thickest 30% of each digit are labeled; the middle is left out


@dataclass
class LabeledImages:
    images: torch.Tensor  # (N, C, H, W) uint8
    labels: torch.Tensor  # (N,) int64
    class_names: list[str]
    source: str


def stroke_thickness(images: torch.Tensor) -> torch.Tensor:
    """Mean stroke width in pixels of gray images (N, 1, H, W) uint8: ink area / skeleton length."""
    import numpy as np
    from skimage.morphology import skeletonize

    ink = images[:, 0].numpy() > 127
    out = []
    for mask in ink:
        length = int(skeletonize(mask).sum())
        out.append(float(mask.sum()) / max(length, 1))
    return torch.tensor(np.array(out), dtype=torch.float32)


def thickness_images() -> LabeledImages:
    """mnist-5k's training split labeled "thin" (0) or "thick" (1): the bottom and top 30% of stroke
    width within each digit."""
    from ganforge.metrics.reference import load_reference_images

    data = load_reference_images("mnist-5k", "train", size=28, channels=1)
    width = stroke_thickness(data.images)
    keep, labels = [], []
    for digit in range(10):
        index = (data.labels == digit).nonzero().flatten()
        order = index[torch.argsort(width[index], stable=True)]
        take = int(len(order) * THICK_FRACTION)
        keep += [order[:take], order[-take:]]
        labels += [torch.zeros(take, dtype=torch.long), torch.ones(take, dtype=torch.long)]
    index = torch.cat(keep)
    return LabeledImages(data.images[index], torch.cat(labels), ["thin", "thick"], THICKNESS)


def labeled_images(data: str) -> LabeledImages:
    """Images with class labels: `thickness`, a built-in labeled dataset, or a folder of class subfolders."""
    if data == THICKNESS:
        return thickness_images()
    from ganforge.data import load_source

    loaded = load_source(data, size=None, channels=None, labels=True)
    if loaded.labels is None or not loaded.class_names or len(loaded.class_names) < 2:
        raise DataError(
            f"--data {data} has no class labels; give a folder with one subfolder per class "
            f"(at least two), a labeled built-in (mnist-5k, fashion-mnist) or `{THICKNESS}`"
        )
    return LabeledImages(loaded.images, loaded.labels, [str(c) for c in loaded.class_names], data)


def choose_features(data: LabeledImages) -> str:
    """digits-lenet / fashion-lenet for gray images they were made for; effnet-lite0 otherwise."""
    if data.images.shape[1] == 1:
        return "fashion-lenet" if "fashion" in data.source else "digits-lenet"
    return "effnet-lite0"


def slug(name: str) -> str:
    """A class name as a direction name: "Ankle boot" -> "ankle-boot"."""
    text = re.sub(r"[^a-z0-9_.-]+", "-", name.lower()).strip("-")
    return text or "class"


class AttributeClassifier:
    """Frozen features + a logistic-regression head; `scores(images)` gives per-class log-odds (N, C)."""

    def __init__(self, features: str = "digits-lenet", device: torch.device | str = "cpu"):
        from ganforge.metrics.features import get_extractor

        self.features_name = features
        self.extractor = get_extractor(features, device=device)
        self.head = None
        self.class_names: list[str] = []
        self.held_out_accuracy: float | None = None

    def fit(self, data: LabeledImages, held_out: float = 0.2, seed: int = 0) -> AttributeClassifier:
        from sklearn.linear_model import LogisticRegression

        feats = self.extractor.features(data.images)
        order = torch.randperm(len(feats), generator=torch.Generator().manual_seed(seed))
        cut = int(len(order) * (1 - held_out))
        train, test = order[:cut], order[cut:]
        self.mean, self.std = feats[train].mean(0), feats[train].std(0).clamp_min(1e-6)
        x = ((feats - self.mean) / self.std).double().numpy()
        y = data.labels.numpy()
        self.head = LogisticRegression(C=1.0, max_iter=2000).fit(x[train], y[train])
        if len(test):
            self.held_out_accuracy = float(self.head.score(x[test], y[test]))
        self.class_names = list(data.class_names)
        return self

    def scores(self, images: torch.Tensor) -> torch.Tensor:
        """Per-class log-odds log p(c) - log(1 - p(c)) of images (N, C, H, W) in [-1, 1] or uint8."""
        if self.head is None:
            raise ConfigError("the attribute classifier is not trained yet")
        x = ((self.extractor.features(images) - self.mean) / self.std).double().numpy()
        logp = torch.from_numpy(self.head.predict_log_proba(x))  # (N, C)
        c = logp.shape[1]
        others = torch.stack(
            [torch.logsumexp(logp[:, [j for j in range(c) if j != i]], dim=1) for i in range(c)], dim=1
        )
        return (logp - others).float()


@torch.no_grad()
def generator_samples(
    G: nn.Module, n: int, seed: int, batch_size: int = 128
) -> tuple[torch.Tensor, torch.Tensor]:
    """n latents in the space edits use (z, or w for style-based G) and their images (n, C, H, W)."""
    facts = generator_facts(G)
    device = next(G.parameters()).device
    k = facts.num_classes
    if facts.style_based:
        samples = sample_w(G, n, seed)
        render = lambda s, i: G.synthesis(s[:, None, :].repeat(1, facts.num_ws, 1)).clamp(-1, 1)  # noqa: E731
    else:
        samples = latents(n, G.z_dim, seed)

        def render(s: torch.Tensor, i: int) -> torch.Tensor:
            labels = ((torch.arange(s.shape[0]) + i) % k).to(device) if k else None
            return G(s, *([labels] if labels is not None else []))

    images = [
        render(samples[i : i + batch_size].to(device), i).float().cpu() for i in range(0, n, batch_size)
    ]
    return samples, torch.cat(images)


def label_directions(
    G: nn.Module,
    data: str,
    n: int = 2000,
    seed: int = 0,
    features: str | None = None,
    classifier: AttributeClassifier | None = None,
) -> tuple[list[Direction], AttributeClassifier]:
    """One InterFaceGAN direction per class of the labeled `data`, named after the class."""
    if classifier is None:
        images = labeled_images(data)
        classifier = AttributeClassifier(features or choose_features(images)).fit(images)
    samples, images = generator_samples(G, n, seed)
    scores = classifier.scores(images)
    names = [slug(c) for c in classifier.class_names]
    if len(set(names)) != len(names):
        raise DataError(f"class names {classifier.class_names} give clashing direction names {names}")
    facts = generator_facts(G)
    return attribute_directions(without_codes(samples, facts), scores, names, facts.space), classifier
