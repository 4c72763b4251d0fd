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


# --class of sample and interpolate: a class's index or its name (the data's class names, kept in the
# bundle: `--class 7` for a digit, `--class flag` for an emoji group)
ClassOption = Annotated[
    str | None, typer.Option("--class", help="class to draw (conditional models): its index or its name")
]


def class_index(value: str | None, class_names: list[str] | None) -> int | None:
    """The index that `--class VALUE` names: a number as given (the model checks its range), or the
    position of a class name of the model's data."""
    from ganforge.errors import ConfigError

    if value is None:
        return None
    if value.strip().lstrip("-").isdigit():
        return int(value)
    if class_names and value in class_names:
        return class_names.index(value)
    known = f"one of {', '.join(class_names)} or 0..{len(class_names) - 1}" if class_names else "a number"
    raise ConfigError(f"--class {value!r} is not a class of this model; use {known}")
