"""Loading folders of images: bad files, channels, class subfolders, limits, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.data.folder import class_labels, find_images, load_folder
from ganforge.errors import DataError


def solid(path: Path, value: int | tuple[int, int, int], size: tuple[int, int] = (10, 10)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L" if isinstance(value, int) else "RGB", size, value).save(path)
    return path


def test_mixed_folder_loads_the_good_files_and_warns_once_per_bad_one(
    sample_folder, warnings_seen: list[str]
) -> None:
    root, good, bad = sample_folder()
    data = load_folder(root, 16)
    assert data.images.shape == (len(good), 3, 16, 16)
    assert data.images.dtype == torch.uint8
    assert data.labels is None and data.class_names is None and data.num_classes == 0
    assert data.source == str(root)
    assert len(warnings_seen) == len(bad)
    # One line each, naming the file, in sorted file order; notes.txt and .DS_Store are not mentioned.
    assert [w.split(": ")[0] for w in warnings_seen] == [f"skipping {root / name}" for name in bad]
    # Gray files became three equal channels; color files did not.
    names = sorted(good)
    for row, name in enumerate(names):
        image = data.images[row].int()
        channels_equal = bool((image[0] == image[1]).all() and (image[1] == image[2]).all())
        assert channels_equal == good[name], name


def test_good_files_only_has_no_warnings(sample_folder, warnings_seen: list[str]) -> None:
    root, good, _ = sample_folder(with_bad=False)
    assert len(load_folder(root, 8)) == len(good)
    assert warnings_seen == []


def test_channels_auto_gray_and_forced(tmp_path: Path) -> None:
    solid(tmp_path / "gray" / "a.png", 40)
    Image.fromarray(np.full((10, 10), 65535, np.uint16)).save(tmp_path / "gray" / "b.png")
    Image.new("1", (10, 10), 1).save(tmp_path / "gray" / "c.bmp")
    gray = load_folder(tmp_path / "gray", 10)
    assert gray.images.shape == (3, 1, 10, 10)
    assert gray.images[:, 0, 0, 0].tolist() == [40, 255, 255]
    assert load_folder(tmp_path / "gray", 10, channels=3).images.shape == (3, 3, 10, 10)
    solid(tmp_path / "color" / "red.png", (255, 0, 0))
    solid(tmp_path / "color" / "green.png", (0, 255, 0))
    luma = load_folder(tmp_path / "color", 10, channels=1)
    assert luma.images.shape == (2, 1, 10, 10)
    assert luma.images[:, 0, 5, 5].tolist() == [150, 76]  # green.png sorts first; 0.587 * 255, 0.299 * 255


def test_extensions_are_case_insensitive_and_hidden_files_skipped(tmp_path: Path) -> None:
    solid(tmp_path / "UPPER.PNG", 1)
    solid(tmp_path / "mixed.JpEg", 2).rename(tmp_path / "mixed.JpEg")
    solid(tmp_path / ".hidden" / "x.png", 3)
    solid(tmp_path / "._resource.png", 4)
    (tmp_path / "readme.md").write_text("not an image")
    assert [p.name for p in find_images(tmp_path)] == ["UPPER.PNG", "mixed.JpEg"]


def test_class_subfolders_give_labels(tmp_path: Path) -> None:
    solid(tmp_path / "dog" / "sub" / "d1.png", 200)
    solid(tmp_path / "cat" / "c1.png", 10)
    solid(tmp_path / "cat" / "c2.png", 20)
    solid(tmp_path / "dog" / "d0.png", 100)
    data = load_folder(tmp_path, 10)
    assert data.class_names == ["cat", "dog"]
    assert data.num_classes == 2
    assert data.labels.dtype == torch.int64
    # Sorted by relative path: cat/c1, cat/c2, dog/d0.png, dog/sub/d1.png
    assert data.labels.tolist() == [0, 0, 1, 1]
    assert data.images[:, 0, 0, 0].tolist() == [10, 20, 100, 200]
    assert load_folder(tmp_path, 10, labels=False).labels is None


def test_no_labels_for_loose_files_or_a_single_class(tmp_path: Path) -> None:
    files = [solid(tmp_path / "cat" / "a.png", 1), solid(tmp_path / "dog" / "b.png", 2)]
    assert class_labels(tmp_path, files) == ([0, 1], ["cat", "dog"])
    loose = solid(tmp_path / "loose.png", 3)
    assert class_labels(tmp_path, [*files, loose]) is None
    assert load_folder(tmp_path, 10).labels is None
    assert class_labels(tmp_path, files[:1]) is None


def test_limit_is_a_fixed_choice_in_file_order(tmp_path: Path) -> None:
    for k in range(20):
        solid(tmp_path / ("a" if k < 10 else "b") / f"{k:02d}.png", 10 * k)
    first = load_folder(tmp_path, 10, limit=6)
    again = load_folder(tmp_path, 10, limit=6)
    assert len(first) == 6
    assert torch.equal(first.images, again.images) and torch.equal(first.labels, again.labels)
    values = first.images[:, 0, 0, 0].tolist()
    assert values == sorted(values) and len(set(values)) == 6
    assert set(first.labels.tolist()) == {0, 1}  # a limited set still draws from both classes
    assert first.class_names == ["a", "b"]


def test_limit_replaces_bad_files(tmp_path: Path, warnings_seen: list[str]) -> None:
    for k in range(6):
        solid(tmp_path / f"good{k}.png", k)
        (tmp_path / f"bad{k}.png").write_bytes(b"")
    data = load_folder(tmp_path, 10, limit=5)
    assert len(data) == 5
    assert len(set(data.images[:, 0, 0, 0].tolist()) - set(range(6))) == 0  # only good files' values
    assert 1 <= len(warnings_seen) <= 6
    assert all(w.startswith(f"skipping {tmp_path}/bad") for w in warnings_seen)


def test_many_files_keep_their_order(tmp_path: Path) -> None:
    # Each image's value is its position in sorted order.
    for k in range(90):
        solid(tmp_path / f"{k:03d}.png", k)
    data = load_folder(tmp_path, 4)
    assert data.images[:, 0, 0, 0].tolist() == list(range(90))


def test_missing_folder(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError, match=f"data folder {missing} does not exist"):
        load_folder(missing, 16)


def test_file_instead_of_folder(tmp_path: Path) -> None:
    path = solid(tmp_path / "one.png", 5)
    with pytest.raises(DataError, match=f"data source {path} is a file, not a folder"):
        load_folder(path, 16)


def test_empty_folder_names_the_folder_and_extensions(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no images here")
    with pytest.raises(DataError) as err:
        load_folder(tmp_path, 16)
    message = str(err.value)
    assert f"data folder {tmp_path} holds no images" in message
    assert ".jpg .jpeg .png .webp .bmp .gif .tif .tiff" in message
    assert "\n" not in message


def test_folder_of_only_bad_files(tmp_path: Path, warnings_seen: list[str]) -> None:
    (tmp_path / "a.png").write_bytes(b"")
    (tmp_path / "b.jpg").write_text("text")
    with pytest.raises(
        DataError, match=f"none of the 2 image files in data folder {tmp_path} could be decoded"
    ):
        load_folder(tmp_path, 16)
    assert len(warnings_seen) == 2


def test_progress_bar_does_not_change_the_result(tmp_path: Path) -> None:
    for k in range(5):
        solid(tmp_path / f"{k}.png", 50 * k)
    quiet = load_folder(tmp_path, 6, progress=False)
    shown = load_folder(tmp_path, 6, progress=True)
    assert torch.equal(quiet.images, shown.images)
    assert shown.images[:, 0, 0, 0].tolist() == [0, 50, 100, 150, 200]
