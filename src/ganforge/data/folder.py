"""Load a folder of image files, searched recursively, into an `ImageData`; class labels from subfolders."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from ganforge import console
from ganforge.data.dataset import ImageData
from ganforge.data.images import IMAGE_EXTENSIONS, BadImage, Fit, read_image
from ganforge.data.transforms import subset_order, to_channels
from ganforge.errors import DataError

PROGRESS_MIN_FILES = 200  # smaller folders decode in a blink; a bar would only flicker


def find_images(root: str | Path) -> list[Path]:
    """Every file under `root` with an image extension (any case), sorted by relative path.

    Hidden files and folders (names starting with ".") are skipped: they hold editor and OS
    debris such as macOS "._photo.jpg" resource forks, which are not images.
    """
    root = Path(root)
    found: list[tuple[str, Path]] = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        for name in names:
            if not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS):
                path = Path(folder) / name
                found.append((path.relative_to(root).as_posix(), path))
    return [path for _, path in sorted(found)]


def class_labels(root: str | Path, files: Sequence[Path]) -> tuple[list[int], list[str]] | None:
    """Labels from first-level subfolders (`root/cat/x.png` -> "cat"), or None.

    Only when every file lies inside a first-level subfolder and there are at least two of them;
    a folder with loose files, or a single class, is treated as unlabeled.
    """
    parts = [path.relative_to(root).parts for path in files]
    if not parts or any(len(p) < 2 for p in parts):
        return None
    class_names = sorted({p[0] for p in parts})
    if len(class_names) < 2:
        return None
    index = {name: k for k, name in enumerate(class_names)}
    return [index[p[0]] for p in parts], class_names


def missing_folder(path: str | Path) -> DataError:
    return DataError(
        f"data folder {path} does not exist; check the path, or use a built-in (ganforge data list)"
    )


def load_folder(
    path: str | Path,
    size: int,
    channels: int | None = None,
    fit: Fit = "crop",
    labels: bool = True,
    limit: int | None = None,
    progress: bool | None = None,
) -> ImageData:
    """Decode every image under `path` to (size, size); bad files are skipped with one warning each.

    channels: 1 or 3, or None for 1 when every image is grayscale and 3 otherwise.
    limit: decode only this many images, a fixed pseudo-random choice (seed 0) kept in sorted order;
        bad files among them are replaced by the next ones in that order.
    progress: show a progress bar; None shows one when a person watches and there are many files.
    """
    root = Path(path).expanduser()
    if not root.exists():
        raise missing_folder(path)
    if not root.is_dir():
        raise DataError(f"data source {path} is a file, not a folder; pass the folder that holds the images")
    files = find_images(root)
    if not files:
        looked_for = " ".join(IMAGE_EXTENSIONS)
        raise DataError(
            f"data folder {path} holds no images (looked for {looked_for}, in subfolders too); "
            "add images or point data.source at another folder"
        )
    if progress is None:
        progress = console.progress_enabled() and min(len(files), limit or len(files)) > PROGRESS_MIN_FILES
    decoded = _decode(files, size, fit, limit, progress)
    if not decoded:
        raise DataError(
            f"none of the {len(files)} image files in data folder {path} could be decoded (see the warnings "
            "above); replace them or point data.source at another folder"
        )
    if channels is None:
        channels = 1 if all(array.ndim == 2 for _, array in decoded) else 3
    images = torch.empty((len(decoded), channels, size, size), dtype=torch.uint8)
    for row, (_, array) in enumerate(decoded):
        image = torch.from_numpy(array[None, None] if array.ndim == 2 else array.transpose(2, 0, 1)[None])
        images[row] = to_channels(image, channels)[0]
    found = class_labels(root, files) if labels else None
    if found is None:
        return ImageData(images, None, None, str(path))
    file_labels, class_names = found
    label_tensor = torch.tensor([file_labels[index] for index, _ in decoded], dtype=torch.int64)
    return ImageData(images, label_tensor, class_names, str(path))


def _decode(
    files: Sequence[Path], size: int, fit: Fit, limit: int | None, progress: bool
) -> list[tuple[int, np.ndarray]]:
    """(file index, array) for the good files, in file order; warns once per bad file.

    Sequential on purpose: the decompression-bomb guard uses `warnings.catch_warnings`, which is
    not thread-safe, and on the 2-core machine this was written on threads gave no measurable gain.
    """
    limited = limit is not None and limit < len(files)
    order = subset_order(len(files)).tolist() if limited else range(len(files))
    wanted = min(limit, len(files)) if limited else len(files)
    decoded: list[tuple[int, np.ndarray]] = []
    with _progress_bar(progress, wanted) as advance:
        for index in order:
            try:
                decoded.append((index, read_image(files[index], size, fit)))
            except BadImage as err:
                console.warn(f"skipping {files[index]}: {err}")
                continue
            advance()
            if len(decoded) == wanted:
                break
    decoded.sort(key=lambda item: item[0])
    return decoded


@contextmanager
def _progress_bar(enabled: bool, total: int) -> Iterator[Callable[[], None]]:
    if not enabled:
        yield lambda: None
        return
    from rich.progress import Progress

    with Progress(console=console.console, transient=True) as bar:
        task = bar.add_task("decoding images", total=total)
        yield lambda: bar.advance(task)
