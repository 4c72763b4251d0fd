"""`ganforge edit`: move an image along saved directions ("genes") and write a strip, a GIF or one image."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ganforge.console import info
from ganforge.errors import ConfigError


def edit(
    model: Annotated[str, typer.Argument(help="a run directory or a bundle folder (with saved directions)")],
    seed: Annotated[int, typer.Option(help="the image to edit: the seed of `ganforge sample --n 1`")] = 0,
    latent: Annotated[
        Path | None, typer.Option(help="edit a projected photo instead: the latent.npz of `ganforge project`")
    ] = None,
    direction: Annotated[str | None, typer.Option(help="a strip along this direction, e.g. pca:0")] = None,
    range_: Annotated[
        str | None,
        typer.Option("--range", help="strengths at the strip's ends (default -3,3; class genes 0,1)"),
    ] = None,
    steps: Annotated[int, typer.Option(help="images in the strip")] = 7,
    apply: Annotated[
        str | None, typer.Option(help='gene values NAME=STRENGTH, e.g. "pca:0=2,class:7=0.6,thick=1.5"')
    ] = None,
    class_index: Annotated[
        int | None, typer.Option("--class", help="the image's class (conditional models)")
    ] = None,
    layers: Annotated[
        str | None, typer.Option(help="style-based models: apply edits to coarse, middle or fine layers only")
    ] = None,
    truncation: Annotated[float | None, typer.Option(help="truncation psi (style-based models)")] = None,
    out: Annotated[Path, typer.Option(help=".png (a strip or one image) or .gif (an animation)")] = Path(
        "edit.png"
    ),
    scale: Annotated[int, typer.Option(help="upscale the saved image by this integer factor")] = 2,
    fps: Annotated[int, typer.Option(help="frames per second of a GIF")] = 6,
    device: Annotated[str, typer.Option(help="cpu, cuda, mps")] = "cpu",
) -> None:
    """Edit an image with the model's directions (see `ganforge directions`). Strength 0 is the
    unedited image; strength 1 moves it by one standard deviation along the direction. With
    --direction, a strip of --steps images across --range (other --apply genes held fixed);
    otherwise one image with the --apply genes. Class genes (class:K, 0..1) mix the class input.

    Examples:

      ganforge edit runs/00000-dcgan-mnist --seed 3 --direction pca:0 --range -3,3 --steps 7 --out strip.png

      ganforge edit runs/00000-dcgan-mnist --seed 3 --direction thick --range -2,2 --out thick.gif

      ganforge edit runs/00001-cdcgan-mnist --seed 3 --class 1 --direction class:7 --range 0,1 --out morph.png

      ganforge edit runs/00001-cdcgan-mnist --seed 3 --apply "pca:0=2,class:7=0.6" --out one.png

      ganforge edit runs/00003-stylegan-emoji64 --seed 3 --direction pca:1 --layers coarse --out coarse.png

      ganforge edit runs/00000-dcgan-mnist --latent proj/latent.npz --apply pca:2=1.5 --out photo.png
    """
    from PIL import Image

    from ganforge.imaging import make_grid, save_image, to_pil
    from ganforge.pipelines.edit import load_edit_pipeline, parse_genes, parse_range

    suffix = out.suffix.lower()
    if suffix not in (".png", ".gif"):
        raise ConfigError(f"--out {out}: use a .png (strip or image) or .gif (animation) file name")
    if scale < 1 or fps < 1:
        raise ConfigError("--scale and --fps must be at least 1")
    if direction is None and apply is None:
        raise ConfigError('give --direction NAME for a strip, or --apply "NAME=STRENGTH,..." for one image')
    if direction is not None and not 2 <= steps <= 64:
        raise ConfigError(f"--steps {steps}: a strip has 2..64 images")
    genes = parse_genes(apply) if apply else {}
    pipe = load_edit_pipeline(model, device)
    if not pipe.available():
        raise ConfigError(
            f"{model} has no directions yet; find some with `ganforge directions {model} --method pca`"
        )
    base, space = None, None
    if latent is not None:
        from ganforge.pipelines.project import read_latent

        read = read_latent(latent)
        base, space = read.latent, read.space
        class_index = read.class_index if class_index is None else class_index
    common = dict(
        seed=seed, latent=base, space=space, class_index=class_index, layers=layers, truncation_psi=truncation
    )
    if direction is None:
        result = pipe(genes=genes, **common)
        save_image(result.images, out, scale=scale)
        info(f"wrote the edited image ({apply}) to {out}")
        return
    if direction in genes:
        raise ConfigError(f"{direction} is both the strip's --direction and in --apply; keep it in one")
    pipe.check_genes({direction: 0.0, **genes})  # an unknown name fails here, before the range
    is_class = pipe.directions[direction].space == "class"
    range_ = range_ or ("0,1" if is_class else "-3,3")
    lo, hi = parse_range(range_)
    if is_class and (lo < 0 or hi > 1):
        raise ConfigError(f"--range {range_}: class genes lie in 0..1; use --range 0,1")
    values = [lo + (hi - lo) * i / (steps - 1) for i in range(steps)]
    result = pipe.strip(direction, values, genes=genes, **common)
    if suffix == ".png":
        save_image(result.images, out, nrow=steps, scale=scale)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        frames = [to_pil(make_grid(f[None], padding=0)) for f in result.images]
        frames = [im.resize((im.width * scale, im.height * scale), Image.NEAREST) for im in frames]
        frames += frames[-2:0:-1]  # there and back again
        frames[0].save(out, save_all=True, append_images=frames[1:], duration=round(1000 / fps), loop=0)
    info(f"wrote {steps} images along {direction} from {lo:g} to {hi:g} to {out}")
