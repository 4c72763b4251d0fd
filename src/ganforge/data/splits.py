"""Held-out splits: which images of a data set are kept out of training, fixed and reproducible.

`mnist` and `fashion-mnist` use their official train (first 60,000) and test (last 10,000) parts;
`mnist-5k` has no official split, so a fixed permutation (seed 0) gives 4,000 `train` and 1,000
`test` digits. Every dataset and folder also has `all`.
"""

from __future__ import annotations

import torch

from ganforge.errors import ConfigError

MNIST5K_TEST = 1000  # digits of mnist-5k held out as its `test` split
WITH_TEST_SPLIT = ("mnist", "fashion-mnist", "mnist-5k")  # the built-ins that have train and test


def holdout_indices(total: int, held: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, held-out) sorted indices of `total` items: the first `held` of a fixed permutation
    (`seed`) are held out. The one held-out choice of SR's `model.holdout`; FastGAN's
    `held_out_index` and pix2pix's `_split_off` make the same choice with their own seeds."""
    order = torch.randperm(total, generator=torch.Generator().manual_seed(seed))
    return order[held:].sort().values, order[:held].sort().values


def has_split(source: str, split: str) -> bool:
    """Whether `source` (a built-in name or a folder) has `split`; every source has `all`."""
    return split == "all" or (split in ("train", "test") and source in WITH_TEST_SPLIT)


def split_index(source: str, split: str, total: int) -> torch.Tensor | None:
    """The indices of `split` in a source of `total` images, or None for all of them."""
    if split == "all":
        return None
    if source in ("mnist", "fashion-mnist") and total == 70_000:
        if split in ("train", "test"):
            return torch.arange(60_000) if split == "train" else torch.arange(60_000, 70_000)
    elif source == "mnist-5k" and split in ("train", "test"):
        order = torch.randperm(total, generator=torch.Generator().manual_seed(0))
        part = order[:-MNIST5K_TEST] if split == "train" else order[-MNIST5K_TEST:]
        return part.sort().values
    valid = "all, train, test" if source in WITH_TEST_SPLIT else "all"
    raise ConfigError(
        f"split {split!r} is not a split of {source!r}; use one of: {valid} (--split, or data.split)"
    )
