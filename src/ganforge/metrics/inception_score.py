"""Inception Score (Salimans et al. 2016): exp(E_x KL(p(y|x) || p(y))), over splits of the samples.

High when each image is confidently one class and the classes are varied. Called IS only with the
standard Inception weights and its 1008 logits; on another classifier it is a domain score.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ganforge.errors import ConfigError


@dataclass
class InceptionScore:
    mean: float
    std: float
    splits: int


def inception_score(logits: torch.Tensor, splits: int = 10) -> InceptionScore:
    """IS from classifier logits (N, K): the mean and standard deviation over `splits` equal parts
    (in order, as the reference code does; any remainder is dropped)."""
    n = logits.shape[0]
    if logits.ndim != 2 or n < splits:
        raise ConfigError(f"the Inception Score needs at least {splits} images (one per split), got {n}")
    log_p = torch.log_softmax(logits.double(), dim=1)
    part = n // splits
    scores = []
    for i in range(splits):
        lp = log_p[i * part : (i + 1) * part]  # (part, K)
        log_py = torch.logsumexp(lp, dim=0) - torch.log(torch.tensor(float(part), dtype=torch.float64))
        kl = (lp.exp() * (lp - log_py)).sum(1).mean()
        scores.append(kl.exp())
    stacked = torch.stack(scores)
    return InceptionScore(float(stacked.mean()), float(stacked.std(unbiased=False)), splits)
