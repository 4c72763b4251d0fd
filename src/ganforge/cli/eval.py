"""`ganforge eval`: FID/KID/precision-recall/IS of a generator, or between two image sets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ganforge.capabilities import WrongModelError
from ganforge.console import info, warn
from ganforge.errors import ConfigError, DataError

FEATURES_HELP = "auto (inception if its weights are cached or download, else effnet-lite0), " + (
    "inception, effnet-lite0, digits-lenet, fashion-lenet"
)


def eval_(
    model: Annotated[
        str | None,
        typer.Argument(help="run directory, bundle folder or checkpoint; omit it with --real/--fake"),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option(help="reference images: built-in dataset or folder (default: the run's data)"),
    ] = None,
    split: Annotated[
        str, typer.Option(help="reference split: all, or train/test for mnist-5k, mnist, fashion-mnist")
    ] = "all",
    metrics: Annotated[str, typer.Option(help="comma-separated: fid (or fd), kid, pr, is, acc")] = "fid,kid",
    features: Annotated[str, typer.Option(help=FEATURES_HELP)] = "auto",
    n: Annotated[
        int | None, typer.Option(help="generated images (default 10000); with --fake, a cap on each set")
    ] = None,
    n_real: Annotated[
        int | None, typer.Option("--n-real", help="reference images (default: as many as --n)")
    ] = None,
    real: Annotated[
        str | None, typer.Option(help="reference set for --fake: a folder or a built-in dataset")
    ] = None,
    fake: Annotated[str | None, typer.Option(help="a folder of images to evaluate (no model needed)")] = None,
    size: Annotated[
        int | None, typer.Option(help="with --fake: load both sets at this size (default: the fakes')")
    ] = None,
    weights: Annotated[str | None, typer.Option(help="a local copy of the extractor's weights")] = None,
    seed: Annotated[int, typer.Option(help="seed of the latents and of the reference subset")] = 0,
    class_index: Annotated[
        int | None, typer.Option("--class", help="only this class (conditional models)")
    ] = None,
    kid_subsets: Annotated[int, typer.Option("--kid-subsets", help="KID: random subsets averaged")] = 100,
    kid_subset_size: Annotated[
        int | None,
        typer.Option("--kid-subset-size", help="KID: images per subset (default: half the images)"),
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="images per forward pass")] = 64,
    device: Annotated[str, typer.Option(help="cpu, cuda, mps")] = "cpu",
    out: Annotated[
        Path | None, typer.Option(help="metrics.json to write (default: in the run or bundle folder)")
    ] = None,
    progress: Annotated[bool | None, typer.Option("--progress/--no-progress", help="progress bars")] = None,
    task: Annotated[
        str, typer.Option(help="gen: a generator (FID, KID, ...); sr: super-resolution (PSNR, SSIM)")
    ] = "gen",
) -> None:
    """Measure a generator against real images, or two image sets against each other.

    Prints a table and writes metrics.json with everything needed to reproduce each figure:
    extractor and weights sha256, sample counts and seeds, reference dataset and split, resize.
    Only figures on the standard Inception weights are called FID/KID/IS; effnet-lite0 gives
    FD-EffNetLite0 and works offline; digits-lenet/fashion-lenet are trained here once and cached.

    Examples:

      ganforge eval runs/00000-dcgan-mnist --features digits-lenet --metrics fid,kid,pr

      ganforge eval runs/00000-dcgan-mnist --data mnist-5k --split test --features effnet-lite0 --n 1000

      ganforge eval runs/00001-cdcgan-mnist --features digits-lenet --metrics fid,acc

      ganforge eval --real mnist-5k --fake ./digits --features digits-lenet --out digits-metrics.json

      ganforge eval runs/00003-dcgan-cifar10 --features inception --metrics fid,kid,is --n 50000

      ganforge eval runs/00004-srgan-x4 --task sr             # PSNR/SSIM vs bicubic on held-out images
    """
    from ganforge.metrics.names import parse_metrics
    from ganforge.metrics.store import read_metrics_json

    parse_metrics(metrics)  # bad input fails before anything loads or downloads
    for flag, value in (("--n", n), ("--n-real", n_real), ("--batch-size", batch_size)):
        if value is not None and value < 1:
            raise ConfigError(f"{flag} {value} must be at least 1")
    if task not in ("gen", "sr"):
        raise ConfigError(f"--task {task!r} is unknown; use gen (generators) or sr (super-resolution)")
    if task == "sr":
        _eval_sr(model, data, size, n, batch_size, device, out, progress)
        return
    if kid_subsets < 1 or (kid_subset_size is not None and kid_subset_size < 2):
        raise ConfigError("--kid-subsets must be at least 1 and --kid-subset-size at least 2")
    common = dict(
        split=split,
        metrics=metrics,
        seed=seed,
        weights=weights,
        device=device,
        batch_size=batch_size,
        kid_subsets=kid_subsets,
        kid_subset_size=kid_subset_size,
        progress=progress,
    )
    target = out if fake is not None or model is None else out or default_out(model)
    if target is not None:
        read_metrics_json(target)  # a file there that is not ours: stop now, before any work
    if fake is not None:
        report, step = _eval_folders(model, real, fake, features, n, size, common)
    else:
        report, step = _eval_generator(model, data, real, features, n, n_real, class_index, common)
    _show_and_save(report, target, step)


def _eval_sr(
    model: str | None,
    data: str | None,
    size: int | None,
    n: int | None,
    batch_size: int,
    device: str,
    out: Path | None,
    progress: bool | None,
) -> None:
    """`--task sr`: PSNR/SSIM against bicubic on held-out HR images (ganforge.cli.upscale)."""
    from ganforge.cli.upscale import evaluate_task

    if model is None:
        raise ConfigError("--task sr needs an srgan run directory, bundle or checkpoint")
    _check_task(model, "sr")
    evaluate_task(model, data, size, n, batch_size, device, out or default_out(model), progress)


def _eval_folders(
    model: str | None,
    real: str | None,
    fake: str,
    features: str,
    n: int | None,
    size: int | None,
    common: dict[str, Any],
) -> tuple[Any, None]:
    """`--real X --fake FOLDER`: two image sets, no model."""
    from ganforge.metrics.evaluate import evaluate_folders

    if model is not None:
        raise ConfigError("give either a model or --fake FOLDER, not both")
    if real is None:
        raise ConfigError("--fake needs --real: a folder or built-in dataset to compare with")
    features = resolve_features(features, common["weights"])
    return evaluate_folders(real, fake, features=features, n=n, size=size, **common), None


def _eval_generator(
    model: str | None,
    data: str | None,
    real: str | None,
    features: str,
    n: int | None,
    n_real: int | None,
    class_index: int | None,
    common: dict[str, Any],
) -> tuple[Any, int]:
    """A run, bundle or checkpoint's generator against real images."""
    from ganforge.pipelines.evaluate import evaluate_generator

    if model is None:
        raise ConfigError("give a run, bundle or checkpoint to evaluate, or --real X --fake FOLDER")
    if real is not None and data is not None:
        raise ConfigError("--real and --data both name the reference; give one")
    _check_task(model, "gen")
    features = resolve_features(features, common["weights"])
    report = evaluate_generator(
        model,
        data=data or real,
        features=features,
        n=n or 10_000,
        n_real=n_real,
        class_index=class_index,
        **common,
    )
    return report, report.record["fake"]["step"]


