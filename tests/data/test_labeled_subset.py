"""The semi-supervised split: balanced, reproducible labeled subsets; a fixed held-out test split."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import needs_dataset
from ganforge.config import DataConfig
from ganforge.data.formats import read_idx
from ganforge.data.labeled_subset import (
    balanced_subset,
    labeled_count,
    load_semi_supervised,
    read_labeled_list,
    repeat_to,
    stratified_holdout,
)
from ganforge.data.transforms import resize
from ganforge.errors import ConfigError, DataError
from ganforge.metrics.reference import split_index
from ganforge.registry import DATASETS

LABELS = torch.arange(1000) % 10  # 100 images of each of 10 classes


def test_count_and_fraction():
    assert labeled_count(100, 5000, 10) == 100
    assert labeled_count(0.01, 5000, 10) == 50
    assert labeled_count(1.0, 200, 10) == 200
    with pytest.raises(ConfigError, match="fewer than one per class"):
        labeled_count(5, 5000, 10)
    with pytest.raises(ConfigError, match="fewer than one per class"):
        labeled_count(0.001, 5000, 10)  # 5 images
    with pytest.raises(ConfigError, match="at most 5000"):
        labeled_count(6000, 5000, 10)
    with pytest.raises(ConfigError, match=r"must lie in \(0, 1\]"):
        labeled_count(1.5, 5000, 10)
    with pytest.raises(ConfigError, match="a count such as 100"):
        labeled_count(True, 5000, 10)


def test_labeled_subset_is_balanced():
    index = balanced_subset(LABELS, 10, 100, seed=0)
    assert index.tolist() == sorted(set(index.tolist()))  # sorted, no repeats
    assert torch.bincount(LABELS[index], minlength=10).tolist() == [10] * 10
    odd = balanced_subset(LABELS, 10, 104, seed=0)
    counts = torch.bincount(LABELS[odd], minlength=10)
    assert counts.sum() == 104 and sorted(counts.tolist()) == [10] * 6 + [11] * 4


def test_labeled_subset_is_reproducible_and_moves_with_the_seed():
    first, again = balanced_subset(LABELS, 10, 100, seed=3), balanced_subset(LABELS, 10, 100, seed=3)
    assert torch.equal(first, again)
    other = balanced_subset(LABELS, 10, 100, seed=4)
    assert not torch.equal(first, other)
    assert torch.bincount(LABELS[other], minlength=10).tolist() == [10] * 10
    # the classes that get the leftover images are the seed's choice too
    left = [torch.bincount(LABELS[balanced_subset(LABELS, 10, 103, seed=s)], minlength=10) for s in range(4)]
    assert len({tuple(c.tolist()) for c in left}) > 1


def test_a_small_class_is_a_clear_error():
    labels = torch.tensor([0] * 50 + [1] * 3)
    with pytest.raises(ConfigError, match="class 1 has 3 training images, fewer than the 5"):
        balanced_subset(labels, 2, 10, seed=0)


def test_stratified_holdout():
    labels = torch.tensor([0] * 600 + [1] * 300 + [2] * 100)
    test = stratified_holdout(labels, 3, 0.1, seed=0)
    assert torch.bincount(labels[test], minlength=3).tolist() == [60, 30, 10]
    assert len(stratified_holdout(labels, 3, 7, seed=0)) == 7
    assert torch.equal(stratified_holdout(labels, 3, 100, seed=0), test)
    assert len(stratified_holdout(labels, 3, 0, seed=0)) == 0
    with pytest.raises(ConfigError, match="holds out all"):
        stratified_holdout(labels, 3, 1000, seed=0)


def test_builtin_split_is_disjoint_and_the_test_split_is_fixed():
    cfg = DataConfig(source="digits", size=8)
    a = load_semi_supervised(cfg, 50, None, 0.2, seed=0)
    b = load_semi_supervised(cfg, 50, None, 0.2, seed=1)
    assert len(a.train) + len(a.test) == 1797 and len(a.test) == round(0.2 * 1797)
    assert torch.equal(a.test.images, b.test.images)  # the same test images whatever the seed
    assert not torch.equal(a.labeled_index, b.labeled_index)  # a different labeled subset
    assert torch.bincount(a.labeled.labels, minlength=10).tolist() == [5] * 10
    assert torch.equal(a.labeled.images, a.train.images[a.labeled_index])
    # no test image is a training image (digits holds a few exact duplicates: count them first)
    rows = [bytes(image.flatten().tolist()) for image in DATASETS.get("digits").load().images]
    train = {bytes(image.flatten().tolist()) for image in a.train.images}
    test = [bytes(image.flatten().tolist()) for image in a.test.images]
    assert sum(row in train for row in test) <= len(rows) - len(set(rows))


def test_limit_picks_first_and_the_test_split_is_held_out_of_it():
    data = load_semi_supervised(DataConfig(source="digits", size=8, limit=500), 20, None, 100, seed=0)
    assert (len(data.train), len(data.test), len(data.labeled)) == (400, 100, 20)


def test_mnist_5k_holds_out_the_same_digits_as_ganforge_eval():
    data = load_semi_supervised(DataConfig(source="mnist-5k", size=8, limit=500), 20, None, 0.5, seed=0)
    assert (len(data.train), len(data.test)) == (500, 1000)  # limit picks training digits only
    full = DATASETS.get("mnist-5k").load()
    test = split_index("mnist-5k", "test", len(full))
    assert torch.equal(data.test.labels, full.labels[test])
    assert torch.equal(data.test.images, resize(full.images[test], 8))


@needs_dataset("fashion-mnist")
def test_fashion_mnist_uses_its_official_test_split():
    cfg = DataConfig(source="fashion-mnist", size=8, limit=300)
    data = load_semi_supervised(cfg, 30, None, 0.5, seed=0)  # test_size does not apply
    assert len(data.train) == 300 and len(data.test) == 10_000
    _, _, test_images, test_labels = DATASETS.get("fashion-mnist")._find()  # the t10k files
    assert torch.equal(data.test.labels, torch.from_numpy(read_idx(test_labels).astype(np.int64)))
    assert torch.equal(data.test.images, resize(torch.from_numpy(read_idx(test_images))[:, None], 8))


@pytest.fixture
def class_folder(tmp_path):
    """3 classes x 6 gray images, each image a distinct flat gray value."""
    root = tmp_path / "shapes"
    for k, name in enumerate(("circle", "square", "star")):
        (root / name).mkdir(parents=True)
        for i in range(6):
            Image.fromarray(np.full((10, 10), 20 + 40 * k + 5 * i, np.uint8)).save(root / name / f"{i}.png")
    return root


def test_labeled_list_names_the_labeled_files(class_folder, tmp_path):
    listing = tmp_path / "labeled.txt"
    listing.write_text(
        "# two per class\ncircle/0.png\ncircle/1.png\n\nsquare/2.png\n"
        f"{class_folder / 'square' / '3.png'}\nstar/5.png\nstar/4.png\nstar/4.png\n"
    )
    cfg = DataConfig(source=str(class_folder), size=8)
    data = load_semi_supervised(cfg, 100, str(listing), 6, seed=0)
    assert data.labeled.labels.tolist() == [0, 0, 1, 1, 2, 2]
    values = data.labeled.images[:, 0, 0, 0].tolist()
    assert values == [20, 25, 70, 75, 125, 120]
    assert len(data.test) == 6 and len(data.train) == 12
    test_values = set(data.test.images[:, 0, 0, 0].tolist())
    assert not test_values & set(values)  # listed images are never held out
    assert data.labeled_index is None


def test_labeled_list_errors(class_folder, tmp_path):
    cfg = DataConfig(source=str(class_folder), size=8)
    listing = tmp_path / "list.txt"
    listing.write_text("circle/0.png\ncircle/nope.png\n")
    with pytest.raises(DataError, match="line 2: circle/nope.png is not a file"):
        load_semi_supervised(cfg, 100, str(listing), 3, seed=0)
    listing.write_text("circle/0.png\nsquare/0.png\n")
    with pytest.raises(DataError, match="no image of class 'star'"):
        load_semi_supervised(cfg, 100, str(listing), 3, seed=0)
    with pytest.raises(DataError, match="cannot read the labeled list"):
        read_labeled_list(tmp_path / "missing.txt", class_folder)
    with pytest.raises(ConfigError, match="use --labels N for built-ins"):
        load_semi_supervised(DataConfig(source="digits", size=8), 100, str(listing), 3, seed=0)


def test_unlabelled_source_is_a_clear_error(tmp_path):
    for i in range(4):
        Image.fromarray(np.full((8, 8), 10 * i, np.uint8)).save(tmp_path / f"{i}.png")
    with pytest.raises(DataError, match="has no class labels"):
        load_semi_supervised(DataConfig(source=str(tmp_path), size=8), 2, None, 1, seed=0)


def test_repeat_to():
    data = load_semi_supervised(DataConfig(source="digits", size=8, limit=200), 10, None, 0, seed=0).labeled
    tiled = repeat_to(data, 64)
    assert len(tiled) == 70 and torch.equal(tiled.images[10:20], data.images)
    assert repeat_to(data, 5) is data
