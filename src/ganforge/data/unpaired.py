"""Two unpaired image domains, for CycleGAN (Zhu et al. 2017) and DTN (Taigman et al. 2016).

A domain is anything `load_source` reads: a built-in dataset name or a folder of images. The two
domains come from, in order:

1. `data_a` and `data_b` (`--data-a`, `--data-b`), each a built-in name or a folder;
2. `source` (`--data DIR`): a folder in the layout of the CycleGAN sets, `trainA/ trainB/`
   (and `testA/ testB/` for `split="test"`);
3. `source` naming one of the standard CycleGAN sets (`horse2zebra`, `monet2photo`, ...): found in
   `cache_dir()/cyclegan/<name>`, else downloaded there from the authors' server (checksum-pinned,
   extracted safely).

Both domains are loaded at the same size and channel count (RGB when either is RGB, unless
`channels` says otherwise), so one model shape serves both directions.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import torch

from ganforge import console
from ganforge.data.dataset import ImageData
from ganforge.data.download import cache_dir, download
from ganforge.data.transforms import to_channels
from ganforge.errors import DataError

if TYPE_CHECKING:
    from ganforge.config import DataConfig

DOMAINS = ("A", "B")
SHUFFLE_SEED = 0
SPLITS = ("train", "test")
MIRRORS = (
    "https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/",
    "https://people.eecs.berkeley.edu/~taesung_park/CycleGAN/datasets/",
)
# The unpaired sets of Zhu et al. 2017: name -> (sha256 of <name>.zip, size in bytes).
CYCLEGAN_SETS: dict[str, tuple[str, int]] = {
    "apple2orange": ("845a191e9af8926408ea597001cd03a452e3300a1f44a79fe329b3d59f6e3eb8", 78_456_409),
    "cezanne2photo": ("3a6c10ca21f9485862f1cbd707744b9dc258954a04631271d23a3605eeb63cff", 279_885_071),
    "horse2zebra": ("a74d9d392eecca9966b51287a76ca126af473d9de4f3e8fc0e9cda08fa1730a1", 116_867_962),
    "iphone2dslr_flower": ("8fcb5e374d631b107e1d961b8c4cd0a186aa2a4ff3e279923f4c426128de7113", 339_964_458),
    "monet2photo": ("88f91b00fc228f97c9411fbf1880ec1d119c98f1722e4cfcfaa2fb35fac05b04", 305_231_073),
    "summer2winter_yosemite": (
        "167fe1726807a9d22bd106b4a6c0bd7953b688af924ac1bf967439c4961e49f9",
        132_640_856,
    ),
    "ukiyoe2photo": ("02a2a2fb5ecf425ca1bf86aca7304377da64a2a1d3b86df54eb65e4068bf3b08", 292_946_532),
    "vangogh2photo": ("362c3473e70be0944bda08d49d660eafdc2854df55d697835b8186d1d79caaff", 306_590_349),
}


def has_domain_layout(folder: str | Path, split: str = "train") -> bool:
    """True when `folder` holds `<split>A/` and `<split>B/` subfolders."""
    folder = Path(folder).expanduser()
    return all((folder / f"{split}{d}").is_dir() for d in DOMAINS)


def cyclegan_set_dir(name: str, progress: bool | None = None) -> Path:
    """The folder of CycleGAN set `name` (with trainA/ trainB/ testA/ testB/), downloaded on first use."""
    if name not in CYCLEGAN_SETS:
        raise DataError(f"unknown CycleGAN set {name!r}; known: {', '.join(CYCLEGAN_SETS)}")
    folder = cache_dir() / "cyclegan" / name
    if has_domain_layout(folder):
        return folder
    sha256, size = CYCLEGAN_SETS[name]
    archive = cache_dir() / "cyclegan" / f"{name}.zip"
    if not archive.is_file():
        console.info(f"downloading the CycleGAN set {name} ({size / 1e6:.0f} MB) into {archive.parent}")
        download([mirror + f"{name}.zip" for mirror in MIRRORS], archive, sha256, progress=progress)
    extract_domains(archive, folder)
    archive.unlink(missing_ok=True)  # the extracted folder is what is used; the zip is 80-340 MB
    return folder


def extract_domains(archive: Path, folder: Path) -> Path:
    """Unzip a CycleGAN set into `folder` (atomically: a staging folder renamed at the end).

    Members whose path is absolute or climbs out with `..` are refused, so a crafted archive
    cannot write outside the cache. The set's top folder (`horse2zebra/trainA/...`) is dropped.
    """
    try:
        with zipfile.ZipFile(archive) as zf:
            members = [m for m in zf.infolist() if not m.is_dir()]
            for member in members:
                path = PurePosixPath(member.filename)
                if path.is_absolute() or ".." in path.parts:
                    raise DataError(f"{archive} holds an unsafe path {member.filename!r}; delete the file")
            folder.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
            try:
                zf.extractall(staging, members)
                root = next((p for p in (staging, *staging.iterdir()) if has_domain_layout(p)), None)
                if root is None:
                    raise DataError(
                        f"{archive} has no trainA/ and trainB/ folders; delete it to fetch it again"
                    )
                shutil.rmtree(folder, ignore_errors=True)
                root.rename(folder)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    except zipfile.BadZipFile:
        raise DataError(f"{archive} is not a valid zip file; delete it to fetch it again") from None
    return folder


def domain_sources(
    source: str | None, data_a: str | None, data_b: str | None, split: str = "train"
) -> tuple[str, str]:
    """The two domains' sources (built-in names or folders), resolved as the module doc says."""
    if split not in SPLITS:
        raise DataError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    if data_a or data_b:
        if not (data_a and data_b):
            given, missing = ("--data-a", "--data-b") if data_a else ("--data-b", "--data-a")
            raise DataError(f"{given} needs {missing} too: unpaired translation needs both domains")
        return data_a, data_b
    if source and has_domain_layout(source, split):
        root = Path(source).expanduser()
        return str(root / f"{split}A"), str(root / f"{split}B")
    if source in CYCLEGAN_SETS:
        root = cyclegan_set_dir(source)
        if not has_domain_layout(root, split):
            raise DataError(f"the CycleGAN set {source} in {root} has no {split}A/ and {split}B/ folders")
        return str(root / f"{split}A"), str(root / f"{split}B")
    layout = f"{split}A/ and {split}B/"
    if source and Path(source).expanduser().is_dir():
        raise DataError(
            f"data folder {source} has no {layout} subfolders; use that layout, or give the two domains "
            "with --data-a DIR --data-b DIR"
        )
    raise DataError(
        f"unpaired translation needs two domains: --data-a and --data-b (built-in names or folders), or "
        f"--data DIR holding {layout}, or --data NAME of a CycleGAN set ({', '.join(CYCLEGAN_SETS)}); "
        f"got --data {source!r}"
    )


