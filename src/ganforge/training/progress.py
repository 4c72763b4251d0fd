"""The training progress display: step, images/s, losses, ETA. A bar on a terminal, lines elsewhere."""

from __future__ import annotations

import time

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Column

from ganforge.console import console, info


class TrainProgress:
    def __init__(self, total: int, start: int, batch_images: int, bar: bool, every: int, quiet: bool = False):
        self.total, self.batch_images, self.every, self.quiet = total, batch_images, every, quiet
        self.bar: Progress | None = None
        self._last_step, self._last_time = start, time.perf_counter()
        self.images_per_second = 0.0
        if bar and not quiet:
            digits = len(str(total))

            def fixed(width: int) -> Column:  # never squeezed: the step count and ETA stay readable
                return Column(no_wrap=True, min_width=width)

            self.bar = Progress(
                TextColumn("[bold]train", table_column=fixed(5)),
                MofNCompleteColumn(table_column=fixed(2 * digits + 1)),
                BarColumn(bar_width=12, table_column=fixed(12)),
                TimeRemainingColumn(table_column=fixed(7)),
                TextColumn("{task.fields[ips]:>6.0f} img/s", table_column=fixed(12)),
                # the losses take what is left of the line and are cut with "…" on a narrow terminal
                TextColumn(
                    "{task.fields[losses]}", table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1)
                ),
                console=console,
                transient=False,
                expand=True,
            )
            self.task = self.bar.add_task("train", total=total, completed=start, ips=0.0, losses="")
            self.bar.start()

    def update(self, step: int, losses: dict[str, float] | None = None) -> None:
        now = time.perf_counter()
        if step - self._last_step >= 10 or losses is not None:
            elapsed = now - self._last_time
            if elapsed > 0 and step > self._last_step:
                self.images_per_second = (step - self._last_step) * self.batch_images / elapsed
            self._last_step, self._last_time = step, now
        text = "  ".join(f"{k} {v:.3f}" for k, v in (losses or {}).items())
        if self.bar is not None:
            fields = {"ips": self.images_per_second}
            if losses is not None:
                fields["losses"] = text
            self.bar.update(self.task, completed=step, **fields)
        elif not self.quiet and losses is not None and (step % self.every == 0 or step == self.total):
            info(f"step {step}/{self.total}  {self.images_per_second:.1f} img/s  {text}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
