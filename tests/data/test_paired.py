"""Paired data: side-by-side and folders layouts, splits, clear errors, and the standard sets' fetch path."""

import hashlib
import io
import tarfile

import numpy as np
import pytest
from PIL import Image

from ganforge.data import paired
from ganforge.data.paired import (
    PairedSet,
    fetch_paired_set,
    load_paired,
    paired_splits,
    resolve_paired_source,
    unpack,
)
from ganforge.errors import DataError


def solid(width, height, value, mode="RGB"):
    color = value if mode == "L" else (value, 255 - value, 40)
    return Image.new(mode, (width, height), color)


def side_by_side(folder, n=5, size=12):
    """File k: A is solid gray level 10k on the left, B is level 200 + 10k on the right."""
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(n):
        image = Image.new("RGB", (2 * size, size))
        image.paste(solid(size, size, 10 * k), (0, 0))
        image.paste(solid(size, size, 200 + 10 * k), (size, 0))
        image.save(folder / f"{k:03d}.png")
    return folder


def test_side_by_side_splits_each_file_into_input_and_target(tmp_path):
    folder = side_by_side(tmp_path / "pairs")
    data = load_paired(folder, "side-by-side", size=8)
    assert data.images.shape == (5, 3, 8, 8) and data.targets.shape == (5, 3, 8, 8)
    assert data.images[:, 0, 4, 4].tolist() == [0, 10, 20, 30, 40]
    assert data.targets[:, 0, 4, 4].tolist() == [200, 210, 220, 230, 240]
    swapped = load_paired(folder, "side-by-side", size=8, direction="BtoA")
    assert swapped.images.equal(data.targets) and swapped.targets.equal(data.images)
    limited = load_paired(folder, "side-by-side", size=8, limit=3)
    assert len(limited) == 3 and limited.images[:, 0, 4, 4].tolist() == sorted(
        limited.images[:, 0, 4, 4].tolist()
    )
    gray = load_paired(folder, "side-by-side", size=8, channels=1)
    assert gray.images.shape[1] == 1 and gray.targets.shape[1] == 1


def test_folders_pair_files_by_name_across_extensions(tmp_path):
    root = tmp_path / "pairs"
    (root / "A" / "sub").mkdir(parents=True)
    (root / "B" / "sub").mkdir(parents=True)
    for k, name in enumerate(["b", "a", "sub/c"]):
        solid(10, 14, 20 * k, "L").save(root / "A" / f"{name}.png")
        solid(16, 16, 100 + 20 * k).save(root / "B" / f"{name}.jpg", quality=100)
    data = load_paired(root, "folders", size=8)
    # sorted by name: a, b, sub/c; A is gray and B color, so both become RGB
    assert data.images.shape == (3, 3, 8, 8) and data.targets.shape == (3, 3, 8, 8)
    assert data.images[:, 0, 4, 4].tolist() == [20, 0, 40]
    assert all(
        abs(v - e) <= 2 for v, e in zip(data.targets[:, 0, 4, 4].tolist(), [120, 100, 140], strict=True)
    )


def test_mismatched_names_are_reported_clearly(tmp_path):
    root = tmp_path / "pairs"
    for side, names in (("A", ["1", "2", "3", "x"]), ("B", ["1", "2", "3", "y", "z"])):
        (root / side).mkdir(parents=True)
        for name in names:
            solid(8, 8, 50).save(root / side / f"{name}.png")
    with pytest.raises(DataError) as err:
        load_paired(root, "folders", size=8)
    message = str(err.value)
    assert "do not match: 1 in A/ without a match in B/ (x); 2 in B/ without a match in A/ (y, z)" in message
    assert "rename or remove them" in message and "\n" not in message


