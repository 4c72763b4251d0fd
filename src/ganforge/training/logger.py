"""Scalars to `log.jsonl` (one JSON object per logging step) and to TensorBoard."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from ganforge.console import warn


class RunLogger:
    def __init__(self, run_dir: Path, tensorboard: bool = True):
        self.path = run_dir / "log.jsonl"
        self.file = open(self.path, "a", buffering=1)  # line-buffered: a crash loses at most one line
        self.writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(run_dir / "tensorboard"))
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
