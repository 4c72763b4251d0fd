"""Auto-numbered run directories: runs/00012-dcgan-mnist/."""

from __future__ import annotations

import re
from pathlib import Path

from ganforge.errors import ConfigError

_RUN = re.compile(r"^(\d{5})-")


def new_run_dir(root: Path, name: str) -> Path:
    """Create and return the next free `root/NNNNN-name` directory."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "run"
    root.mkdir(parents=True, exist_ok=True)
    while True:
        numbers = [int(m.group(1)) for p in root.iterdir() if (m := _RUN.match(p.name))]
        path = root / f"{max(numbers, default=-1) + 1:05d}-{safe}"
        try:
            path.mkdir()
            return path
        except FileExistsError:  # another process took the number; take the next one
            continue


def latest_run_dir(root: Path) -> Path:
    """The highest-numbered run in `root` (for `--resume last`)."""
    runs = sorted(p for p in root.iterdir() if _RUN.match(p.name) and p.is_dir()) if root.is_dir() else []
    if not runs:
        raise ConfigError(f"no runs in {root} to resume; start one with `ganforge train`")
    return runs[-1]
