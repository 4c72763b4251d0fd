"""`ganforge train`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from ganforge.config import RunConfig, apply_overrides
from ganforge.console import info
from ganforge.errors import ConfigError
from ganforge.presets import DEFAULT_PRESET, get_preset
from ganforge.training.rundir import latest_run_dir


def build_config(
    preset: str | None,
    config: Path | None,
    data: str | None,
    model: str | None,
    size: int | None,
    steps: int | None,
    batch_size: int | None,
    fit: str | None,
    conditional: bool | None,
    seed: int | None,
    device: str | None,
    name: str | None,
    overrides: list[str],
) -> RunConfig:
    """Resolve a run config: preset or file, then --model, then the flags, then --set."""
    if preset and config:
        raise ConfigError("give either --preset or --config, not both")
    cfg = RunConfig.load(config) if config else get_preset(preset or DEFAULT_PRESET)
    if model and model != cfg.recipe:
        cfg = cfg.with_recipe(model)
        cfg.name = model
    if data is not None:
        cfg.data.source = data
        cfg.data.channels = None
        if not preset and not config:  # a user's own data: name the run after it
            cfg.name = f"{cfg.recipe}-{Path(data).name or 'data'}"
    flags = {
        "data.size": size,
        "train.steps": steps,
        "train.batch_size": batch_size,
        "data.fit": fit,
        "model.conditional": conditional,
        "train.seed": seed,
        "train.device": device,
        "name": name,
    }
    sets = [f"{k}={json.dumps(v)}" for k, v in flags.items() if v is not None]
    return apply_overrides(cfg, sets + list(overrides))


def train(
    preset: Annotated[str | None, typer.Option(help="named config; see `ganforge presets list`")] = None,
    config: Annotated[Path | None, typer.Option(help="a config.json to start from")] = None,
    data: Annotated[str | None, typer.Option(help="built-in dataset name or a folder of images")] = None,
    model: Annotated[str | None, typer.Option(help="recipe: gan, dcgan (see `ganforge models list`)")] = None,
    size: Annotated[int | None, typer.Option(help="image size in pixels (square)")] = None,
    steps: Annotated[
        int | None, typer.Option(help="total training steps; with --resume, the new total")
    ] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="images per step")] = None,
    fit: Annotated[str | None, typer.Option(help="non-square images: crop or pad")] = None,
    conditional: Annotated[
        bool | None,
        typer.Option("--conditional/--unconditional", help="class-conditional model (needs labels)"),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="seed for weights, noise and data order")] = None,
    device: Annotated[str | None, typer.Option(help="auto, cpu, cuda, cuda:1, mps")] = None,
    name: Annotated[str | None, typer.Option(help="run name used in the run directory")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="override any config key: --set train.lr=1e-4")
    ] = None,
    resume: Annotated[str | None, typer.Option(help="continue a run: its directory, or 'last'")] = None,
    runs_dir: Annotated[Path, typer.Option("--runs-dir", help="where new run directories go")] = Path("runs"),
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="print the resolved config as JSON and exit")
    ] = False,
    progress: Annotated[bool | None, typer.Option("--progress/--no-progress", help="progress bar")] = None,
) -> None:
    """Train a GAN. With no options: DCGAN on the offline mnist-5k digits.

    Examples:

      ganforge train                                   # dcgan-mnist, ~4 min on 2 CPU cores

      ganforge train --preset cdcgan-mnist             # choose the digit later with --class

      ganforge train --data ./my_images --model dcgan --size 64

      ganforge train --resume runs/00003-dcgan-mnist --steps 3000

      ganforge train --preset gan-mnist --set model.loss=hinge --dry-run
    """
    from ganforge.training.trainer import Trainer

    if resume:
        given = [preset, config, data, model, size, batch_size, fit, conditional, seed, name] + list(
            set_ or []
        )
        if any(v is not None for v in given):
            raise ConfigError(
                "--resume continues a run with its saved config; only --steps and --device may change"
            )
        run_dir = latest_run_dir(runs_dir) if resume == "last" else Path(resume)
        if not (run_dir / "config.json").is_file():
            raise ConfigError(f"{run_dir} is not a ganforge run directory (no config.json)")
        cfg = RunConfig.load(run_dir / "config.json")
        cfg = apply_overrides(
            cfg,
            [f"train.steps={steps}"] * (steps is not None)
            + [f"train.device={device}"] * (device is not None),
        )
        if dry_run:
            typer.echo(json.dumps(cfg.to_dict(), indent=2))
            return
        trainer = Trainer(cfg, run_dir, progress=progress)
    else:
        cfg = build_config(
            preset,
            config,
            data,
            model,
            size,
            steps,
            batch_size,
            fit,
            conditional,
            seed,
            device,
            name,
            list(set_ or []),
        )
        if dry_run:
            typer.echo(json.dumps(cfg.to_dict(), indent=2))
            return
        trainer = Trainer.new_run(cfg, runs_dir, progress=progress)
    info(f"run directory: {trainer.run_dir}")
    result = trainer.fit()
    if result.interrupted:
        info(
            f"interrupted at step {result.step}; checkpoint saved. Continue with: "
            f"ganforge train --resume {result.run_dir}"
        )
        sys.exit(130)
    info(f"done: step {result.step}; samples in {result.run_dir / 'samples'}, bundle in {result.bundle_dir}")
