"""Data for semi-supervised learning: a held-out test split, the training images, and the few of them
that keep their labels.

- The test split is never trained on, labeled or not. Built-ins with a fixed one use it whole: the
  official 10,000 of fashion-mnist, mnist and cifar10, and for mnist-5k the 1,000 digits that
  `ganforge eval --split test` also holds out (`ganforge.metrics.reference.split_index`, the one
  definition). Any other labelled source holds out a stratified part (`test_size`, a count or a
  fraction) chosen by the fixed `HOLDOUT_SEED`, so runs with different seeds score the same images.
- The labeled subset is class-balanced (as equal as the count allows) and chosen by the run's seed:
  the same seed gives the same images. `amount` is a count (100) or a fraction (0.01) of the training
  images. Or a list file names the labeled images of a folder source, one path per line.
- `data.limit` picks the images first, as everywhere in ganforge, and the test split is held out of
  them; only a fixed test split stays whole, with `limit` picking among the training images.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ganforge.data.dataset import ImageData
from ganforge.data.folder import load_folder
from ganforge.data.images import BadImage, read_image
from ganforge.data.transforms import fit_square, limit_index, resize, to_channels
from ganforge.errors import ConfigError, DataError

if TYPE_CHECKING:
    from ganforge.config import DataConfig

HOLDOUT_SEED = 0  # the held-out split does not move with train.seed
# Built-ins loaded as train + test whose last N images are the official test set, beyond the ones
# `ganforge.metrics.reference.split_index` knows.
LAST_N_TEST = {"cifar10": 10_000}


@dataclass
class SemiSupervisedData:
    train: ImageData  # every training image; the recipe reads their pixels, never their labels
    labeled: ImageData  # the images whose labels training may use
    test: ImageData | None  # held out; None when test_size is 0 and the source has no test split
    labeled_index: torch.Tensor | None  # rows of `train` that are labeled (None when from a list file)


def labeled_count(amount: int | float, available: int, num_classes: int) -> int:
    """How many labeled images `amount` asks for: a count (int) or a fraction in (0, 1] (float)."""
    if isinstance(amount, bool) or not isinstance(amount, int | float):
        raise ConfigError(f"model.labels={amount!r} must be a count such as 100 or a fraction such as 0.01")
    if isinstance(amount, float):
        if not 0.0 < amount <= 1.0:
            raise ConfigError(
                f"model.labels={amount} as a fraction must lie in (0, 1]; e.g. 0.01 for 1% of the images"
            )
        count = round(amount * available)
    else:
        count = amount
    if count < num_classes:
        raise ConfigError(
            f"model.labels={amount} gives {count} labeled images, fewer than one per class "
            f"({num_classes} classes); ask for at least {num_classes}, e.g. --labels {10 * num_classes}"
        )
    if count > available:
        raise ConfigError(
            f"model.labels={amount} asks for {count} labeled images but there are {available} "
            f"training images; ask for at most {available}"
        )
    return count


def balanced_subset(labels: torch.Tensor, num_classes: int, amount: int | float, seed: int) -> torch.Tensor:
    """Sorted indices of a class-balanced labeled subset of `labels` (N,), chosen by `seed`.

    Every class gets count // K images; the count % K left over go to classes picked by the seed. A
    class with too few images is an error that says how many it has.
    """
    count = labeled_count(amount, len(labels), num_classes)
    g = torch.Generator().manual_seed(seed)
    per_class = torch.full((num_classes,), count // num_classes, dtype=torch.int64)
    per_class[torch.randperm(num_classes, generator=g)[: count % num_classes]] += 1
    chosen = []
    for k in range(num_classes):
        members = torch.nonzero(labels == k).flatten()
        want = int(per_class[k])
        if len(members) < want:
            raise ConfigError(
                f"class {k} has {len(members)} training images, fewer than the {want} labeled ones that "
                f"model.labels={amount} asks for per class; lower --labels or use --labeled-list"
            )
        chosen.append(members[torch.randperm(len(members), generator=g)[:want]])
    return torch.cat(chosen).sort().values


def stratified_holdout(
    labels: torch.Tensor, num_classes: int, amount: int | float, seed: int
) -> torch.Tensor:
    """Sorted indices of a held-out part, each class in proportion to its size (largest remainder)."""
    n = len(labels)
    if isinstance(amount, bool) or amount < 0 or (isinstance(amount, float) and amount >= 1.0):
        raise ConfigError(f"model.test_size={amount} must be a count >= 0 or a fraction in [0, 1)")
    total = round(amount * n) if isinstance(amount, float) else int(amount)
    if total >= n:
        raise ConfigError(f"model.test_size={amount} holds out all {n} images; leave some to train on")
    sizes = torch.bincount(labels, minlength=num_classes).double()
    exact = sizes * total / n
    per_class = exact.floor().long()
    leftover = total - int(per_class.sum())
    per_class[torch.argsort(exact - per_class, descending=True, stable=True)[:leftover]] += 1
    g = torch.Generator().manual_seed(seed)
    chosen = []
    for k in range(num_classes):
        members = torch.nonzero(labels == k).flatten()
        chosen.append(members[torch.randperm(len(members), generator=g)[: int(per_class[k])]])
    return torch.cat(chosen).sort().values


def read_labeled_list(list_file: str | Path, root: str | Path) -> list[Path]:
    """The image files a list file names, one per line: absolute, or relative to the data folder `root`.
    Blank lines and lines starting with # are skipped; repeats count once."""
    path = Path(list_file).expanduser()
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(
            f"cannot read the labeled list {path} ({err}); pass a text file, one image per line"
        ) from None
    root = Path(root).expanduser()
    files: list[Path] = []
    for number, line in enumerate(lines, start=1):
        name = line.strip()
        if not name or name.startswith("#"):
            continue
        file = Path(name).expanduser()
        file = file if file.is_absolute() else root / file
        if not file.is_file():
            raise DataError(
                f"{path} line {number}: {name} is not a file under {root}; fix or remove the line"
            )
        if file not in files:
            files.append(file)
    if not files:
        raise DataError(f"the labeled list {path} names no images; write one image path per line")
    return files


