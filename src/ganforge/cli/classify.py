"""`ganforge classify`: name the class of image files with a semi-supervised GAN's classifier."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ganforge.console import info
from ganforge.errors import ConfigError


def classify(
    model: Annotated[str, typer.Argument(help="an sgan bundle folder, or a finished sgan run directory")],
    images: Annotated[list[Path], typer.Argument(help="image files, or folders searched recursively")],
    baseline: Annotated[
        bool, typer.Option("--baseline", help="use the supervised-only baseline (runs with --baseline)")
    ] = False,
    batch_size: Annotated[int, typer.Option("--batch-size", help="images per forward pass")] = 256,
    device: Annotated[str, typer.Option(help="cpu, cuda, mps")] = "cpu",
) -> None:
    """Print each image's class and its probability, one tab-separated line per image.

    Examples:

      ganforge classify runs/00004-sgan-mnist/bundle digit.png more_digits/

      ganforge classify runs/00004-sgan-mnist --baseline digit.png
    """
    from ganforge.pipelines.classify import ClassifyPipeline, image_files, load_classifier, read_images

    if batch_size < 1:
        raise ConfigError("--batch-size must be at least 1")
    loaded = load_classifier(model, device, baseline=baseline)
    files = image_files(images)
    batch, kept = read_images(files, loaded.size, loaded.channels, loaded.fit)
    result = ClassifyPipeline.from_loaded(loaded, device)(batch, batch_size=batch_size)
    for file, name, p in zip(kept, result.names(), result.confidence.tolist(), strict=True):
        typer.echo(f"{file}\t{name}\t{p:.4f}")
    which = "baseline classifier" if baseline else "classifier"
    info(f"classified {len(kept)} images with the {which} {loaded.name} of {loaded.source}")
