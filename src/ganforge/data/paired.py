"""Paired image sets for image-to-image translation (pix2pix, Isola et al. 2017).

Two layouts of a folder of pairs:

- `side-by-side`: every file holds A|B, the input on the left half and the target on the right
  (the format of the pix2pix datasets);
- `folders`: `A/` and `B/` hold files with matching names (`A/0001.png` pairs with `B/0001.jpg`).

Either may sit directly in the folder, or be split into `train/` and `val/` or `test/` subfolders;
then `train/` is trained on and the other is the held-out set. The standard pix2pix sets
(facades, cityscapes, maps, edges2shoes, night2day, edges2handbags) are fetched by name into
`cache_dir()/pix2pix/` when online, checksum-pinned, and unpacked there.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from ganforge import console
from ganforge.data.dataset import ImageData
from ganforge.data.download import cache_dir, download
from ganforge.data.folder import PROGRESS_MIN_FILES, _progress_bar, find_images, missing_folder
from ganforge.data.images import BadImage, Fit, fit_and_resize, open_image
from ganforge.data.transforms import subset_order, to_channels
from ganforge.errors import DataError

Layout = Literal["side-by-side", "folders"]
LAYOUTS: tuple[str, ...] = ("side-by-side", "folders")
MIN_SIDE_BY_SIDE_RATIO = 1.8  # an A|B file is about twice as wide as high; photos (4:3, 3:2, 16:9) are not

MIRRORS = (
    "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/",
    "https://people.eecs.berkeley.edu/~tinghuiz/projects/pix2pix/datasets/",
)


@dataclass(frozen=True)
class PairedSet:
    """A standard pix2pix dataset: `<name>.tar.gz` on the pix2pix mirrors, side-by-side A|B files."""

    name: str
    description: str  # what A and B are, and the usual direction
    sha256: str | None  # of the .tar.gz; None: not pinned yet, so it is never downloaded unchecked

    @property
    def urls(self) -> list[str]:
        return [mirror + f"{self.name}.tar.gz" for mirror in MIRRORS]


# The checksums could not be taken on the offline machine this was written on; a maintainer with
# internet pins each one (sha256sum <name>.tar.gz). Until then the error says how to fetch by hand.
PAIRED_SETS: dict[str, PairedSet] = {
    s.name: s
    for s in (
        PairedSet(
            "facades", "400 building photos | facade labels (CMP Facades); labels to photo: BtoA", None
        ),
        PairedSet("cityscapes", "2,975 street photos | semantic labels; labels to photo: BtoA", None),
        PairedSet("maps", "1,096 aerial photos | Google maps; photo to map: AtoB", None),
        PairedSet("edges2shoes", "50,025 shoe edge maps | photos (UT Zappos50K); AtoB", None),
        PairedSet("edges2handbags", "138,567 handbag edge maps | photos; AtoB", None),
        PairedSet("night2day", "20,110 night | day webcam photos; AtoB", None),
    )
}


def paired_set_folder(name: str) -> Path:
    """Where the standard set `name` is unpacked: `cache_dir()/pix2pix/<name>/`."""
    return cache_dir() / "pix2pix" / name


def fetch_paired_set(name: str, progress: bool | None = None) -> Path:
    """The unpacked folder of a standard pix2pix set, downloading and unpacking it on first use."""
    spec = PAIRED_SETS[name]
    folder = paired_set_folder(name)
    if folder.is_dir() and any(folder.iterdir()):
        return folder
    archive = folder.with_name(f"{name}.tar.gz")
    if not archive.is_file():
        if spec.sha256 is None:
            raise DataError(
                f"the checksum of {name}.tar.gz is not pinned in this ganforge version, so it is not "
                f"downloaded automatically; fetch {spec.urls[0]} yourself and put it at {archive} "
                f"(or unpack it so that {folder}/train exists)"
            )
        download(spec.urls, archive, spec.sha256, progress=progress)
    unpack(archive, folder)
    return folder


def unpack(archive: Path, folder: Path) -> Path:
    """Unpack a .tar.gz into `folder` safely (no paths outside it, no links out, no devices).

    The archive's single top-level folder (pix2pix archives hold `<name>/train/...`) is unwrapped.
    Unpacks into a temporary folder first and renames it into place, so `folder` is whole or absent.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        try:
            with tarfile.open(archive, "r:*") as tar:
                tar.extractall(staging, filter="data")  # refuses absolute paths, "..", links out
        except (tarfile.TarError, OSError, EOFError) as err:
            raise DataError(f"cannot unpack {archive} ({err}); delete it to fetch it again") from None
        entries = [p for p in staging.iterdir() if not p.name.startswith(".")]
        root = entries[0] if len(entries) == 1 and entries[0].is_dir() else staging
        if folder.exists():
            shutil.rmtree(folder)
        root.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def resolve_paired_source(source: str) -> Path:
    """A folder of pairs: an existing path, else a standard set by name (fetched when needed)."""
    path = Path(source).expanduser()
    if path.exists():
        if not path.is_dir():
            raise DataError(f"paired data {source} is a file; pass the folder that holds the pairs")
        return path
    if source in PAIRED_SETS:
        return fetch_paired_set(source)
    if "/" in source or "\\" in source or source.startswith((".", "~")):
        raise missing_folder(source)
    raise DataError(
        f"paired data {source!r} is neither a folder nor a standard pix2pix set "
        f"({', '.join(PAIRED_SETS)}); pass a folder of pairs"
    )


def paired_splits(root: Path) -> tuple[Path, Path | None]:
    """(training folder, held-out folder or None): `train/` and `test/` (else `val/`) when present."""
    if (root / "train").is_dir():
        for name in ("test", "val"):
            if (root / name).is_dir():
                return root / "train", root / name
        return root / "train", None
    return root, None


