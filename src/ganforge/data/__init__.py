"""Image sources: built-in datasets and folders of images, decoded once into uint8 tensors in memory.

`load_images(cfg.data)` is what training calls; `list_datasets()` and `preview()` back the
`ganforge data list` and `ganforge data show` commands.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple

from ganforge.data import builtin as _builtin  # noqa: F401 - registers the built-in datasets
from ganforge.data.dataset import ImageData
from ganforge.data.download import cache_dir, download
from ganforge.data.folder import load_folder, missing_folder
from ganforge.data.splits import split_index
from ganforge.data.transforms import fit_square, limit_index, resize, to_channels
from ganforge.errors import DataError
from ganforge.imaging import save_image
from ganforge.registry import DATASETS

if TYPE_CHECKING:
    from ganforge.config import DataConfig

__all__ = [
    "DatasetInfo",
    "ImageData",
    "cache_dir",
    "download",
    "list_datasets",
    "load_folder",
    "load_images",
    "load_source",
    "preview",
]

FOLDER_DEFAULT_SIZE = 64  # folder images have no native size; `size=None` loads them at this size


def load_images(cfg: DataConfig, progress: bool | None = None) -> ImageData:
    """Load `cfg.source` (a built-in name or a folder) as `cfg.size` squares with `cfg.channels`.

    A built-in name wins over a folder of the same name; write `./digits` for the folder.
    `cfg.limit` keeps a fixed pseudo-random choice of that many images (seed 0), in dataset order,
    so that a limited set still holds every class. `cfg.labels=False` drops the labels.
    `cfg.split` keeps one part of a built-in with a fixed held-out split (before `limit` picks).
    """
    cfg.validate()
    return load_source(
        cfg.source, cfg.size, cfg.channels, cfg.fit, cfg.labels, cfg.limit, progress, split=cfg.split
    )


def load_source(
    source: str,
    size: int | None = None,
    channels: int | None = None,
    fit: Literal["crop", "pad"] = "crop",
    labels: bool = True,
    limit: int | None = None,
    progress: bool | None = None,
    split: str = "all",
) -> ImageData:
    """`load_images` without a config; `size=None` keeps a built-in's native size (folders: 64)."""
    if source in DATASETS:
        data = DATASETS.get(source).load()
        part = split_index(source, split, len(data))
        if part is not None:
            data = data.subset(part)
        index = limit_index(len(data), limit)
        if index is not None:
            data = data.subset(index)
        images = data.images if size is None else resize(fit_square(data.images, fit), size)
        data = ImageData(to_channels(images, channels), data.labels, data.class_names, data.source)
    elif Path(source).expanduser().exists():
        split_index(source, split, 0)  # a folder has only `all`: anything else is a clear error
        data = load_folder(source, size or FOLDER_DEFAULT_SIZE, channels, fit, labels, limit, progress)
    elif "/" in source or "\\" in source or source.startswith((".", "~")):
        raise missing_folder(source)
    else:
        close = difflib.get_close_matches(source, DATASETS.names(), n=2)
        guess = f" (did you mean {' or '.join(close)}?)" if close else ""
        raise DataError(
            f"unknown dataset {source!r}{guess}; built-ins: {', '.join(DATASETS.names())}; "
            "or pass a folder of images, e.g. ./photos"
        )
    return data if labels else data.without_labels()


class DatasetInfo(NamedTuple):
    """One row of `ganforge data list`."""

    name: str
    description: str
    origin: str
    available: bool
    hint: str  # where it was found when available, else how to get it


def list_datasets() -> list[DatasetInfo]:
    """Every registered built-in dataset, sorted by name, with whether it can be loaded here."""
    rows = []
    for entry in DATASETS:
        source = entry.obj
        available, hint = source.available()
        rows.append(DatasetInfo(entry.name, source.description, source.origin, available, hint))
    return rows


def preview(name_or_path: str, out: str | Path, n: int = 64, size: int | None = None) -> Path:
    """Write a grid PNG of `n` images of a dataset or folder to `out`; `size` resizes them first.

    The images are the same fixed pseudo-random choice as `limit=n`, so every class shows up.
    """
    data = load_source(name_or_path, size=size, limit=n, labels=False)
    return save_image(data.images, out)
