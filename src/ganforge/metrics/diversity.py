"""Sample diversity and classifier confidence: figures that tell a collapsed generator from a good one.

FD and KID mix fidelity and variety into one number; a generator that draws the same good digit for
every z can still score a middling FD. These figures isolate the variety:

- `mean_pairwise_distance(x)`: the mean Euclidean distance over all pairs of rows of x (features or
  flattened images); 0 for identical rows.
- `diversity(fake, real)`: that of the fake set over that of the real set, so identical images give 0
  and a real set against another draw of itself gives about 1 (the relative "sample diversity" that
  Odena et al. 2017 measure with MS-SSIM, here in feature space).
- `per_class_diversity(...)`: the same within each class, for conditional generators; the mean over
  classes is the number a collapse inside a class (one image per label) cannot hide.
- `classifier_confidence(logits)` and `class_histogram_entropy(logits)`: a digits/fashion classifier's
  mean top-class probability on generated images (are they recognizable?) and the entropy in nats of
  the histogram of its predicted classes (do all classes appear? log 10 = 2.303 for ten even classes).
  The two halves of the Inception Score (Salimans et al. 2016), reported apart.
"""

from __future__ import annotations

import torch

from ganforge.errors import ConfigError

MAX_PAIRWISE = 2000  # rows used for a pairwise mean: 2M pairs pin it to ~0.1%, at a bounded cost


def _rows(x: torch.Tensor, max_n: int | None, seed: int) -> torch.Tensor:
    x = x.flatten(1).double()
    if max_n is not None and x.shape[0] > max_n:  # a fixed random subset, the same for every call
        index = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(seed))[:max_n]
        x = x[index]
    return x


def mean_pairwise_distance(
    x: torch.Tensor, max_n: int | None = MAX_PAIRWISE, seed: int = 0, chunk: int = 512
) -> float:
    """Mean Euclidean distance over all pairs i < j of the rows of `x` (N, ...); needs N >= 2.

    Rows beyond `max_n` are left out by a fixed random choice (seed `seed`)."""
    if x.dim() < 2 or x.shape[0] < 2:
        raise ConfigError(f"a pairwise distance needs at least 2 items, got shape {tuple(x.shape)}")
    x = _rows(x, max_n, seed)
    n = x.shape[0]
    total = 0.0
    for start in range(0, n, chunk):  # (chunk, N) blocks keep memory bounded for large N
        total += float(torch.cdist(x[start : start + chunk], x).sum())
    return total / (n * (n - 1))  # the diagonal is zero; every pair is counted twice


def diversity(
    fake: torch.Tensor, real: torch.Tensor, max_n: int | None = MAX_PAIRWISE, seed: int = 0
) -> float:
    """Mean pairwise distance of `fake` rows over that of `real` rows: 0 when every fake is the same,
    about 1 when the fakes vary as much as real data (above 1: more spread than the data, e.g. noise)."""
    spread = mean_pairwise_distance(real, max_n, seed)
    if spread <= 0:
        raise ConfigError("the real set has no spread (all items identical); diversity is undefined")
    return mean_pairwise_distance(fake, max_n, seed) / spread


def per_class_diversity(
    fake: torch.Tensor,
    fake_labels: torch.Tensor,
    real: torch.Tensor,
    real_labels: torch.Tensor,
    max_per_class: int | None = 100,
    seed: int = 0,
) -> dict[int, float]:
    """`diversity` within each class that has at least 2 fakes and 2 reals: {class: ratio}.

    Uses at most `max_per_class` of each side per class (100: the issue's protocol)."""
    fake_labels, real_labels = fake_labels.flatten().cpu(), real_labels.flatten().cpu()
    if fake_labels.shape[0] != fake.shape[0] or real_labels.shape[0] != real.shape[0]:
        raise ConfigError("per-class diversity needs one label per item on both sides")
    out: dict[int, float] = {}
    for c in sorted(set(fake_labels.tolist()) & set(real_labels.tolist())):
        f, r = fake[fake_labels == c], real[real_labels == c]
        if f.shape[0] >= 2 and r.shape[0] >= 2:
            out[int(c)] = diversity(f, r, max_per_class, seed)
    if not out:
        raise ConfigError("per-class diversity needs at least 2 fake and 2 real items of some class")
    return out


def classifier_confidence(logits: torch.Tensor) -> float:
    """Mean over images of the classifier's top-class probability (softmax of `logits` (N, K))."""
    if logits.dim() != 2 or logits.shape[0] < 1:
        raise ConfigError(f"classifier confidence needs logits of shape (N, K), got {tuple(logits.shape)}")
    return float(logits.double().softmax(1).max(1).values.mean())


def class_histogram_entropy(logits: torch.Tensor) -> float:
    """Entropy in nats of the histogram of predicted classes (argmax of `logits` (N, K)).

    0 when every image is called the same class; log K when the K classes come up equally often."""
    if logits.dim() != 2 or logits.shape[0] < 1:
        raise ConfigError(f"class entropy needs logits of shape (N, K), got {tuple(logits.shape)}")
    counts = torch.bincount(logits.argmax(1), minlength=logits.shape[1]).double()
    p = counts[counts > 0] / counts.sum()
    return float(-(p * p.log()).sum())


def pixel_spread(images: torch.Tensor) -> float:
    """Mean over pixels of the standard deviation across images (N, C, H, W): 0 for identical images.

    The cheap collapse check of the test suite; needs no feature extractor."""
    if images.shape[0] < 2:
        raise ConfigError("pixel spread needs at least 2 images")
    return float(images.double().std(dim=0).mean())


__all__ = [
    "class_histogram_entropy",
    "classifier_confidence",
    "diversity",
    "mean_pairwise_distance",
    "per_class_diversity",
    "pixel_spread",
]