def load_listed(
    files: list[Path], root: str | Path, class_names: list[str], size: int, channels: int, fit: str
) -> ImageData:
    """Decode the listed files of a class-subfolder source; each file's class is its first folder."""
    root = Path(root).expanduser().resolve()
    images, labels = [], []
    for file in files:
        try:
            relative = file.resolve().relative_to(root)
        except ValueError:
            raise DataError(f"labeled image {file} is outside the data folder {root}") from None
        if len(relative.parts) < 2 or relative.parts[0] not in class_names:
            raise DataError(
                f"labeled image {file} is not in a class subfolder of {root} ({', '.join(class_names)})"
            )
        try:
            array = read_image(file, size, fit)  # type: ignore[arg-type]
        except BadImage as err:
            raise DataError(f"labeled image {file} cannot be used: {err}") from None
        image = torch.from_numpy(array[None, None] if array.ndim == 2 else array.transpose(2, 0, 1)[None])
        images.append(to_channels(image, channels))
        labels.append(class_names.index(relative.parts[0]))
    label_tensor = torch.tensor(labels, dtype=torch.int64)
    missing = [name for k, name in enumerate(class_names) if not (label_tensor == k).any()]
    if missing:
        raise DataError(f"the labeled list has no image of class {missing[0]!r}; add at least one per class")
    return ImageData(torch.cat(images), label_tensor, list(class_names), str(root))


def fixed_test_index(source: str, n: int) -> torch.Tensor | None:
    """The fixed test split of built-in `source` (n images as loaded), or None when it has none."""
    from ganforge.data.splits import split_index

    try:
        index = split_index(source, "test", n)
    except ConfigError:  # a source without a fixed split
        index = None
    if index is None and source in LAST_N_TEST:
        index = torch.arange(n - LAST_N_TEST[source], n)
    return index


