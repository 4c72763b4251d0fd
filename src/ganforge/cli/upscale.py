"""`ganforge upscale`: super-resolution of image files with a trained SRResNet/SRGAN."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from ganforge.cli.options import Precision
from ganforge.console import info, progress_enabled, warn
from ganforge.errors import ConfigError, DataError
from ganforge.fileio import atomic_path

MAX_INPUT_PIXELS = 8000 * 8000  # the decompression-bomb guard of ganforge.data.images


def collect_inputs(inputs: list[Path]) -> list[Path]:
    """Image files named directly, plus the images found (recursively) in named folders."""
    from ganforge.data.folder import find_images

    files: list[Path] = []
    for path in inputs:
        if path.is_dir():
            found = find_images(path)
            if not found:
                warn(f"no images in folder {path}")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise DataError(f"input {path} does not exist; give image files or folders of images")
    if not files:
        raise DataError("no input images to upscale")
    return files


def output_paths(files: list[Path], out: Path, overwrite: bool) -> list[Path]:
    """`out/<name>.png` for each input; refuses name clashes, inputs as outputs, and (without
    --overwrite) existing files, all before anything is written."""
    targets = [out / f"{path.stem}.png" for path in files]
    seen: dict[Path, Path] = {}
    for source, target in zip(files, targets, strict=True):
        if target in seen:
            raise ConfigError(
                f"{seen[target]} and {source} would both be written to {target}; "
                "upscale them into different --out folders"
            )
        seen[target] = source
    inputs = {p.resolve() for p in files}
    for target in targets:
        if target.resolve() in inputs:
            raise ConfigError(
                f"{target} is an input; choose another --out folder (inputs are never overwritten)"
            )
        if target.exists() and not overwrite:
            raise ConfigError(
                f"{target} exists; pass --overwrite to replace it, or choose another --out folder"
            )
    return targets


def open_input(path: Path) -> Any:
    """Decode one file fully, upright (EXIF orientation), keeping its mode (alpha, gray, 16 bit)."""
    from PIL import Image, ImageOps

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as image:
                if image.width * image.height > MAX_INPUT_PIXELS:
                    raise DataError(
                        f"{path} has {image.width}x{image.height} pixels, over the {MAX_INPUT_PIXELS:,} limit"
                    )
                image.load()
                return ImageOps.exif_transpose(image)
        except DataError:
            raise
        except Exception as err:  # noqa: BLE001 - Pillow raises many types on malformed files
            first = " ".join(str(err).split())[:160] or type(err).__name__
            raise DataError(f"cannot read {path} as an image ({first})") from None


def save_atomic(image: Any, path: Path) -> None:
    """Write a PNG through a temp file in the same folder, so `path` is never left half-written."""
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")


@contextmanager
def _bar(enabled: bool, total: int, description: str) -> Iterator[Any]:
    """A rich progress bar on stderr; yields `advance(count, label=None)`. A no-op when not `enabled`."""
    if not enabled:
        yield lambda count, label=None: None
        return
    from rich.progress import MofNCompleteColumn, Progress, TimeRemainingColumn

    from ganforge.console import console

    columns = (*Progress.get_default_columns()[:-1], MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(description, total=total)

        def advance(count: int, label: str | None = None) -> None:
            progress.update(task, advance=count, description=label or description)

        yield advance


def upscale(
    model: Annotated[str, typer.Argument(help="an srgan bundle folder, run directory or checkpoint")],
    inputs: Annotated[list[Path], typer.Argument(help="image files and/or folders of images")],
    out: Annotated[Path, typer.Option(help="folder for the upscaled PNGs (created if missing)")],
    tile: Annotated[int, typer.Option(help="tile side in input pixels; bounds memory")] = 128,
    overlap: Annotated[int, typer.Option(help="input pixels shared by neighbouring tiles")] = 32,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="replace existing output files")] = False,
    device: Annotated[str, typer.Option(help="cpu, cuda, mps")] = "cpu",
    precision: Precision = "fp32",
    progress: Annotated[bool | None, typer.Option("--progress/--no-progress", help="progress bar")] = None,
) -> None:
    """Make images 2x or 4x larger with a trained SRResNet/SRGAN, tile by tile (any size).

    Each INPUT file becomes OUT/<name>.png; alpha is kept (upscaled bicubic), gray stays gray.

    Examples:

      ganforge upscale runs/00004-srgan-x4 small.png --out big/

      ganforge upscale runs/00004-srgan-x4/bundle ./thumbnails --out ./large --tile 256
    """
    from ganforge.pipelines.upscale import UpscalePipeline

    files = collect_inputs(inputs)
    targets = output_paths(files, out, overwrite)
    pipe = UpscalePipeline.from_bundle(model, device, tile, overlap, precision)
    out.mkdir(parents=True, exist_ok=True)
    show = progress_enabled() if progress is None else progress
    written, skipped = 0, []
    from ganforge.cli.progress import file_progress

    with file_progress(show, len(files), "upscaling") as bar:
        pipe.progress = bar.tiles  # a second row: the tiles of the image in hand
        for source, target in zip(files, targets, strict=True):
            try:
                image = open_input(source)
            except DataError as err:
                warn(f"skipping {source}: {err}")
                skipped.append(source)
                bar.advance(f"skipped {source.name}")
                continue
            save_atomic(pipe(image), target)
            written += 1
            bar.advance(f"upscaled {source.name}")
    if not written:
        raise DataError(f"none of the {len(files)} inputs could be read; nothing was written")
    info(
        f"wrote {written} image(s) upscaled x{pipe.scale} to {out}/"
        + (f" ({len(skipped)} skipped)" if skipped else "")
    )


def evaluate_task(
    model: str,
    data: str | None = None,
    size: int | None = None,
    n: int | None = None,
    batch_size: int = 16,
    device: str = "cpu",
    out: Path | None = None,
    progress: bool | None = None,
) -> Path | None:
    """`ganforge eval --task sr`: PSNR-Y, PSNR-RGB, SSIM-Y and SSIM-RGB of an srgan model and of
    bicubic on HR images: the run's held-out images by default, or `data` (a folder or built-in)
    at `size` (default: the run's). Prints a table; merges the figures into `out` (metrics.json)."""
    from ganforge.metrics.sr_eval import evaluate_sr
    from ganforge.metrics.store import update_metrics_json
    from ganforge.pipelines.evaluate import sr_eval_images
    from ganforge.pipelines.upscale import UpscalePipeline

    pipe = UpscalePipeline.from_bundle(model, device)
    cfg = pipe.config
    images, source = sr_eval_images(pipe, data, size, n)
    show = progress_enabled() if progress is None else progress
    name = f"srgan {cfg.model.stage} stage"
    with _bar(show, images.shape[0], "evaluating") as advance:
        result = evaluate_sr(
            pipe.upscale_batch, images, pipe.scale, batch_size=batch_size, model_name=name, progress=advance
        )
    typer.echo(result.table())
    info(
        f"{result.images} HR images of {source} at {result.hr_size[0]}x{result.hr_size[1]}, "
        "LR inputs by antialiased bicubic downscaling"
    )
    if out is None:
        return None
    record = {
        "task": "sr",
        "source": source,
        "model": str(model),
        **result.to_dict(),
        "results": result.metrics(),
    }
    update_metrics_json(out, pipe.step, result.metrics(), record)
    info(f"wrote {out}")
    return out
