"""Kernel Inception Distance (Bińkowski, Sutherland, Arbel & Gretton 2018, "Demystifying MMD GANs").

The unbiased estimate of the squared maximum mean discrepancy with the cubic polynomial kernel
k(x, y) = (x.y / d + 1)^3, averaged over random subsets of both sets; the spread over subsets is
reported as the standard deviation. Unlike FID it has no bias in the sample size, so it is the
metric to use with few samples (during training).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ganforge.errors import ConfigError


@dataclass
class KIDResult:
    mean: float
    std: float
    subsets: int
    subset_size: int


def polynomial_kernel(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(x.y / d + 1)^3 between the rows of x (n, d) and y (m, d) -> (n, m)."""
    return (x @ y.t() / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Unbiased MMD^2 of two equally sized samples (the diagonals of K_xx and K_yy are left out)."""
    m = x.shape[0]
    k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    sum_xx = k_xx.sum() - k_xx.diagonal().sum()
    sum_yy = k_yy.sum() - k_yy.diagonal().sum()
    return (sum_xx + sum_yy) / (m * (m - 1)) - 2 * k_xy.sum() / (m * m)


def kernel_inception_distance(
    real: torch.Tensor,
    fake: torch.Tensor,
    subsets: int = 100,
    subset_size: int | None = None,
    seed: int = 0,
) -> KIDResult:
    """KID between features real (N, D) and fake (M, D).

    Each of `subsets` draws takes `subset_size` rows of each set without replacement (default: half of
    the smaller set, so that subsets differ and their spread means something; subsets as large as the
    whole set would all be the set itself, with a spread of ~1e-14); the result is the mean and
    standard deviation of the per-subset unbiased MMD^2. A subset larger than a set is refused.
    """
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ConfigError(
            f"KID needs two (N, D) feature sets of one D, got {tuple(real.shape)}, {tuple(fake.shape)}"
        )
    n = min(real.shape[0], fake.shape[0])
    if n < 2:
        raise ConfigError("KID needs at least 2 images in each set")
    if subset_size is not None and subset_size > n:
        raise ConfigError(
            f"the KID subset size {subset_size} is larger than the sample ({real.shape[0]} real, "
            f"{fake.shape[0]} generated images); use at most {n}, or leave it out for half ({max(2, n // 2)})"
        )
    if subset_size is not None and subset_size < 2:
        raise ConfigError(f"the KID subset size {subset_size} must be at least 2")
    m = subset_size if subset_size is not None else max(2, n // 2)
    g = torch.Generator().manual_seed(seed)
    x_all, y_all = real.double(), fake.double()
    values = []
    for _ in range(subsets):
        x = x_all[torch.randperm(x_all.shape[0], generator=g)[:m]]
        y = y_all[torch.randperm(y_all.shape[0], generator=g)[:m]]
        values.append(mmd2_unbiased(x, y))
    stacked = torch.stack(values)
    std = float(stacked.std(unbiased=False)) if subsets > 1 else 0.0
    return KIDResult(float(stacked.mean()), std, subsets, m)