def _show_and_save(report: Any, target: Path | None, step: int | None) -> None:
    """Print the table and what it was computed on; merge the record into `target` (metrics.json)."""
    from ganforge.metrics.store import update_metrics_json

    width = max(len(name) for name, _ in report.rows())
    for name, value in report.rows():
        typer.echo(f"{name:<{width}}  {value}")
    record = report.record
    ref, ex = record["reference"], record["extractor"]
    info(
        f"{record['fake']['images']} images vs {ref['images']} of {ref['dataset']}:{ref['split']} at "
        f"{ref['size']}px; {ex['name']} (sha256 {str(ex['weights_sha256'])[:12]}), "
        f"{record['fake_images_per_second']} images/s"
    )
    if target is None:
        info("add --out metrics.json to save the record")
        return
    update_metrics_json(target, step, record["results"], record)
    info(f"wrote {target}")
    _refresh_card(target)


def _check_task(model: str, task: str) -> None:
    """`eval` scores generators (--task gen) and super-resolution models (--task sr): refuse any other
    kind before anything loads, with the command that fits."""
    from ganforge.pipelines.loading import model_capabilities

    caps = model_capabilities(model)
    if caps is None:
        return
    kind = f"{model} is {caps.a_label} model"
    if task == "sr" and not caps.can("upscale"):
        fits = "drop --task sr" if caps.can("generate") else f"it runs with ganforge {caps.verb}"
        raise WrongModelError(f"{kind}, not a super-resolution one: {fits}", caps)
    if task == "gen" and caps.can("upscale"):
        raise WrongModelError(
            f"{kind}, not a generator: score it with ganforge eval {model} --task sr "
            "(PSNR/SSIM against bicubic)",
            caps,
        )
    if task == "gen":
        caps.require("eval", model)


def resolve_features(features: str, weights: str | None) -> str:
    """`auto`: the standard Inception when its weights are cached or can be downloaded, else effnet-lite0."""
    if features != "auto":
        return features
    if weights:  # a local weights file is the Inception's
        return "inception"
    from ganforge.metrics.features import get_extractor

    try:
        get_extractor("inception", weights)
        return "inception"
    except DataError as err:
        warn(f"{err}; using effnet-lite0 instead (reported as FD-EffNetLite0, not FID)")
        return "effnet-lite0"


def default_out(model: str) -> Path | None:
    """metrics.json beside the model: in the run directory, the bundle folder, or the checkpoint's run."""
    path = Path(model)
    if model.startswith("hf:") or not path.exists():
        return None
    if path.is_dir():
        return path / "metrics.json"
    if path.parent.name == "checkpoints":
        return path.parent.parent / "metrics.json"
    return path.parent / "metrics.json"


def _refresh_card(metrics_json: Path) -> None:
    """Rewrite the bundle's model card so it shows the new figures (only a bundle ganforge wrote)."""
    from ganforge.bundle import refresh_model_card

    for folder in (metrics_json.parent / "bundle", metrics_json.parent):
        if (folder / "model.json").is_file():
            refresh_model_card(folder)
            return
