"""`ganforge translate`: run a pix2pix or CycleGAN bundle over image files and folders."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ganforge.cli.options import Precision
from ganforge.console import info, progress_enabled, warn
from ganforge.errors import ConfigError, DataError


def _mask_box(text: str) -> tuple[int, int, int, int]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4:
        raise ConfigError(f"--mask-box {text!r} must be four integers x,y,w,h, e.g. --mask-box 10,10,24,16")
    return values  # type: ignore[return-value]


def plan_outputs(inputs: list[Path], out: Path, suffix: str, overwrite: bool) -> list[tuple[Path, Path]]:
    """(input file, output file) for every image under `inputs`: a file goes to out/<stem><suffix>,
    a folder's images to out/<folder name>/<relative path>. Raises before anything is written when
    two inputs would share an output, when an output is an input, or (without `overwrite`) exists."""
    from ganforge.data.folder import find_images
    from ganforge.data.images import IMAGE_EXTENSIONS

    plan: list[tuple[Path, Path]] = []
    for item in inputs:
        if not item.exists():
            raise ConfigError(f"input {item} does not exist; pass image files or folders of images")
        if item.is_dir():
            files = find_images(item)
            if not files:
                raise ConfigError(f"input folder {item} holds no images ({' '.join(IMAGE_EXTENSIONS)})")
            name = item.resolve().name
            plan += [(f, (out / name / f.relative_to(item)).with_suffix(suffix)) for f in files]
        else:
            if not item.name.lower().endswith(IMAGE_EXTENSIONS):
                raise ConfigError(f"input {item} is not an image file ({' '.join(IMAGE_EXTENSIONS)})")
            plan.append((item, (out / item.name).with_suffix(suffix)))
    sources = {src.resolve() for src, _ in plan}
    seen: dict[Path, Path] = {}
    for src, dst in plan:
        key = dst.resolve()
        if key in sources:
            raise ConfigError(f"writing {dst} would overwrite the input {src}; choose another --out folder")
        if key in seen:
            raise ConfigError(f"{seen[key]} and {src} would both be written to {dst}; translate them apart")
        if dst.exists() and not overwrite:
            raise ConfigError(f"{dst} already exists; pass --overwrite or choose another --out folder")
        seen[key] = src
    return plan


def translate(
    bundle: Annotated[str, typer.Argument(help="a pix2pix or CycleGAN bundle folder, or its run directory")],
    inputs: Annotated[list[Path], typer.Argument(help="image files and/or folders of images")],
    out: Annotated[Path, typer.Option(help="output folder")] = Path("translated"),
    direction: Annotated[str, typer.Option(help="CycleGAN: AtoB or BtoA")] = "AtoB",
    mask: Annotated[
        Path | None, typer.Option(help="inpainting: mask image, white = hole (same size as each input)")
    ] = None,
    mask_box: Annotated[
        str | None, typer.Option("--mask-box", help="inpainting: hole box x,y,w,h in pixels")
    ] = None,
    tile: Annotated[int, typer.Option(help="tile side in pixels; larger images are tiled")] = 512,
    overlap: Annotated[
        int | None, typer.Option(help="pixels shared by neighbouring tiles [default: tile/4, at most 64]")
    ] = None,
    ext: Annotated[str, typer.Option(help="output format: png, webp, jpg, ...")] = "png",
    overwrite: Annotated[bool, typer.Option("--overwrite", help="replace existing output files")] = False,
    device: Annotated[str, typer.Option(help="cpu, cuda, mps")] = "cpu",
    precision: Precision = "fp32",
    progress: Annotated[bool | None, typer.Option("--progress/--no-progress", help="progress bar")] = None,
) -> None:
    """Translate images with a trained pix2pix or CycleGAN model, any size and aspect.

    Large images are processed in overlapping tiles, blended, so memory stays bounded.
    Alpha channels are kept; a color photo given to a colorize model is read as its luminance.

    Examples:

      ganforge translate runs/00003-pix2pix-colorize old_photos/ --out colored/

      ganforge translate runs/00004-pix2pix-edges2photo sketch.png --out photos/

      ganforge translate runs/00005-pix2pix-inpaint face.png --mask-box 20,30,16,12 --out filled/

      ganforge translate runs/00006-cyclegan-horse2zebra horse.jpg --direction BtoA --out zebras/
    """
    from ganforge.pipelines.translate import TranslatePipeline, read_mask, save_image_file

    if mask is not None and mask_box is not None:
        raise ConfigError("give --mask or --mask-box, not both")
    box = _mask_box(mask_box) if mask_box is not None else None
    suffix = "." + ext.lower().lstrip(".")
    if suffix not in (".png", ".webp", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"):
        raise ConfigError(f"--ext {ext!r}: use png, webp, jpg, bmp or tiff")
    pipeline = TranslatePipeline.from_bundle(
        bundle, direction, device, tile=tile, overlap=overlap, precision=precision
    )
    if pipeline.task != "inpaint" and (mask is not None or box is not None):
        raise ConfigError("--mask and --mask-box only apply to inpainting models")
    if pipeline.task == "inpaint" and mask is None and box is None:
        raise ConfigError(
            "this is an inpainting model: give --mask MASK.png (white = hole) or --mask-box x,y,w,h"
        )
    fixed_mask = read_mask(mask) if mask is not None else None
    plan = plan_outputs(inputs, out, suffix, overwrite)
    show = progress_enabled() if progress is None else progress
    skipped = 0
    from ganforge.cli.progress import file_progress

    with file_progress(show, len(plan), "translating") as bar:
        pipeline.progress = bar.tiles  # a second row: the tiles of the image in hand
        for src, dst in plan:
            try:
                result = pipeline.translate_file(src, mask=fixed_mask, mask_box=box)
            except DataError as err:  # an unreadable file: say so, go on with the others
                warn(str(err))
                skipped += 1
            else:
                save_image_file(result, dst)
            bar.advance(None)
    note = f"; skipped {skipped} unreadable file(s)" if skipped else ""
    info(f"translated {len(plan) - skipped} image(s) into {out}/{note}")
    if skipped:
        raise typer.Exit(1)
