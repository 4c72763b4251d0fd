"""Auto-numbered run directories: runs/00012-dcgan-mnist/.

A run directory appears only whole, with its config.json: it is made under a hidden temp name and
renamed into place, so a start that fails (bad data, a kill in the first second) leaves nothing that
`--resume last` could mistake for a run.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from pathlib import Path

from ganforge.config import RunConfig
from ganforge.errors import ConfigError

_RUN = re.compile(r"^(\d{5})-")


def new_run_dir(root: Path, name: str, config: RunConfig) -> Path:
    """Create the next free `root/NNNNN-name` directory with `config` saved in it as config.json."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "run"
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".new-run-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        config.save(staging / "config.json")
        while True:
            numbers = [int(m.group(1)) for p in root.iterdir() if (m := _RUN.match(p.name))]
            path = root / f"{max(numbers, default=-1) + 1:05d}-{safe}"
            try:
                # POSIX rename replaces only an empty directory, so a number another process took (its
                # directory holds a config.json) fails here and the next one is tried
                os.rename(staging, path)
                return path
            except OSError as err:
                if err.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
                    raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def is_run_dir(path: Path) -> bool:
    return path.is_dir() and bool(_RUN.match(path.name)) and (path / "config.json").is_file()


def latest_run_dir(root: Path) -> Path:
    """The highest-numbered run in `root` (for `--resume last`); folders without a config.json, left
    by older versions or by hand, are not runs and are passed over."""
    runs = sorted(p for p in root.iterdir() if is_run_dir(p)) if root.is_dir() else []
    if not runs:
        raise ConfigError(f"no runs in {root} to resume; start one with `ganforge train`")
    return runs[-1]
