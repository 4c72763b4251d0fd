"""Options that several verbs share."""

from __future__ import annotations

from typing import Annotated

import typer

Precision = Annotated[
    str, typer.Option(help="fp32 (same pixels everywhere), bf16 (~1.5-2x faster where native), auto")
]