def load_paired(
    folder: str | Path,
    layout: Layout,
    size: int,
    channels: int | None = None,
    fit: Fit = "crop",
    direction: Literal["AtoB", "BtoA"] = "AtoB",
    limit: int | None = None,
    progress: bool | None = None,
) -> ImageData:
    """Load the pairs in `folder` as `ImageData(images=inputs, targets=targets)`, both `size` squares.

    `direction="BtoA"` swaps the roles. `channels` applies to both sides; None gives 3 when either
    side has color, else 1. `limit` keeps a fixed pseudo-random choice of that many pairs (seed 0).
    Unreadable files are skipped with one warning each; a file that is not A|B, or names that do not
    match across A/ and B/, are errors.
    """
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise missing_folder(folder)
    if layout == "side-by-side":
        files = find_images(root)
        if not files:
            raise DataError(f"paired data folder {folder} holds no images; add A|B image files")
        items: list[tuple[Path, ...]] = [(f,) for f in files]
    elif layout == "folders":
        items = match_folders(root)
    else:
        raise DataError(f"unknown pairs layout {layout!r}; use side-by-side or folders")
    if limit is not None and limit < len(items):
        keep = subset_order(len(items))[:limit].sort().values.tolist()
        items = [items[k] for k in keep]
    if progress is None:
        progress = console.progress_enabled() and len(items) > PROGRESS_MIN_FILES
    pairs: list[tuple[np.ndarray, np.ndarray]] = []
    with _progress_bar(bool(progress), len(items)) as advance:
        for item in items:
            try:
                pairs.append(_read_pair(item, size, fit))
            except BadImage as err:
                console.warn(f"skipping {item[0]}: {err}")
            advance()
    if not pairs:
        raise DataError(
            f"none of the {len(items)} pairs in {folder} could be decoded (see the warnings above)"
        )
    a, b = _stack([p[0] for p in pairs]), _stack([p[1] for p in pairs])
    if channels is None:
        channels = 3 if 3 in (a.shape[1], b.shape[1]) else 1
    a, b = to_channels(a, channels), to_channels(b, channels)
    if direction == "BtoA":
        a, b = b, a
    elif direction != "AtoB":
        raise DataError(f"unknown direction {direction!r}; use AtoB or BtoA")
    return ImageData(a, None, None, str(folder), targets=b)


def match_folders(root: Path) -> list[tuple[Path, Path]]:
    """(A file, B file) pairs from `root/A` and `root/B`, matched by path without the extension."""
    sides = {}
    for side in ("A", "B"):
        if not (root / side).is_dir():
            raise DataError(
                f"pairs layout 'folders' needs subfolders A/ and B/ in {root}; {side}/ is missing "
                "(or use --pairs side-by-side for A|B files)"
            )
        files = find_images(root / side)
        if not files:
            raise DataError(f"{root / side} holds no images")
        by_name: dict[str, Path] = {}
        for f in files:
            key = f.relative_to(root / side).with_suffix("").as_posix()
            if key in by_name:
                raise DataError(
                    f"{root / side} holds two files named {key} ({by_name[key].name} and {f.name}); "
                    "keep one so that each pair is unambiguous"
                )
            by_name[key] = f
        sides[side] = by_name
    only_a = sorted(set(sides["A"]) - set(sides["B"]))
    only_b = sorted(set(sides["B"]) - set(sides["A"]))
    if only_a or only_b:
        problems = []
        if only_a:
            problems.append(f"{len(only_a)} in A/ without a match in B/ ({_names(only_a)})")
        if only_b:
            problems.append(f"{len(only_b)} in B/ without a match in A/ ({_names(only_b)})")
        raise DataError(
            f"file names in {root}/A and {root}/B do not match: {'; '.join(problems)}; "
            "rename or remove them so every A file has a B file of the same name"
        )
    return [(sides["A"][k], sides["B"][k]) for k in sorted(sides["A"])]


def _names(keys: Sequence[str], show: int = 3) -> str:
    more = f" and {len(keys) - show} more" if len(keys) > show else ""
    return ", ".join(keys[:show]) + more


def _read_pair(item: tuple[Path, ...], size: int, fit: Fit) -> tuple[np.ndarray, np.ndarray]:
    if len(item) == 2:
        return (
            fit_and_resize(open_image(item[0], 2 * size), size, fit),
            fit_and_resize(open_image(item[1], 2 * size), size, fit),
        )
    image = open_image(item[0])
    width, height = image.size
    if width < MIN_SIDE_BY_SIDE_RATIO * height:
        raise DataError(
            f"{item[0]} is {width}x{height}, not an A|B pair side by side (about twice as wide as high); "
            "use --pairs folders for A/ and B/ subfolders, or a derived task (e.g. --preset "
            "pix2pix-colorize) for single images"
        )
    half = width // 2
    left, right = image.crop((0, 0, half, height)), image.crop((half, 0, 2 * half, height))
    return fit_and_resize(left, size, fit), fit_and_resize(right, size, fit)


def _stack(arrays: list[np.ndarray]) -> torch.Tensor:
    """uint8 (H, W) or (H, W, 3) arrays -> (N, C, H, W), C = 3 when any of them has color."""
    channels = 3 if any(a.ndim == 3 for a in arrays) else 1
    out = torch.empty((len(arrays), channels, *arrays[0].shape[:2]), dtype=torch.uint8)
    for i, a in enumerate(arrays):
        image = torch.from_numpy(a[None, None] if a.ndim == 2 else a.transpose(2, 0, 1)[None])
        out[i] = to_channels(image, channels)[0]
    return out
