"""`ganforge data ...`, `ganforge models list`, `ganforge presets list`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ganforge.console import console, info

data_app = typer.Typer(help="Built-in datasets and previews.", no_args_is_help=True)
models_app = typer.Typer(help="Registered recipes and models.", no_args_is_help=True)
presets_app = typer.Typer(help="Named training configs.", no_args_is_help=True)


def _print(table: Table) -> None:
    from rich.console import Console

    Console(width=max(console.width, 120)).print(table)


@data_app.command("list")
def data_list() -> None:
    """Every built-in dataset, where it comes from and whether it is available here.

    Example:

      ganforge data list
    """
    from ganforge.data import list_datasets

    table = Table("name", "available", "description", "origin / how to get it")
    for row in list_datasets():
        table.add_row(
            row.name,
            "yes" if row.available else "no",
            row.description,
            row.origin if row.available else row.hint,
        )
    _print(table)


@data_app.command("show")
def data_show(
    name: Annotated[str, typer.Argument(help="built-in dataset name or a folder of images")],
    out: Annotated[Path, typer.Option(help="preview image to write")] = Path("preview.png"),
    n: Annotated[int, typer.Option(help="how many images")] = 64,
    size: Annotated[int | None, typer.Option(help="resize to this size first")] = None,
) -> None:
    """Write a grid of a dataset's first images.

    Example:

      ganforge data show fashion-mnist --out fashion.png
    """
    from ganforge.data import preview

    path = preview(name, out, n=n, size=size)
    info(f"wrote {path}")


@models_app.command("list")
def models_list() -> None:
    """Recipes (what `--model` takes) and the registered networks.

    Example:

      ganforge models list
    """
    from ganforge.registry import MODELS, RECIPES, load_all

    load_all()
    table = Table("recipe", "description", "its bundles")
    for entry in RECIPES:
        caps = getattr(entry.obj, "capabilities", None)  # declared once by the recipe
        use = f"{caps.task}: ganforge {caps.verb}" if caps is not None else ""
        table.add_row(entry.name, entry.meta.get("description", ""), use)
    _print(table)
    table = Table("network", "class")
    for entry in MODELS:
        table.add_row(entry.name, entry.obj.__name__)
    _print(table)


@presets_app.command("list")
def presets_list() -> None:
    """Named configs for `ganforge train --preset NAME`.

    Example:

      ganforge presets list
    """
    from ganforge.registry import PRESETS, load_all

    load_all()
    table = Table("preset", "description")
    for entry in PRESETS:
        table.add_row(entry.name, entry.meta.get("description", ""))
    _print(table)
