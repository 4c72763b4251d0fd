"""`ganforge sample` and `ganforge interpolate`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ganforge.cli.options import ClassOption, Precision, class_index
from ganforge.console import info
from ganforge.errors import ConfigError
from ganforge.imaging import make_grid, save_image, to_pil

Model = Annotated[str, typer.Argument(help="a run directory, a bundle folder or a checkpoint file")]


def sample(
    model: Model,
    n: Annotated[int, typer.Option(help="how many images")] = 64,
    seed: Annotated[int, typer.Option(help="same seed, same images")] = 0,
    out: Annotated[Path, typer.Option(help="grid image file, or a folder with --separate")] = Path(
        "samples.png"
    ),
    separate: Annotated[
        bool, typer.Option("--separate", help="one file per image into the --out folder")
    ] = False,
    class_: ClassOption = None,
    nrow: Annotated[int | None, typer.Option(help="images per grid row")] = None,
    scale: Annotated[int, typer.Option(help="upscale the saved image by this integer factor")] = 1,
    truncation: Annotated[
        float | None,
        typer.Option(help="truncation psi (style-based models): 1 none, 0.7 typical, 0 the average image"),
    ] = None,
    device: Annotated[str, typer.Option(help="cpu, cuda, mps")] = "cpu",
    precision: Precision = "fp32",
) -> None:
    """Draw images from a trained generator.

    Examples:

      ganforge sample runs/00000-dcgan-mnist --n 64 --seed 0 --out grid.png

      ganforge sample runs/00001-cdcgan-mnist --class 7 --n 16 --out sevens.png

      ganforge sample runs/00003-fastgan-emoji64-groups --class flag --n 16 --out flags.png

      ganforge sample runs/00000-dcgan-mnist/bundle --n 10 --separate --out digits/

      ganforge sample runs/00002-stylegan-emoji64 --truncation 0.7 --out emoji.png

      ganforge sample runs/00000-dcgan-mnist --n 10000 --separate --out many/ --precision bf16
    """
    from ganforge.pipelines import GeneratePipeline, load_generator

    if scale < 1:
        raise ConfigError("--scale must be at least 1")
    loaded = load_generator(model, device, verb="sample")
    result = GeneratePipeline(loaded.G, device, precision)(
        n, seed=seed, class_index=class_index(class_, loaded.class_names), truncation_psi=truncation
    )
    if separate:
        out.mkdir(parents=True, exist_ok=True)
        for i, image in enumerate(result.images):
            save_image(image[None], out / f"seed{seed}-{i:04d}.png", scale=scale)
        info(f"wrote {n} images to {out}/")
    else:
        save_image(result.images, out, nrow=nrow, scale=scale)
        info(f"wrote a grid of {n} images to {out}")


def interpolate(
    model: Model,
    seeds: Annotated[str, typer.Option(help="comma-separated seeds to pass through, e.g. 1,2,3")] = "0,1,2,3",
    frames: Annotated[int, typer.Option(help="frames from one seed to the next")] = 8,
    out: Annotated[Path, typer.Option(help=".gif for an animation, .png for a strip")] = Path("walk.gif"),
    class_: ClassOption = None,
    loop: Annotated[bool, typer.Option("--loop", help="return to the first seed at the end")] = False,
    fps: Annotated[int, typer.Option(help="frames per second of the GIF")] = 12,
    scale: Annotated[int, typer.Option(help="upscale frames by this integer factor")] = 2,
    truncation: Annotated[
        float | None,
        typer.Option(help="truncation psi (style-based models): 1 none, 0.7 typical, 0 the average image"),
    ] = None,
    device: Annotated[str, typer.Option(help="cpu, cuda, mps")] = "cpu",
) -> None:
    """Walk through latent space from seed to seed (spherical interpolation; linear in W for
    style-based models).

    Examples:

      ganforge interpolate runs/00000-dcgan-mnist --seeds 1,2,3 --out walk.gif

      ganforge interpolate runs/00000-dcgan-mnist --seeds 4,9 --frames 10 --out strip.png

      ganforge interpolate runs/00002-stylegan-emoji64 --seeds 1,2,3 --truncation 0.7 --out walk.gif
    """
    from PIL import Image

    from ganforge.pipelines import InterpolatePipeline, load_generator

    try:
        seed_list = [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError:
        raise ConfigError(f"--seeds {seeds!r} must be comma-separated integers, e.g. 1,2,3") from None
    if out.suffix.lower() not in (".gif", ".png"):
        raise ConfigError(f"--out {out}: use a .gif (animation) or .png (strip) file name")
    if fps < 1 or scale < 1:
        raise ConfigError("--fps and --scale must be at least 1")
    loaded = load_generator(model, device, verb="interpolate")
    chosen = class_index(class_, loaded.class_names)
    result = InterpolatePipeline(loaded.G, device)(
        seed_list, frames, class_index=chosen, loop=loop, truncation_psi=truncation
    )
    if out.suffix.lower() == ".png":
        save_image(result.frames, out, nrow=result.frames.shape[0], scale=scale)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        images = [to_pil(make_grid(f[None], padding=0)) for f in result.frames]
        images = [im.resize((im.width * scale, im.height * scale), Image.NEAREST) for im in images]
        images[0].save(out, save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0)
    info(f"wrote {result.frames.shape[0]} frames to {out}")
