"""`load_images`: dispatch between built-ins and folders, resize, channels, limit, labels; `preview`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.config import DataConfig
from ganforge.data import ImageData, load_images, load_source, preview
from ganforge.data.transforms import fit_square, limit_index, resize, to_channels
from ganforge.errors import ConfigError, DataError


def test_builtin_is_resized_and_converted() -> None:
    data = load_images(DataConfig(source="digits", size=16, channels=3))
    assert data.images.shape == (1797, 3, 16, 16) and data.images.dtype == torch.uint8
    assert torch.equal(data.images[:, 0], data.images[:, 2])
    assert data.num_classes == 10 and data.labels.shape == (1797,)


def test_same_size_is_untouched() -> None:
    native = load_source("mnist-5k")
    same = load_images(DataConfig(source="mnist-5k", size=28))
    assert torch.equal(native.images, same.images)


def test_limit_is_a_fixed_subset_in_dataset_order() -> None:
    full = load_source("mnist-5k")
    data = load_images(DataConfig(source="mnist-5k", size=28, limit=50))
    index = limit_index(len(full), 50)
    assert len(data) == 50 and torch.equal(index, index.sort().values)
    assert torch.equal(data.images, full.images[index]) and torch.equal(data.labels, full.labels[index])
    # mnist_5k.csv is sorted by label; the first 50 rows would all be zeros.
    assert len(set(data.labels.tolist())) == 10
    again = load_images(DataConfig(source="mnist-5k", size=28, limit=50))
    assert torch.equal(again.labels, data.labels)


def test_split_holds_out_the_test_digits() -> None:
    from ganforge.data.splits import split_index

    full = load_source("mnist-5k")
    train = load_images(DataConfig(source="mnist-5k", size=28, split="train"))
    test = load_images(DataConfig(source="mnist-5k", size=28, split="test"))
    assert len(train) == 4000 and len(test) == 1000
    assert torch.equal(train.images, full.images[split_index("mnist-5k", "train", 5000)])
    # no training digit is a held-out one: compare whole images, not only indices
    held = {bytes(img.numpy()) for img in test.images}
    assert not any(bytes(img.numpy()) in held for img in train.images)
    # limit picks among the training digits only
    few = load_images(DataConfig(source="mnist-5k", size=28, split="train", limit=50))
    assert len(few) == 50 and not any(bytes(img.numpy()) in held for img in few.images)


def test_split_is_refused_where_there_is_none(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="data.split='val' is invalid; use all, train or test"):
        load_images(DataConfig(source="mnist-5k", split="val"))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="split 'train' is not a split of 'digits'; use one of: all"):
        load_images(DataConfig(source="digits", split="train"))
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    with pytest.raises(ConfigError, match="use one of: all"):
        load_images(DataConfig(source=str(tmp_path), split="test"))


def test_labels_can_be_dropped() -> None:
    data = load_images(DataConfig(source="mnist-5k", size=28, labels=False, limit=10))
    assert data.labels is None and data.class_names is None and data.num_classes == 0


def test_folder_source(tmp_path: Path) -> None:
    for name, color in (("cat", (250, 0, 0)), ("dog", (0, 0, 250))):
        (tmp_path / name).mkdir()
        Image.new("RGB", (30, 20), color).save(tmp_path / name / "a.png")
    data = load_images(DataConfig(source=str(tmp_path), size=8, fit="pad"))
    assert data.images.shape == (2, 3, 8, 8)
    assert data.class_names == ["cat", "dog"] and data.labels.tolist() == [0, 1]
    assert data.images[0, :, 0, 0].tolist() == [255, 255, 255]  # padding is white
    center = data.images[:, :, 4, 4].int()  # Lanczos rings a little near the white bars
    assert (center - torch.tensor([[250, 0, 0], [0, 0, 250]])).abs().max() <= 8
    gray = load_images(DataConfig(source=str(tmp_path), size=8, channels=1, labels=False))
    assert gray.images.shape == (2, 1, 8, 8) and gray.labels is None
    luma = gray.images[:, 0, 4, 4].int() - torch.tensor([75, 29])  # 0.299 * 250, 0.114 * 250
    assert luma.abs().max() <= 8


def test_missing_path_like_source() -> None:
    with pytest.raises(DataError, match=r"^data folder \./x does not exist"):
        load_images(DataConfig(source="./x"))
    with pytest.raises(DataError, match="data folder /no/such/dir does not exist"):
        load_images(DataConfig(source="/no/such/dir"))


def test_unknown_dataset_name() -> None:
    with pytest.raises(DataError) as err:
        load_images(DataConfig(source="mnits"))
    message = str(err.value)
    assert message.startswith("unknown dataset 'mnits' (did you mean mnist")
    assert "built-ins: cifar10, digits, emoji, fashion-mnist, lfw-mini, mnist, mnist-5k" in message
    assert "or pass a folder of images" in message


def test_invalid_config_is_refused() -> None:
    with pytest.raises(ConfigError, match="data.size=2 is out of range"):
        load_images(DataConfig(source="digits", size=2))


def test_cifar10_from_the_cache(
    isolated_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    import pickle
    import tarfile

    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path))
    archive = tmp_path / "cifar10" / "cifar-10-python.tar.gz"
    archive.parent.mkdir()
    rng = np.random.default_rng(0)
    with tarfile.open(archive, "w:gz") as tar:
        batches = [f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]
        members = {
            name: {"data": rng.integers(0, 256, (1, 3072), np.uint8), "labels": [k]}
            for k, name in enumerate(batches)
        }
        members["batches.meta"] = {"label_names": [f"class{k}" for k in range(10)]}
        for name, content in members.items():
            blob = pickle.dumps(content, protocol=4)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    data = load_images(DataConfig(source="cifar10", size=32))
    assert data.images.shape == (6, 3, 32, 32)
    assert data.labels.tolist() == [0, 1, 2, 3, 4, 5] and data.class_names[5] == "class5"


def test_preview_writes_a_grid(tmp_path: Path) -> None:
    out = preview("digits", tmp_path / "digits.png", n=16)
    grid = Image.open(out)
    assert grid.size == (4 * 10 + 2, 4 * 10 + 2) and grid.mode == "L"  # 4 x 4 tiles of 8 px, 2 px padding
    assert Image.open(preview("digits", tmp_path / "big.png", n=16, size=32)).size == (4 * 34 + 2, 4 * 34 + 2)
    (tmp_path / "photos").mkdir()
    for k in range(3):
        Image.new("RGB", (40, 30), (k * 100, 50, 50)).save(tmp_path / "photos" / f"{k}.png")
    grid = Image.open(preview(str(tmp_path / "photos"), tmp_path / "out" / "folder.png", n=4, size=16))
    assert grid.mode == "RGB" and grid.size == (38, 38)  # 3 images on a 2 x 2 grid: 2 * (16 + 2) + 2


def test_transforms() -> None:
    wide = torch.zeros((1, 1, 2, 4), dtype=torch.uint8)
    wide[..., 1:3] = 9
    assert fit_square(wide, "crop").tolist() == [[[[9, 9], [9, 9]]]]
    assert fit_square(wide, "pad")[0, 0].tolist() == [[255] * 4, [0, 9, 9, 0], [0, 9, 9, 0], [255] * 4]
    constant = torch.full((3, 3, 28, 28), 77, dtype=torch.uint8)
    assert torch.equal(resize(constant, 13), torch.full((3, 3, 13, 13), 77, dtype=torch.uint8))
    checker = (torch.arange(32).view(1, 32) + torch.arange(32).view(32, 1)) % 2 * 255
    small = resize(checker.to(torch.uint8).view(1, 1, 32, 32), 8)
    assert (small.int() - 128).abs().max() <= 1  # antialiased: a fine checkerboard becomes mid-gray
    rgb = torch.tensor([[255, 0, 0], [0, 255, 0], [0, 0, 255]], dtype=torch.uint8).view(3, 3, 1, 1)
    assert to_channels(rgb, 1).flatten().tolist() == [76, 150, 29]
    assert to_channels(rgb, 3) is rgb
    assert to_channels(to_channels(rgb, 1), 3).shape == (3, 3, 1, 1)


def test_image_data_checks_its_invariants() -> None:
    images = torch.zeros((2, 1, 4, 4), dtype=torch.uint8)
    with pytest.raises(ValueError, match="uint8"):
        ImageData(images.float(), None, None, "x")
    with pytest.raises(ValueError, match="both be set"):
        ImageData(images, torch.tensor([0, 1]), None, "x")
    with pytest.raises(ValueError, match="must lie in 0..1"):
        ImageData(images, torch.tensor([0, 2]), ["a", "b"], "x")
    data = ImageData(images, torch.tensor([1, 0]), ["a", "b"], "x")
    assert data.num_classes == 2 and len(data) == 2 and data.subset(torch.tensor([1])).labels.tolist() == [0]
