"""A two-line progress bar for image-by-image commands (translate, upscale): files done, and the
tiles of the image in hand, which is what moves on a 12-megapixel photo."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class FileProgress:
    """`advance(label)` after each file; `tiles(done, total)` is a pipeline's `progress` callback."""

    advance: Callable[[str | None], None]
    tiles: Callable[[int, int], None] | None


@contextmanager
def file_progress(enabled: bool, total: int, description: str) -> Iterator[FileProgress]:
    """A rich progress bar on stderr with a files row and a tiles row; a no-op when not `enabled`."""
    if not enabled:
        yield FileProgress(lambda label=None: None, None)
        return
    from rich.progress import MofNCompleteColumn, Progress, TimeRemainingColumn

    from ganforge.console import console

    columns = (*Progress.get_default_columns()[:-1], MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        files = bar.add_task(description, total=total)
        tiles = bar.add_task("  tiles", total=None, visible=False)

        def advance(label: str | None = None) -> None:
            bar.update(files, advance=1, description=label or description)
            bar.update(tiles, visible=False)

        def on_tiles(done: int, count: int) -> None:
            if done == 0:
                bar.reset(tiles, total=count, visible=count > 1)
            else:
                bar.update(tiles, completed=done, total=count)

        yield FileProgress(advance, on_tiles)