def test_layout_errors_name_the_fix(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    solid(32, 18, 10).save(photos / "p.png")  # 16:9
    with pytest.raises(DataError, match=r"p.png is 32x18, not an A\|B pair side by side.*--pairs folders"):
        load_paired(photos, "side-by-side", size=8)
    with pytest.raises(DataError, match="needs subfolders A/ and B/ .* A/ is missing"):
        load_paired(photos, "folders", size=8)
    (tmp_path / "dup" / "A").mkdir(parents=True)
    (tmp_path / "dup" / "B").mkdir()
    solid(8, 8, 1).save(tmp_path / "dup" / "A" / "k.png")
    solid(8, 8, 1).save(tmp_path / "dup" / "A" / "k.jpg")
    solid(8, 8, 1).save(tmp_path / "dup" / "B" / "k.png")
    with pytest.raises(DataError, match="two files named k"):
        load_paired(tmp_path / "dup", "folders", size=8)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="holds no images"):
        load_paired(empty, "side-by-side", size=8)


def test_unreadable_pair_is_skipped_with_a_warning(tmp_path, warnings_seen):
    folder = side_by_side(tmp_path / "pairs", n=3)
    (folder / "bad.png").write_bytes(b"not a png")
    data = load_paired(folder, "side-by-side", size=8)
    assert len(data) == 3
    assert len(warnings_seen) == 1 and "bad.png" in warnings_seen[0]


def test_train_and_test_subfolders_are_the_splits(tmp_path):
    root = tmp_path / "facades"
    side_by_side(root / "train", n=4)
    side_by_side(root / "val", n=2)
    assert paired_splits(root) == (root / "train", root / "val")
    side_by_side(root / "test", n=2)
    assert paired_splits(root) == (root / "train", root / "test")
    assert paired_splits(root / "train") == (root / "train", None)


def make_tar(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, payload in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))


def png(value):
    buffer = io.BytesIO()
    Image.fromarray(np.full((4, 8, 3), value, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_standard_set_is_fetched_checksum_pinned_and_unpacked(isolated_cache, monkeypatch):
    source = isolated_cache / "upstream.tar.gz"
    make_tar(source, {"mini/train/1.png": png(10), "mini/val/2.png": png(20)})
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    spec = PairedSet("mini", "a test set", digest)
    monkeypatch.setitem(paired.PAIRED_SETS, "mini", spec)
    calls = []

    def fake_download(urls, dest, sha256, progress=None):  # the network, replaced by a local copy
        calls.append((urls, dest, sha256))
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(source.read_bytes())
        return dest

    monkeypatch.setattr(paired, "download", fake_download)
    folder = resolve_paired_source("mini")
    assert folder == isolated_cache / "pix2pix" / "mini"
    assert (folder / "train" / "1.png").is_file() and (folder / "val" / "2.png").is_file()
    assert calls == [(spec.urls, isolated_cache / "pix2pix" / "mini.tar.gz", digest)]
    assert spec.urls[0] == "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/mini.tar.gz"
    assert resolve_paired_source("mini") == folder and len(calls) == 1  # cached: no second download


def test_unpinned_set_is_never_downloaded(isolated_cache):
    with pytest.raises(DataError) as err:
        fetch_paired_set("facades")
    message = str(err.value)
    assert (
        "not pinned" in message and "efrosgans.eecs.berkeley.edu/pix2pix/datasets/facades.tar.gz" in message
    )
    assert str(isolated_cache / "pix2pix" / "facades.tar.gz") in message
    assert not (isolated_cache / "pix2pix" / "facades").exists()


def test_unpack_refuses_paths_outside_the_folder(tmp_path):
    archive = tmp_path / "evil.tar.gz"
    make_tar(archive, {"../escaped.png": png(1)})
    with pytest.raises(DataError, match="cannot unpack"):
        unpack(archive, tmp_path / "cache" / "evil")
    assert not (tmp_path / "cache" / "escaped.png").exists() and not (tmp_path / "escaped.png").exists()
    assert not (tmp_path / "cache" / "evil").exists()


def test_unknown_source_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="neither a folder nor a standard pix2pix set .*facades"):
        resolve_paired_source("facadez")
    with pytest.raises(DataError, match="does not exist"):
        resolve_paired_source(str(tmp_path / "missing"))
