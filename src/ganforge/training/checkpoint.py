"""Checkpoint files: written atomically, loaded without unpickling code.

A write goes to a temp file in the same folder, is fsynced, then renamed over the final name, so a
crash or kill mid-write leaves every earlier checkpoint intact. Loading uses
`torch.load(weights_only=True)`: tensors, numbers, strings, lists and dicts only.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import torch

from ganforge.console import warn
from ganforge.errors import CheckpointError

FORMAT = "ganforge-checkpoint/1"
_NAME = re.compile(r"^step-(\d+)\.pt$")


def checkpoint_path(folder: Path, step: int) -> Path:
    return folder / f"step-{step:06d}.pt"


def atomic_save(obj: Any, path: Path) -> None:
    """torch.save to `path` so that readers see either the old file or the complete new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems cannot fsync a directory
    finally:
        os.close(fd)


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load one checkpoint file, refusing anything that is not a ganforge checkpoint."""
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises many types for truncated, foreign or malicious files
        if _holds_code(path, err):  # say so plainly, not torch's advice on how to run it anyway
            raise CheckpointError(
                f"{path} holds Python code (a pickle that would run it when loaded), not only tensors; "
                "it was not loaded. Use checkpoints written by ganforge, or bundles (safetensors)"
            ) from None
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"checkpoint {path} cannot be loaded safely ({first[:160]})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a ganforge checkpoint (no '{FORMAT}' marker)")
    return state


def _holds_code(path: Path, err: Exception) -> bool:
    """Whether a file torch refused is a pickle that imports or calls something. torch names it for
    its zip format; a plain pickle is read with pickletools, which runs nothing."""
    if "Unsupported global" in str(err):
        return True
    import pickletools
    import zipfile

    if zipfile.is_zipfile(path):
        return False
    calls = {"GLOBAL", "STACK_GLOBAL", "INST", "OBJ", "REDUCE", "NEWOBJ", "NEWOBJ_EX"}
    try:
        return any(op.name in calls for op, _, _ in pickletools.genops(path.read_bytes()))
    except Exception:  # noqa: BLE001 - not a pickle at all: damaged, reported as such
        return False


def list_checkpoints(folder: Path) -> list[tuple[int, Path]]:
    """(step, path) of every checkpoint in `folder`, oldest first."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = _NAME.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def load_latest(folder: Path, map_location: str | torch.device = "cpu") -> dict[str, Any] | None:
    """The newest checkpoint that loads; a damaged newer one is reported and skipped."""
    for _, path in reversed(list_checkpoints(folder)):
        try:
            return load_checkpoint(path, map_location)
        except CheckpointError as err:
            warn(f"{err}; trying an older checkpoint")
    return None


def prune(folder: Path, keep: int, protect: tuple[Path, ...] = ()) -> None:
    """Delete all but the newest `keep` checkpoints (never the ones in `protect`)."""
    for _, path in list_checkpoints(folder)[:-keep]:
        if path not in protect:
            path.unlink(missing_ok=True)


def clean_temp_files(folder: Path) -> None:
    """Remove temp files that a killed write left behind."""
    if folder.is_dir():
        for path in folder.glob(".*.tmp-*"):
            path.unlink(missing_ok=True)
