"""Scalars to `log.jsonl` (one JSON object per logging step) and to TensorBoard."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from ganforge.console import warn
from ganforge.fileio import atomic_path


class RunLogger:
    """Appends to a run's log. `resume_step`: the step training continues from; entries past it (the
    steps a resumed run redoes) are dropped from log.jsonl, and TensorBoard purges them, so that no
    step appears twice."""

    def __init__(self, run_dir: Path, tensorboard: bool = True, resume_step: int | None = None):
        self.path = run_dir / "log.jsonl"
        if resume_step is not None and self.path.is_file():
            truncate_log(self.path, resume_step)
        self.file = open(self.path, "a", buffering=1)  # line-buffered: a crash loses at most one line
        self.writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                # a new event file; TensorBoard hides the older files' events at or after purge_step
                purge = resume_step + 1 if resume_step is not None else None
                self.writer = SummaryWriter(str(run_dir / "tensorboard"), purge_step=purge)
            except Exception as err:  # tensorboard is optional at run time
                warn(f"TensorBoard logging is off ({err}); log.jsonl still has every scalar")

    def log(self, step: int, scalars: dict[str, float], **extra: Any) -> None:
        clean = {k: (v if math.isfinite(v) else str(v)) for k, v in scalars.items()}
        self.file.write(json.dumps({"step": step, "time": round(time.time(), 3), **clean, **extra}) + "\n")
        if self.writer is not None:
            for key, value in scalars.items():
                self.writer.add_scalar(key, value, step)

    def event(self, step: int, event: str, **fields: Any) -> None:
        self.file.write(
            json.dumps({"step": step, "time": round(time.time(), 3), "event": event, **fields}) + "\n"
        )

    def close(self) -> None:
        self.file.close()
        if self.writer is not None:
            self.writer.close()


def truncate_log(path: Path, step: int) -> int:
    """Rewrite log.jsonl (atomically) without its entries past `step` and without a line cut off by a
    kill mid-write; returns how many lines were dropped."""
    kept, dropped = [], 0
    for line in path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
            keep = int(entry.get("step", 0)) <= step
        except (ValueError, TypeError, AttributeError):
            keep = False
        if keep:
            kept.append(line + "\n")
        else:
            dropped += 1
    if dropped:
        with atomic_path(path) as tmp:
            Path(tmp).write_text("".join(kept))
    return dropped
