"""Checkpoint files: written atomically, checksummed, loaded without unpickling code.

A write goes to a temp file in the same folder, is fsynced, then renamed over the final name, so a
crash or kill mid-write leaves every earlier checkpoint intact. The file is the `torch.save` bytes
followed by a trailer with their sha256, verified before anything is loaded: bytes damaged in place
(which often still unpickle, into nonsense weights) make the file unreadable, like a truncated one.
Loading uses `torch.load(weights_only=True)`: tensors, numbers, strings, lists and dicts only.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from pathlib import Path
from typing import Any

import torch

from ganforge.console import warn
from ganforge.errors import CheckpointError
from ganforge.fileio import atomic_path

FORMAT = "ganforge-checkpoint/2"  # /2: sha256 trailer
LEGACY_FORMATS = ("ganforge-checkpoint/1",)  # loaded without a checksum (written before there was one)
_NAME = re.compile(r"^step-(\d+)\.pt$")
_TRAILER_TAG = b"\nganforge-sha256:"
_TRAILER_LEN = len(_TRAILER_TAG) + 64 + 1  # tag, hex digest, newline


def checkpoint_path(folder: Path, step: int) -> Path:
    return folder / f"step-{step:06d}.pt"


def atomic_save(obj: Any, path: Path) -> None:
    """torch.save `obj` to `path` with a sha256 trailer, so that readers see either the old file or
    the complete new one. A write error (a full disk) raises CheckpointError, earlier files intact."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    payload = buffer.getbuffer()
    trailer = _TRAILER_TAG + hashlib.sha256(payload).hexdigest().encode() + b"\n"
    try:
        with atomic_path(path) as tmp:  # the user's umask, not mkstemp's 0600
            with open(tmp, "wb") as f:
                f.write(payload)
                f.write(trailer)
                f.flush()
                os.fsync(f.fileno())
    except OSError as err:
        raise CheckpointError(
            f"could not write checkpoint {path} ({err.strerror or err}); earlier checkpoints are intact: "
            f"free some space (or fix the folder) and continue with --resume {path.parent.parent}"
        ) from None
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
    """Load one checkpoint file, refusing anything that is not an intact ganforge checkpoint."""
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        data = path.read_bytes()
    except OSError as err:
        raise CheckpointError(f"checkpoint {path} cannot be read ({err.strerror or err})") from None
    payload, trailer = data[:-_TRAILER_LEN], data[-_TRAILER_LEN:]
    checked = trailer.startswith(_TRAILER_TAG) and trailer.endswith(b"\n")
    if checked:
        expected = trailer[len(_TRAILER_TAG) : -1].decode("ascii", "replace")
        if hashlib.sha256(payload).hexdigest() != expected:
            raise CheckpointError(f"checkpoint {path} is damaged (its sha256 does not match its content)")
    else:
        payload = data  # a checkpoint from before checksums, or one whose trailer is damaged
    try:
        state = torch.load(io.BytesIO(payload), map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises many types for truncated, foreign or malicious files
        if _holds_code(path, err):  # say so plainly, not torch's advice on how to run it anyway
            raise CheckpointError(
                f"{path} holds Python code (a pickle that would run it when loaded), not only tensors; "
                "it was not loaded. Use checkpoints written by ganforge, or bundles (safetensors)"
            ) from None
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"checkpoint {path} cannot be loaded safely ({first[:160]})") from None
    marker = state.get("format") if isinstance(state, dict) else None
    if marker == FORMAT and not checked:
        raise CheckpointError(f"checkpoint {path} is damaged (its sha256 trailer is missing or altered)")
    if marker != FORMAT and marker not in LEGACY_FORMATS:
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
    """The newest checkpoint that loads; a damaged newer one is reported and skipped. None when there
    are no checkpoints; UnreadableCheckpoints when there are some and none of them loads."""
    found = list_checkpoints(folder)
    errors = []
    for _, path in reversed(found):
        try:
            state = load_checkpoint(path, map_location)
        except CheckpointError as err:
            errors.append(err)
            older = "trying an older checkpoint" if path != found[0][1] else "no older checkpoint"
            warn(f"{err}; {older}")
            continue
        state["_path"] = str(path)
        return state
    if found:
        raise UnreadableCheckpoints(
            f"none of the {len(found)} checkpoint(s) in {folder} can be loaded (newest: {errors[0]})"
        )
    return None


class UnreadableCheckpoints(CheckpointError):
    """A run has checkpoints and none of them loads."""


def set_aside(folder: Path, suffix: str) -> list[Path]:
    """Rename every checkpoint in `folder` to `*.pt<suffix>` (kept for inspection, never loaded)."""
    moved = []
    for _, path in list_checkpoints(folder):
        target = path.with_name(path.name + suffix)
        os.replace(path, target)
        moved.append(target)
    return moved


def prune(folder: Path, keep: int, protect: tuple[Path, ...] = ()) -> None:
    """Delete all but the newest `keep` checkpoints (never the ones in `protect`)."""
    for _, path in list_checkpoints(folder)[:-keep]:
        if path not in protect:
            path.unlink(missing_ok=True)


def clean_temp_files(folder: Path) -> None:
    """Remove temp files that a killed write left behind."""
    if folder.is_dir():
        for pattern in (".*.tmp-*", ".*.part"):  # older writer's names, fileio.atomic_path's
            for path in folder.glob(pattern):
                path.unlink(missing_ok=True)
