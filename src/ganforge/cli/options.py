"""Options that several verbs share."""

from __future__ import annotations

from typing import Annotated

import typer


def check_precision_option(value: str | None) -> str | None:
    """Refuse a bad --precision while parsing, before any model loads (the one precision check)."""
    from ganforge.config import check_precision

    return value if value is None else check_precision(value)


Precision = Annotated[
    str,
    typer.Option(
        help="fp32 (same pixels everywhere), bf16 (~1.5-2x faster where native), auto",
        callback=check_precision_option,
    ),
]
