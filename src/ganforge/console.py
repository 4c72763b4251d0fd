"""The one place that prints to the user: rich console on stderr, plain one-line warnings."""

from __future__ import annotations

import sys

from rich.console import Console

console = Console(stderr=True, highlight=False)


def warn(message: str) -> None:
    """Print one warning line, e.g. naming a bad file that was skipped."""
    console.print(f"[yellow]warning:[/yellow] {message}", soft_wrap=True, markup=True, emoji=False)


def info(message: str) -> None:
    console.print(message, soft_wrap=True, markup=False, emoji=False)


def progress_enabled() -> bool:
    """Progress bars only where a person is watching."""
    return sys.stderr.isatty()
