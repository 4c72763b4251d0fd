"""Bundles: a trained model to share and use. A folder holding

config.json        the run config that trained it
model.json         each model's registry name and constructor arguments, class names, step
<name>.safetensors the weights (G_ema by default); loading never unpickles anything
README.md          the model card: data, steps, how to use it
samples.png        a sample grid
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from ganforge.config import RunConfig
from ganforge.errors import CheckpointError, ConfigError, GanforgeError
from ganforge.fileio import save_safetensors
from ganforge.recipes.base import ModelSpec

BUNDLE_FORMAT = "ganforge-bundle/1"


@dataclass
class Bundle:
    path: Path
    config: RunConfig
    models: dict[str, torch.nn.Module]
    class_names: list[str] | None
    step: int


def write_bundle(
    folder: Path,
    config: RunConfig,
    models: dict[str, torch.nn.Module],
    specs: dict[str, ModelSpec],
    class_names: list[str] | None,
    step: int,
    images_seen: int,
    samples: Path | None = None,
    metrics: dict[str, float] | None = None,
) -> Path:
    """Write a bundle into `folder` (replacing an older bundle there only once the new one is whole)."""
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    config.save(staging / "config.json")
    meta = {
        "format": BUNDLE_FORMAT,
        "recipe": config.recipe,
        "models": {name: specs[name].to_dict() for name in models},
        "class_names": class_names,
        "step": step,
        "images_seen": images_seen,
        "metrics": dict(metrics or {}),  # held-out metrics from Recipe.evaluate
    }
    (staging / "model.json").write_text(json.dumps(meta, indent=2) + "\n")
    for name, model in models.items():
        tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        # fileio's writer: the user's umask (safetensors' own writer makes the file 0600)
        save_safetensors(staging / f"{name}.safetensors", tensors, {"format": BUNDLE_FORMAT})
    if samples is not None and samples.exists():
        shutil.copyfile(samples, staging / "samples.png")
    (staging / "README.md").write_text(model_card(config, {**meta, "evaluation": evaluation_line(folder)}))
    if folder.exists():
        old = folder.with_name(folder.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        folder.rename(old)
        staging.rename(folder)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(folder)
    return folder


def model_card(config: RunConfig, meta: dict[str, Any]) -> str:
    classes = meta["class_names"]
    conditional = bool(getattr(config.model, "conditional", False))
    d = config.data
    lines = [
        f"# {config.name}",
        "",
        f"A `{config.recipe}` generator trained with [ganforge](https://pypi.org/project/ganforge/).",
        "",
        "![samples](samples.png)",
        "",
        "| | |",
        "|---|---|",
        f"| data | `{d.source}` at {d.size}x{d.size}, {d.channels} channel(s) |",
        f"| steps | {meta['step']} ({meta['images_seen']:,} images shown to D) |",
        f"| batch size | {config.train.batch_size} |",
        f"| loss | {getattr(config.model, 'loss', 'n/a')} |",
        f"| weights | {', '.join(f'`{n}.safetensors`' for n in meta['models'])} |",
    ]
    if conditional and classes:
        lines.append(f"| classes | {', '.join(map(str, classes))} |")
    metrics = meta.get("metrics") or {}
    if metrics:
        lines += ["", "Held-out metrics:", "", "| metric | value |", "|---|---|"]
        lines += [f"| {name} | {format_metric(value)} |" for name, value in metrics.items()]
    evaluation = meta.get("evaluation")  # the run's newest `ganforge eval` or training-time figures
    if evaluation:
        lines += ["", f"Metrics: {evaluation}"]
    elif not metrics:
        lines += ["", "Metrics: none computed yet (see `ganforge eval`)."]
    lines += [
        "",
        "## Use",
        "",
        "```",
        *usage_lines(config),
        "```",
        "",
        "The full training config is in `config.json`; `ganforge train --resume` needs the run directory.",
        "",
    ]
    return "\n".join(lines)


def usage_lines(config: RunConfig) -> list[str]:
    """The card's example commands: the verb that runs this recipe's bundle."""
    here = "PATH_TO_THIS_FOLDER"
    task = getattr(config.model, "task", None)
    if config.recipe == "pix2pix":
        mask = " --mask mask.png" if task == "inpaint" else ""
        return [f"ganforge translate {here} photo.png{mask} --out out/"]
    if config.recipe == "cyclegan":
        return [f"ganforge translate {here} photo.png --direction AtoB --out out/   # BtoA: the other way"]
    if config.recipe == "dtn":
        return [f"ganforge translate {here} image.png --out out/"]
    if config.recipe == "srgan":
        return [f"ganforge upscale {here} small.png --out big/"]
    if config.recipe == "sgan":
        return [f"ganforge classify {here} image.png more_images/"]
    lines = [f"ganforge sample {here} --n 64 --seed 0 --out grid.png"]
    if config.recipe == "stylegan":
        lines.append(f"ganforge mix {here} --rows 1,2,3 --cols 4,5,6 --layers coarse --out mix.png")
    return lines


def evaluation_line(folder: Path) -> str | None:
    """One line of figures for the card: the newest `ganforge eval` record in the run's (or this
    bundle's) metrics.json, else the last training-time evaluation in the run's metrics.jsonl."""
    from ganforge.metrics.store import latest_summary, read_jsonl

    for path in (folder.parent / "metrics.json", folder / "metrics.json"):
        line = latest_summary(path)
        if line:
            return line
    rows = [r for r in read_jsonl(folder.parent / "metrics.jsonl") if "features" in r]
    if not rows:
        return None
    row = rows[-1]
    figures = ", ".join(
        f"{k} {v:.4g}"
        for k, v in row.items()
        if isinstance(v, float) and not k.endswith(" std") and not k.startswith("best_")
    )
    return f"{figures} (during training at step {row.get('step')}, {row['features']} features)"


def refresh_model_card(folder: Path) -> Path:
    """Rewrite a bundle's README.md from its model.json, config.json and the run's metrics."""
    meta = json.loads((folder / "model.json").read_text())
    config = RunConfig.load(folder / "config.json")
    path = folder / "README.md"
    tmp = path.with_name(".README.md.tmp")
    tmp.write_text(model_card(config, {**meta, "evaluation": evaluation_line(folder)}))
    tmp.replace(path)
    return path


def format_metric(value: float) -> str:
    """Counts as integers, other values to 4 significant digits."""
    return str(value) if isinstance(value, int) else f"{value:.4g}"


def load_bundle(path: str | Path, device: torch.device | str = "cpu") -> Bundle:
    """Load a bundle folder: models are rebuilt from the registry and filled from safetensors."""
    folder = Path(path)
    meta_path = folder / "model.json"
    if not meta_path.is_file():
        raise CheckpointError(f"{folder} is not a ganforge bundle (no model.json)")
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{meta_path} is not valid JSON ({err.msg})") from None
    if meta.get("format") != BUNDLE_FORMAT:
        raise CheckpointError(f"{meta_path} is not a {BUNDLE_FORMAT} file")
    config = RunConfig.load(folder / "config.json")
    models = {}
    for name, raw in meta["models"].items():
        weights = folder / f"{name}.safetensors"
        if not weights.is_file():
            raise CheckpointError(f"bundle {folder} lacks {weights.name}")
        try:
            model = ModelSpec.from_dict(raw).build()
            state = load_file(str(weights))
            model.load_state_dict(state)
        except (GanforgeError, ConfigError):
            raise
        except Exception as err:
            raise CheckpointError(
                f"{weights} does not load into {raw.get('registry_name')}: {str(err)[:160]}"
            ) from None
        models[name] = model.to(device).eval().requires_grad_(False)
    return Bundle(folder, config, models, meta.get("class_names"), int(meta.get("step", 0)))
