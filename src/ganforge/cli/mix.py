"""`ganforge mix`: a style-mixing grid from a style-based generator."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ganforge.console import info
from ganforge.errors import ConfigError
from ganforge.imaging import save_image


def _seeds(text: str, flag: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ConfigError(f"{flag} {text!r} must be comma-separated integers, e.g. 1,2,3") from None
    if not seeds:
        raise ConfigError(f"{flag} needs at least one seed, e.g. {flag} 1,2,3")
    return seeds


def mix(
    model: Annotated[str, typer.Argument(help="a run directory, a bundle folder or a checkpoint file")],
    rows: Annotated[
        str, typer.Option(help="seeds of the row parents (they keep the other layers)")
    ] = "1,2,3",
    cols: Annotated[
        str, typer.Option(help="seeds of the column parents (they give the chosen layers)")
    ] = "4,5,6",
    layers: Annotated[
        str, typer.Option(help="layer group(s) taken from the column seed: coarse, middle, fine, or a,b")
    ] = "coarse",
    truncation: Annotated[float | None, typer.Option(help="truncation psi, e.g. 0.7 (1: none)")] = None,
    out: Annotated[Path, typer.Option(help="grid image file")] = Path("mix.png"),
    scale: Annotated[int, typer.Option(help="upscale the saved image by this integer factor")] = 1,
    device: Annotated[str, typer.Option(help="cpu, cuda, mps")] = "cpu",
) -> None:
    """Write a style-mixing grid (StyleGAN, Karras et al. 2019): each cell is its row seed's image
    with one layer group's styles from its column seed.

    Examples:

      ganforge mix runs/00002-stylegan-emoji64 --rows 1,2,3 --cols 4,5,6 --layers coarse --out coarse.png

      ganforge mix runs/00002-stylegan-emoji64/bundle --rows 1,2 --cols 7,8 --layers fine --truncation 0.7
    """
    from ganforge.pipelines import load_generator
    from ganforge.pipelines.mix import StyleMixPipeline

    if scale < 1:
        raise ConfigError("--scale must be at least 1")
    row_seeds, col_seeds = _seeds(rows, "--rows"), _seeds(cols, "--cols")
    loaded = load_generator(model, device, verb="mix")
    result = StyleMixPipeline(loaded.G, device)(row_seeds, col_seeds, layers, truncation_psi=truncation)
    save_image(result.grid, out, nrow=result.nrow, scale=scale)
    info(f"wrote a {len(row_seeds)}x{len(col_seeds)} style-mixing grid ({layers} layers) to {out}")