def load_unpaired(
    data: DataConfig,
    data_a: str | None = None,
    data_b: str | None = None,
    split: str = "train",
    progress: bool | None = None,
) -> dict[str, ImageData]:
    """Both domains as `{"A": ..., "B": ...}`, at `data.size` with one channel count for both.

    `data.channels` forces the channels; when it is None both domains become RGB if either is.
    `data.limit` caps each domain; `data.labels=False` drops labels. Each domain comes in a fixed
    pseudo-random order (seed 0), so that its first images, which previews show, mix its classes.
    """
    from ganforge.data import load_source

    data.validate()
    sources = domain_sources(data.source, data_a, data_b, split)
    loaded = {
        name: load_source(src, data.size, data.channels, data.fit, data.labels, data.limit, progress)
        for name, src in zip(DOMAINS, sources, strict=True)
    }
    channels = max(d.channels for d in loaded.values())
    for name, d in loaded.items():
        if d.channels != channels:
            d = ImageData(to_channels(d.images, channels), d.labels, d.class_names, d.source)
        # A fixed shuffle: preview grids show a domain's first images, and a set sorted by class
        # (mnist-5k) would otherwise show only zeros. Training shuffles anyway.
        loaded[name] = d.subset(torch.randperm(len(d), generator=torch.Generator().manual_seed(SHUFFLE_SEED)))
    return loaded