def _fingerprints(images: torch.Tensor) -> list[bytes]:
    return [hashlib.blake2b(image.numpy().tobytes(), digest_size=16).digest() for image in images]


def _complement(n: int, index: torch.Tensor) -> torch.Tensor:
    keep = torch.ones(n, dtype=torch.bool)
    keep[index] = False
    return torch.nonzero(keep).flatten()


def _sized(data: ImageData, cfg: DataConfig) -> ImageData:
    """A built-in at its native size -> cfg.size squares with cfg.channels."""
    images = to_channels(resize(fit_square(data.images, cfg.fit), cfg.size), cfg.channels)
    return ImageData(images, data.labels, data.class_names, data.source)


def load_semi_supervised(
    cfg: DataConfig,
    amount: int | float,
    labeled_list: str | None,
    test_size: int | float,
    seed: int,
) -> SemiSupervisedData:
    """Load `cfg.source` and split it into training images, their labeled subset and a test split."""
    from ganforge.data import load_source
    from ganforge.registry import DATASETS

    cfg.validate()
    if not cfg.labels:
        raise ConfigError("semi-supervised training needs the class labels; set data.labels=true")
    builtin = cfg.source in DATASETS
    if builtin and labeled_list:
        raise ConfigError(
            f"--labeled-list names image files, and {cfg.source} is a built-in dataset; "
            "use --labels N for built-ins, or a folder with class subfolders"
        )
    fixed = None
    if builtin:
        full = load_source(cfg.source, None, None, cfg.fit, True, None)  # native size: resize the parts only
        fixed = fixed_test_index(cfg.source, len(full))
        picked = limit_index(len(full), cfg.limit) if fixed is None else None  # as load_source would
        full = full if picked is None else full.subset(picked)
    else:
        full = load_folder(cfg.source, cfg.size, cfg.channels, cfg.fit, True, cfg.limit)
    if full.labels is None or full.num_classes < 2:
        raise DataError(
            f"{cfg.source} has no class labels; semi-supervised training needs a labelled built-in "
            "(mnist-5k, fashion-mnist, digits) or a folder with one subfolder per class"
        )
    listed = None
    if labeled_list:
        files = read_labeled_list(labeled_list, cfg.source)
        listed = load_listed(files, cfg.source, full.class_names, cfg.size, full.channels, cfg.fit)
    n = len(full)
    if fixed is not None:
        test_index = fixed
    else:
        # Images the list labels are never held out: compare pixels, since files and rows do not map 1:1.
        candidates = torch.arange(n)
        if listed is not None:
            taken = set(_fingerprints(listed.images))
            candidates = torch.tensor([i for i, f in enumerate(_fingerprints(full.images)) if f not in taken])
        test_index = candidates[
            stratified_holdout(full.labels[candidates], full.num_classes, test_size, HOLDOUT_SEED)
        ]
    train_index = _complement(n, test_index)
    if fixed is not None and cfg.limit:
        picked = limit_index(len(train_index), cfg.limit)
        train_index = train_index if picked is None else train_index[picked]
    train = full.subset(train_index)
    test = full.subset(test_index) if len(test_index) else None
    if builtin:
        train = _sized(train, cfg)
        test = _sized(test, cfg) if test is not None else None
    if listed is not None:
        return SemiSupervisedData(train, listed, test, None)
    index = balanced_subset(train.labels, train.num_classes, amount, seed)
    return SemiSupervisedData(train, train.subset(index), test, index)


def repeat_to(data: ImageData, minimum: int) -> ImageData:
    """`data` repeated whole until it holds at least `minimum` images (a batch needs that many)."""
    times = -(-minimum // len(data))
    return data if times <= 1 else data.subset(torch.arange(len(data)).repeat(times))
