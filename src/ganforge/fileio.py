"""Writing files so that a crash never leaves one half-written: readers see the old file or the
complete new one."""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

_umask_lock = threading.Lock()


def user_umask() -> int:
    """The process's umask (Python < 3.13 can only read it by setting it, hence the lock)."""
    with _umask_lock:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: Path) -> Iterator[str]:
    """A temporary file name beside `path` to write to; when the block ends without an error the
    file replaces `path` in one step, otherwise it is removed. Creates `path`'s folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        # mkstemp makes the file 0600; the result gets the mode any new file of the user would get
        os.chmod(tmp, 0o666 & ~user_umask())
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def save_safetensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> None:
    """`tensors` (made contiguous) and string `metadata` to a .safetensors file, atomically."""
    from safetensors.torch import save_file

    with atomic_path(path) as tmp:
        save_file({k: v.contiguous() for k, v in tensors.items()}, tmp, metadata=metadata)
