"""Readers for the file formats of the built-in datasets: IDX (MNIST family) and CIFAR pickle batches."""

from __future__ import annotations

import gzip
import io
import pickle
import struct
import tarfile
from pathlib import Path
from typing import Any

import numpy as np

from ganforge.errors import DataError

try:  # numpy >= 2 moved the pickling helpers; CIFAR's pickles still name numpy.core
    from numpy._core.multiarray import _reconstruct
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file of unsigned bytes (gzipped or not) as an array of its stated shape."""
    path = Path(path)
    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb") as file:
            data = file.read()
    except (OSError, EOFError) as err:
        raise DataError(f"cannot read {path} ({err}); delete it to fetch it again") from None
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] != 0x08:
        raise DataError(f"{path} is not an IDX file of unsigned bytes; delete it to fetch it again")
    ndim = data[3]
    if len(data) < 4 + 4 * ndim:
        raise DataError(f"{path} is truncated; delete it to fetch it again")
    shape = struct.unpack_from(f">{ndim}I", data, 4)
    offset, count = 4 + 4 * ndim, int(np.prod(shape))
    if len(data) - offset != count:
        raise DataError(
            f"{path} holds {len(data) - offset} values, its header says {count}; delete it to fetch it again"
        )
    return np.frombuffer(data, np.uint8, count, offset).reshape(shape)


# The only globals a CIFAR-10 batch references: a dict of numpy arrays and lists.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class ArrayUnpickler(pickle.Unpickler):
    """An unpickler that builds numpy arrays, lists, dicts and strings, and refuses every other class.

    A pickle can name any callable (`os.system`, ...) and have it called on load; this one can
    only reach the numpy constructors above.
    """

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to unpickle {module}.{name}: only numpy arrays are allowed"
            ) from None


def safe_unpickle(data: bytes, source: str = "pickle") -> Any:
    """Unpickle `data` with `ArrayUnpickler`; DataError naming `source` when it is refused or broken."""
    try:
        # latin1: the CIFAR batches were pickled by Python 2, whose byte strings hold the pixel data.
        return ArrayUnpickler(io.BytesIO(data), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as err:
        raise DataError(f"{source} is not a plain CIFAR batch ({err}); delete it to fetch it again") from None


CIFAR10_BATCHES = (
    "data_batch_1",
    "data_batch_2",
    "data_batch_3",
    "data_batch_4",
    "data_batch_5",
    "test_batch",
)


def read_cifar10(path: str | Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Images (N, 3, 32, 32) uint8, labels (N,) and class names from `cifar-10-python.tar.gz`.

    The batches are read straight from the tarball; nothing is extracted to disk.
    """
    path = Path(path)
    images, labels = [], []
    try:
        with tarfile.open(path, "r:gz") as archive:
            members = {Path(m.name).name: m for m in archive.getmembers() if m.isfile()}
            missing = [name for name in (*CIFAR10_BATCHES, "batches.meta") if name not in members]
            if missing:
                raise DataError(f"{path} lacks {', '.join(missing)}; delete it to fetch it again")

            def load(name: str) -> dict:
                batch = safe_unpickle(archive.extractfile(members[name]).read(), f"{path}:{name}")
                if not isinstance(batch, dict):
                    raise DataError(f"{path}:{name} is not a CIFAR batch; delete it to fetch it again")
                return batch

            for name in CIFAR10_BATCHES:
                batch = load(name)
                images.append(np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
                labels.append(np.asarray(batch["labels"], dtype=np.int64))
            class_names = [str(name) for name in load("batches.meta")["label_names"]]
    except (tarfile.TarError, OSError, EOFError, KeyError) as err:
        raise DataError(f"cannot read {path} ({err}); delete it to fetch it again") from None
    return np.concatenate(images), np.concatenate(labels), class_names
