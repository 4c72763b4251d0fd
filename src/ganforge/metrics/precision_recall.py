"""Improved precision and recall (Kynkäänniemi, Karras, Laine, Lehtinen & Aila 2019), with density
and coverage (Naeem, Oh, Uh, Choi & Yoo 2020).

Each set's manifold is the union of balls around its feature vectors, each ball's radius the
distance to that vector's k-th nearest neighbour within the set (k = 3 in the paper). Precision is
the fraction of fake samples inside the real manifold (how many fakes look real); recall is the
fraction of real samples inside the fake manifold (how much of the data the generator covers).

A few real outliers with large balls can make precision high for junk (e.g. noise whose features
collapse into one spot); density (how many real balls hold each fake, over k) and coverage (the
fraction of real balls that hold any fake) use only the real balls and are robust to that.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ganforge.errors import ConfigError


@dataclass
class PrecisionRecall:
    precision: float
    recall: float
    density: float
    coverage: float
    k: int


def _pairwise_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Euclidean distances (n, m) in float64, clamped at 0 against rounding."""
    d2 = a.pow(2).sum(1, keepdim=True) + b.pow(2).sum(1)[None, :] - 2 * a @ b.t()
    return d2.clamp(min=0).sqrt()


def knn_radii(features: torch.Tensor, k: int = 3, batch_size: int = 1024) -> torch.Tensor:
    """Distance from each row to its k-th nearest other row -> (N,)."""
    x = features.double()
    if x.shape[0] <= k:
        raise ConfigError(f"precision/recall with k={k} needs more than {k} images per set, got {x.shape[0]}")
    radii = []
    for start in range(0, x.shape[0], batch_size):
        d = _pairwise_distances(x[start : start + batch_size], x)
        # the smallest distance is the row to itself (0); the (k+1)-th smallest is the k-th neighbour
        radii.append(d.kthvalue(k + 1, dim=1).values)
    return torch.cat(radii)


def ball_membership(
    support: torch.Tensor, radii: torch.Tensor, queries: torch.Tensor, batch_size: int = 1024
) -> tuple[torch.Tensor, torch.Tensor]:
    """For each query, how many balls (support[i], radii[i]) hold it -> (Q,) int64; and for each
    ball whether any query lies in it -> (S,) bool."""
    s = support.double()
    counts, hit = [], torch.zeros(len(s), dtype=torch.bool)
    for start in range(0, queries.shape[0], batch_size):
        inside = _pairwise_distances(queries[start : start + batch_size].double(), s) <= radii[None, :]
        counts.append(inside.sum(1))
        hit |= inside.any(0)
    return torch.cat(counts), hit


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> PrecisionRecall:
    """Precision, recall, density and coverage of `fake` (M, D) against `real` (N, D) features."""
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ConfigError(
            "precision/recall needs two (N, D) feature sets of one D, "
            f"got {tuple(real.shape)}, {tuple(fake.shape)}"
        )
    real_counts, real_hit = ball_membership(real, knn_radii(real, k), fake)
    fake_counts, _ = ball_membership(fake, knn_radii(fake, k), real)
    return PrecisionRecall(
        precision=float((real_counts > 0).double().mean()),
        recall=float((fake_counts > 0).double().mean()),
        density=float(real_counts.double().sum() / (k * len(fake))),
        coverage=float(real_hit.double().mean()),
        k=k,
    )
