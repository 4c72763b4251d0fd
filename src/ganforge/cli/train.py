"""`ganforge train`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ganforge.cli.options import check_precision_option
from ganforge.config import RunConfig, apply_overrides, learning_rate_keys
from ganforge.console import info
from ganforge.data.splits import has_split
from ganforge.errors import ConfigError
from ganforge.presets import DEFAULT_PRESET, get_preset
from ganforge.training.rundir import latest_run_dir

# Flags that set one config key each: (flag, config key). Family flags (model.*) only apply to the
# recipes whose config has that key; anything else is reachable with --set.
FLAG_KEYS = {
    "size": "data.size",
    "fit": "data.fit",
    "steps": "train.steps",
    "batch_size": "train.batch_size",
    "global_batch": "train.global_batch",
    "seed": "train.seed",
    "device": "train.device",
    "name": "name",
    "conditional": "model.conditional",
    "data_a": "model.data_a",
    "data_b": "model.data_b",
    "pairs": "model.pairs",
    "direction": "model.direction",
    "scale": "model.scale",
    "stage": "model.stage",
    "augment": "model.augment",
    "labels": "model.labels",
    "labeled_list": "model.labeled_list",
    "baseline": "model.baseline",
    "eval_every": "train.eval_every",
    "eval_metrics": "train.eval_metrics",
    "eval_n": "train.eval_n",
    "precision": "train.precision",
    "lr": "model.lr_g",  # with --lr: both model.lr_g and model.lr_d (every family spells them so)
    "lr_g": "model.lr_g",
    "lr_d": "model.lr_d",
}


def _has_key(cfg: RunConfig, key: str) -> bool:
    node: Any = cfg.to_dict()
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def build_config(
    preset: str | None,
    config: Path | None,
    model: str | None,
    data: str | None,
    flags: dict[str, Any],
    overrides: list[str],
) -> RunConfig:
    """Resolve a run config: preset or file, then --model and --data, then the flags, then --set.

    `flags` maps flag names (see FLAG_KEYS) to values; None means the flag was not given.
    """
    if preset and config:
        raise ConfigError("give either --preset or --config, not both")
    cfg = RunConfig.load(config) if config else get_preset(preset or DEFAULT_PRESET)
    if model and model != cfg.recipe:
        cfg = cfg.with_recipe(model)
        cfg.name = model
    if data is not None:
        cfg.data.source = data
        cfg.data.channels = None
        if not has_split(data, cfg.data.split):  # a preset's `train` split is its own data's
            cfg.data.split = "all"
        if not preset and not config:  # a user's own data: name the run after it
            cfg.name = f"{cfg.recipe}-{Path(data).name or 'data'}"
            if getattr(cfg.model, "info_codes", 0):  # the default's ten codes are for ten digits
                cfg.model.info_codes = 0
    sets = []
    for flag, value in flags.items():
        if value is None:
            continue
        keys = [f"model.{k}" for k in learning_rate_keys(cfg.model)] if flag == "lr" else [FLAG_KEYS[flag]]
        if not keys or not all(_has_key(cfg, key) for key in keys):
            raise ConfigError(
                f"--{flag.replace('_', '-')} does not apply to recipe {cfg.recipe!r}; "
                "see `ganforge models list`"
            )
        sets += [f"{key}={json.dumps(value)}" for key in keys]
    return apply_overrides(cfg, sets + list(overrides))


def train(
    preset: Annotated[str | None, typer.Option(help="named config; see `ganforge presets list`")] = None,
    config: Annotated[Path | None, typer.Option(help="a config.json to start from")] = None,
    data: Annotated[str | None, typer.Option(help="built-in dataset name or a folder of images")] = None,
    model: Annotated[
        str | None, typer.Option(help="recipe, e.g. gan, dcgan (see `ganforge models list`)")
    ] = None,
    size: Annotated[int | None, typer.Option(help="image size in pixels (square)")] = None,
    steps: Annotated[
        int | None, typer.Option(help="total training steps; with --resume, the new total")
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", "--batch", help="images per step per process")
    ] = None,
    global_batch: Annotated[
        int | None, typer.Option("--global-batch", help="images per step over all torchrun processes")
    ] = None,
    fit: Annotated[str | None, typer.Option(help="non-square images: crop or pad")] = None,
    conditional: Annotated[
        bool | None,
        typer.Option("--conditional/--unconditional", help="class-conditional model (needs labels)"),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="seed for weights, noise and data order")] = None,
    device: Annotated[str | None, typer.Option(help="auto, cpu, cuda, cuda:1, mps")] = None,
    name: Annotated[str | None, typer.Option(help="run name used in the run directory")] = None,
    data_a: Annotated[str | None, typer.Option("--data-a", help="unpaired translation: domain A")] = None,
    data_b: Annotated[str | None, typer.Option("--data-b", help="unpaired translation: domain B")] = None,
    pairs: Annotated[str | None, typer.Option(help="paired data layout: side-by-side or folders")] = None,
    direction: Annotated[str | None, typer.Option(help="translation direction: AtoB or BtoA")] = None,
    scale: Annotated[int | None, typer.Option(help="super-resolution factor: 2 or 4")] = None,
    stage: Annotated[str | None, typer.Option(help="super-resolution stage: psnr or gan")] = None,
    augment: Annotated[
        str | None, typer.Option(help="discriminator augmentation: none, diffaugment, ada")
    ] = None,
    labels: Annotated[
        str | None, typer.Option(help="semi-supervised: labeled images, a count or a fraction")
    ] = None,
    labeled_list: Annotated[
        str | None, typer.Option("--labeled-list", help="file naming the labeled images")
    ] = None,
    baseline: Annotated[
        bool | None, typer.Option("--baseline", help="also train a supervised baseline")
    ] = None,
    eval_every: Annotated[
        int | None, typer.Option("--eval-every", help="steps between metric evaluations; keeps best.pt")
    ] = None,
    eval_metrics: Annotated[
        str | None, typer.Option("--eval-metrics", help="metrics during training, e.g. kid or fid,kid")
    ] = None,
    eval_n: Annotated[int | None, typer.Option("--eval-n", help="images per evaluation (2000)")] = None,
    lr: Annotated[
        float | None, typer.Option(help="Adam learning rate of G and D (model.lr_g and model.lr_d)")
    ] = None,
    lr_g: Annotated[
        float | None, typer.Option("--lr-g", help="learning rate of G alone (generator, translator)")
    ] = None,
    lr_d: Annotated[
        float | None, typer.Option("--lr-d", help="learning rate of D alone (discriminator, classifier)")
    ] = None,
    precision: Annotated[
        str | None,
        typer.Option(
            help="autocast of training passes: auto (bf16 where native), fp32, bf16",
            callback=check_precision_option,
        ),
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="override any config key: --set model.lr_d=1e-4")
    ] = None,
    resume: Annotated[str | None, typer.Option(help="continue a run: its directory, or 'last'")] = None,
    start_over: Annotated[
        bool,
        typer.Option(
            "--start-over", help="with --resume: set the run's checkpoints aside and train from step 0"
        ),
    ] = False,
    runs_dir: Annotated[Path, typer.Option("--runs-dir", help="where new run directories go")] = Path("runs"),
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="print the resolved config as JSON and exit")
    ] = False,
    progress: Annotated[bool | None, typer.Option("--progress/--no-progress", help="progress bar")] = None,
) -> None:
    """Train a GAN. With no options: DCGAN on the offline mnist-5k digits.

    Examples:

      ganforge train                                   # dcgan-mnist, about 2 minutes on 2 CPU cores

      ganforge train --preset cdcgan-mnist             # choose the digit later with --class

      ganforge train --data ./my_images --model dcgan --size 64

      ganforge train --resume runs/00003-dcgan-mnist --steps 3000

      ganforge train --lr 5e-4 --lr-d 1e-3                # Adam rates: both, then D's own (every family)

      ganforge train --preset gan-mnist --set model.loss=hinge --dry-run
    """
    given = locals()
    flags = {flag: given[flag] for flag in FLAG_KEYS}  # each flag's value; None: not given
    if labels is not None:
        flags["labels"] = _number(labels, "--labels")
    if eval_metrics is not None:
        flags["eval_metrics"] = [m.strip() for m in eval_metrics.split(",")]
    if start_over and not resume:
        raise ConfigError(
            "--start-over restarts a run given with --resume; a new run starts at step 0 anyway"
        )
    if resume:
        starting = dict(preset=preset, config=config, data=data, model=model)
        run_dir, cfg = resume_config(resume, runs_dir, flags, starting, list(set_ or []))
    else:
        run_dir, cfg = None, build_config(preset, config, model, data, flags, list(set_ or []))
    if dry_run:
        typer.echo(json.dumps(cfg.to_dict(), indent=2))
        return
    _run(cfg, run_dir, runs_dir, progress, start_over)


def resume_config(
    resume: str, runs_dir: Path, flags: dict[str, Any], starting: dict[str, Any], overrides: list[str]
) -> tuple[Path, RunConfig]:
    """The run directory `--resume` names and its saved config, with the flags and `--set`s that may
    change on resume (those that do not change the result); any other given setting is refused."""
    from ganforge.training.trainer import CHANGEABLE_ON_RESUME

    resumable = {k for k in flags if FLAG_KEYS[k] in CHANGEABLE_ON_RESUME}
    changed = [f"--{k.replace('_', '-')}" for k, v in flags.items() if v is not None and k not in resumable]
    changed += [f"--{k}" for k, v in starting.items() if v]  # --preset, --config, --data, --model
    changed += [f"--set {o}" for o in overrides if o.split("=", 1)[0].strip() not in CHANGEABLE_ON_RESUME]
    if changed:
        allowed = ", ".join(k.removeprefix("train.") for k in CHANGEABLE_ON_RESUME)
        raise ConfigError(
            f"--resume continues a run with its saved config; only settings that do not change the "
            f"result may change ({allowed}); got {', '.join(changed)}"
        )
    run_dir = latest_run_dir(runs_dir) if resume == "last" else Path(resume)
    if not (run_dir / "config.json").is_file():
        raise ConfigError(f"{run_dir} is not a ganforge run directory (no config.json)")
    cfg = RunConfig.load(run_dir / "config.json")
    sets = [f"{FLAG_KEYS[k]}={json.dumps(flags[k])}" for k in resumable if flags[k] is not None]
    return run_dir, apply_overrides(cfg, sets + overrides)


def _run(
    cfg: RunConfig, run_dir: Path | None, runs_dir: Path, progress: bool | None, start_over: bool
) -> None:
    """Train a new run (`run_dir` None) or continue one; exits 130/143 when a signal stopped it."""
    from ganforge.training import distributed as dist_utils
    from ganforge.training.trainer import Trainer

    trainer = (
        Trainer(cfg, run_dir, progress=progress, start_over=start_over)
        if run_dir is not None
        else Trainer.new_run(cfg, runs_dir, progress=progress)
    )
    info(f"run directory: {trainer.run_dir}")
    speed = trainer.speed_settings()
    threads = f", {speed['threads']} threads" if speed["threads"] else ""
    info(f"device {speed['device']}{threads}, {speed['precision']}, {speed['memory_format']}")
    try:
        result = trainer.fit()
    finally:
        dist_utils.shutdown(trainer.dist)
    if result.interrupted:
        info(
            f"interrupted at step {result.step}; checkpoint saved. "
            f"Continue with: ganforge train --resume {result.run_dir}"
        )
        sys.exit(128 + (trainer.stop_signal or 2))  # 130 after Ctrl-C, 143 after SIGTERM, as shells report
    info(f"done: step {result.step}; samples in {result.run_dir / 'samples'}, bundle in {result.bundle_dir}")


def _number(text: str, flag: str) -> int | float:
    """'100' -> 100, '0.01' -> 0.01, for flags that take a count or a fraction."""
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise ConfigError(f"{flag} {text!r} must be a number, e.g. 100 or 0.01") from None
