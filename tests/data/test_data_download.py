"""Downloads (over file:// URLs), the cache directory, IDX and CIFAR readers, and the safe unpickler."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest

from ganforge.data.builtin import IdxDataset
from ganforge.data.download import cache_dir, download
from ganforge.data.formats import read_cifar10, read_idx, safe_unpickle
from ganforge.errors import DataError


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_cache_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("GANFORGE_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir() == tmp_path / ".cache" / "ganforge"


def test_download_verifies_sha256(tmp_path: Path) -> None:
    payload = os.urandom(3 << 20)  # several chunks
    source = tmp_path / "remote" / "blob.bin"
    source.parent.mkdir()
    source.write_bytes(payload)
    dest = tmp_path / "cache" / "sub" / "blob.bin"
    old = os.umask(0o027)
    try:
        assert download(source.as_uri(), dest, sha256(payload), progress=True) == dest
    finally:
        os.umask(old)
    assert dest.read_bytes() == payload
    assert oct(dest.stat().st_mode & 0o777) == "0o640"  # the umask's mode, not mkstemp's private 0o600
    assert sorted(p.name for p in dest.parent.iterdir()) == ["blob.bin"]  # no temp file left


def test_download_rejects_a_wrong_checksum_and_leaves_nothing(tmp_path: Path) -> None:
    source = tmp_path / "blob.bin"
    source.write_bytes(b"tampered")
    dest = tmp_path / "cache" / "blob.bin"
    wrong = "0" * 64
    with pytest.raises(DataError) as err:
        download(source.as_uri(), dest, wrong)
    message = str(err.value)
    assert source.as_uri() in message and wrong in message and sha256(b"tampered") in message
    assert f"put it at {dest}" in message
    assert list(dest.parent.iterdir()) == []


def test_download_failure_names_url_and_destination(tmp_path: Path) -> None:
    url = (tmp_path / "missing.gz").as_uri()
    dest = tmp_path / "cache" / "missing.gz"
    with pytest.raises(DataError) as err:
        download(url, dest, "0" * 64)
    message = str(err.value)
    assert message.startswith(f"could not download {url} (")
    assert message.endswith(f"download missing.gz yourself and put it at {dest}")
    assert not dest.exists() and list(dest.parent.iterdir()) == []


def test_download_falls_back_to_the_next_mirror(tmp_path: Path) -> None:
    good = tmp_path / "mirror2" / "f.bin"
    good.parent.mkdir()
    good.write_bytes(b"payload")
    dest = tmp_path / "f.bin"
    urls = [(tmp_path / "mirror1" / "f.bin").as_uri(), good.as_uri()]
    assert download(urls, dest, sha256(b"payload")).read_bytes() == b"payload"


def idx_bytes(array: np.ndarray) -> bytes:
    return bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def test_read_idx(tmp_path: Path) -> None:
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "x.gz").write_bytes(gzip.compress(idx_bytes(images)))
    np.testing.assert_array_equal(read_idx(tmp_path / "x.gz"), images)
    (tmp_path / "short").write_bytes(idx_bytes(images)[:-1])
    with pytest.raises(DataError, match="holds 23 values, its header says 24"):
        read_idx(tmp_path / "short")
    (tmp_path / "junk").write_bytes(b"PK\3\4 not idx")
    with pytest.raises(DataError, match="is not an IDX file"):
        read_idx(tmp_path / "junk")


def test_idx_dataset_downloads_into_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (5, 28, 28), np.uint8),
        "train-labels-idx1-ubyte": np.array([0, 1, 2, 3, 4], np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (2, 28, 28), np.uint8),
        "t10k-labels-idx1-ubyte": np.array([9, 5], np.uint8),
    }
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    checksums = {}
    for stem, array in arrays.items():
        blob = gzip.compress(idx_bytes(array))
        (mirror / f"{stem}.gz").write_bytes(blob)
        checksums[stem] = sha256(blob)
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path / "cache"))
    names = [str(d) for d in range(10)]
    source = IdxDataset("fake-mnist", "test", "test", [mirror.as_uri() + "/"], checksums, names)
    available, hint = source.available()
    assert not available and str(tmp_path / "cache" / "fake-mnist") in hint
    data = source.load()
    assert data.images.shape == (7, 1, 28, 28)
    assert data.labels.tolist() == [0, 1, 2, 3, 4, 9, 5]
    np.testing.assert_array_equal(data.images[5, 0].numpy(), arrays["t10k-images-idx3-ubyte"][0])
    assert sorted(p.name for p in (tmp_path / "cache" / "fake-mnist").iterdir()) == sorted(
        f"{stem}.gz" for stem in arrays
    )
    for path in mirror.iterdir():  # the second load reads the cache only
        path.unlink()
    assert source.available()[0]
    assert source.load().labels.tolist() == [0, 1, 2, 3, 4, 9, 5]


def test_idx_dataset_offline_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path))
    source = IdxDataset(
        "m",
        "test",
        "test",
        [(tmp_path / "offline").as_uri() + "/"],
        {"train-images-idx3-ubyte": "0" * 64},
        [],
    )
    with pytest.raises(DataError) as err:
        source.load()
    assert "could not download" in str(err.value)
    assert str(tmp_path / "m" / "train-images-idx3-ubyte.gz") in str(err.value)


def py2_pickle(obj: object) -> bytes:
    """Pickle dicts, lists, ints, strings and uint8 arrays the way Python 2's cPickle (protocol 2) did.

    The CIFAR batches were written that way: byte strings as BINSTRING, arrays via numpy.core.
    """

    def string(text: bytes) -> bytes:
        return (
            b"U" + bytes([len(text)]) + text
            if len(text) < 256
            else b"T" + struct.pack("<I", len(text)) + text
        )

    def write(value: object) -> bytes:
        if isinstance(value, dict):
            return b"}(" + b"".join(write(k) + write(v) for k, v in value.items()) + b"u"
        if isinstance(value, list):
            return b"](" + b"".join(write(v) for v in value) + b"e"
        if isinstance(value, int):
            return b"J" + struct.pack("<i", value)
        if isinstance(value, str):
            return string(value.encode("latin1"))
        assert isinstance(value, np.ndarray) and value.dtype == np.uint8
        dtype = b"cnumpy\ndtype\n" + string(b"u1") + b"K\x00K\x01\x87R" + b"(K\x03" + string(b"|")
        dtype += b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
        shape = b"(" + b"".join(write(int(n)) for n in value.shape) + b"t"
        state = b"(K\x01" + shape + dtype + b"\x89" + string(value.tobytes()) + b"tb"
        return (
            b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85"
            + string(b"b")
            + b"\x87R"
            + state
        )

    return b"\x80\x02" + write(obj) + b"."


def test_safe_unpickle_reads_python2_numpy_batches() -> None:
    data = np.arange(2 * 3072, dtype=np.int64).astype(np.uint8).reshape(2, 3072)
    batch = safe_unpickle(py2_pickle({"data": data, "labels": [3, 7], "batch_label": "testing"}))
    assert batch["labels"] == [3, 7] and batch["batch_label"] == "testing"
    np.testing.assert_array_equal(batch["data"], data)
    assert batch["data"].dtype == np.uint8


class Exploit:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_safe_unpickle_refuses_os_system(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"data": Exploit(marker)}, protocol=2)
    with pytest.raises(DataError, match=r"refusing to unpickle (os|posix)\.system"):
        safe_unpickle(payload, "evil_batch")
    assert not marker.exists()


def test_read_cifar10_from_a_tarball(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    archive = tmp_path / "cifar-10-python.tar.gz"
    batches = {}
    with tarfile.open(archive, "w:gz") as tar:
        names = ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"]
        for k, name in enumerate(names):
            batches[name] = rng.integers(0, 256, (2, 3072), np.uint8)
            blob = py2_pickle({"data": batches[name], "labels": [k, 9 - k]})
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
        meta = py2_pickle({"label_names": ["airplane", "automobile", "bird"] + [f"c{i}" for i in range(7)]})
        info = tarfile.TarInfo("cifar-10-batches-py/batches.meta")
        info.size = len(meta)
        tar.addfile(info, io.BytesIO(meta))
    images, labels, class_names = read_cifar10(archive)
    assert images.shape == (12, 3, 32, 32) and images.dtype == np.uint8
    assert labels.tolist() == [0, 9, 1, 8, 2, 7, 3, 6, 4, 5, 5, 4]
    assert class_names[:3] == ["airplane", "automobile", "bird"]
    # Rows are 1024 red, then 1024 green, then 1024 blue values, each 32x32 row-major.
    np.testing.assert_array_equal(images[0, 1, 0, :4], batches["data_batch_1"][0, 1024:1028])
    np.testing.assert_array_equal(images[-1, 2, 31, 31], batches["test_batch"][1, 3071])
