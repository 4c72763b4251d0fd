"""The Fréchet distance between Gaussians fitted to two feature sets (Heusel et al. 2017, FID).

    d^2 = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2))

tr((S1 S2)^(1/2)) is computed as the sum of the square roots of the eigenvalues of the symmetric
positive semi-definite matrix S1^(1/2) S2 S1^(1/2), which has the same eigenvalues as S1 S2. Two
symmetric eigendecompositions in float64 are stable where a general matrix square root
(`scipy.linalg.sqrtm`) can return complex noise for near-singular covariances; the test checks
the two agree to 1e-6 relative.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ganforge.errors import ConfigError


@dataclass
class FeatureStats:
    """Mean (D,) and covariance (D, D) of n feature vectors, float64."""

    mu: torch.Tensor
    sigma: torch.Tensor
    n: int

    @classmethod
    def of(cls, features: torch.Tensor) -> FeatureStats:
        """Statistics of (N, D) features; the covariance is the unbiased one (divides by N - 1)."""
        if features.ndim != 2 or features.shape[0] < 2:
            raise ConfigError(
                f"Fréchet distance needs at least 2 feature vectors, got {tuple(features.shape)}"
            )
        x = features.double()
        mu = x.mean(0)
        centered = x - mu
        sigma = centered.t() @ centered / (x.shape[0] - 1)  # (D, D)
        return cls(mu, sigma, int(x.shape[0]))


def _sqrt_psd(m: torch.Tensor) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh((m + m.t()) / 2)
    return (vecs * vals.clamp(min=0).sqrt()) @ vecs.t()


def trace_sqrt_product(sigma1: torch.Tensor, sigma2: torch.Tensor) -> torch.Tensor:
    """tr((sigma1 sigma2)^(1/2)) for symmetric PSD matrices, in float64."""
    root1 = _sqrt_psd(sigma1.double())
    inner = root1 @ sigma2.double() @ root1
    vals = torch.linalg.eigvalsh((inner + inner.t()) / 2)
    return vals.clamp(min=0).sqrt().sum()


def frechet_distance(a: FeatureStats | torch.Tensor, b: FeatureStats | torch.Tensor) -> float:
    """Fréchet distance between two feature sets (N, D) or their `FeatureStats`.

    Called FID only on the standard Inception pool3 features; see `FeatureExtractor.fd_name`.
    """
    a = a if isinstance(a, FeatureStats) else FeatureStats.of(a)
    b = b if isinstance(b, FeatureStats) else FeatureStats.of(b)
    if a.mu.shape != b.mu.shape:
        raise ConfigError(f"feature sizes differ ({a.mu.shape[0]} vs {b.mu.shape[0]}); use one extractor")
    diff = a.mu.double() - b.mu.double()
    covmean = trace_sqrt_product(a.sigma, b.sigma)
    d2 = diff.dot(diff) + a.sigma.double().trace() + b.sigma.double().trace() - 2 * covmean
    return float(d2.clamp(min=0))
