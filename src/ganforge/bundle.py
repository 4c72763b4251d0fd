"""Bundles: a trained model to share and use. A folder holding

config.json        the run config that trained it
model.json         each model's registry name and constructor arguments, class names, step, and
                   the bundle's capabilities (what it can do: see ganforge.capabilities)
<name>.safetensors the weights (G_ema by default); loading never unpickles anything
README.md          the model card: data, steps, how to use it
samples.png        a sample grid
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from ganforge.capabilities import Capabilities
from ganforge.config import RunConfig
from ganforge.errors import CheckpointError, ConfigError, GanforgeError
from ganforge.fileio import save_safetensors
from ganforge.registry import ModelSpec

BUNDLE_FORMAT = "ganforge-bundle/1"


@dataclass
class Bundle:
    path: Path
    config: RunConfig
    models: dict[str, torch.nn.Module]
    class_names: list[str] | None
    step: int
    capabilities: Capabilities = field(default_factory=Capabilities)


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
    capabilities: Capabilities | None = None,
) -> Path:
    """Write a bundle into `folder` (replacing an older bundle there only once the new one is whole).
    `capabilities` default to what the config's recipe declares (`derive_capabilities`)."""
    if capabilities is None:
        capabilities = derive_capabilities(config, len(class_names or []))
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
        "capabilities": capabilities.to_dict(),
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
    caps = capabilities_in(meta, config)
    conditional = caps.conditional
    d = config.data
    lines = [
        f"# {config.name}",
        "",
        f"A `{config.recipe}` {caps.label} model trained with [ganforge](https://pypi.org/project/ganforge/).",
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
    if (conditional or caps.can("classify")) and classes:
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
        *usage_lines(caps),
        "```",
        "",
        "The full training config is in `config.json`; `ganforge train --resume` needs the run directory.",
        "",
    ]
    return "\n".join(lines)


def usage_lines(caps: Capabilities | RunConfig) -> list[str]:
    """The card's example commands: the verb that runs a bundle with these capabilities."""
    if isinstance(caps, RunConfig):
        caps = derive_capabilities(caps, 0)
    here = "PATH_TO_THIS_FOLDER"
    if caps.task == "translate":
        source = "image.png" if caps.input_kind == "image" else "photo.png"
        mask = " --mask mask.png" if caps.input_kind == "masked" else ""
        line = f"ganforge translate {here} {source}{mask}"
        if len(caps.directions) > 1:
            other = ", ".join(caps.directions[1:])
            return [f"{line} --direction {caps.directions[0]} --out out/   # {other}: the other way"]
        return [f"{line} --out out/"]
    if caps.task == "upscale":
        return [f"ganforge upscale {here} small.png --out big/"]
    if caps.task == "classify":
        return [f"ganforge classify {here} image.png more_images/"]
    lines = [f"ganforge sample {here} --n 64 --seed 0 --out grid.png"]
    if caps.style_mixing:
        lines.append(f"ganforge mix {here} --rows 1,2,3 --cols 4,5,6 --layers coarse --out mix.png")
    return lines


def derive_capabilities(config: RunConfig, num_classes: int) -> Capabilities:
    """What a bundle of `config`'s recipe can do, from the recipe's declaration (through the registry):
    for new bundles at writing time, and for bundles written before model.json held capabilities."""
    from ganforge.registry import RECIPES, load_all

    if config.recipe not in RECIPES:
        load_all()
    describe = getattr(RECIPES.get(config.recipe), "describe", None)
    if describe is None:  # not a Recipe subclass: what Recipe itself declares (a generator)
        return Capabilities()
    return describe(config.model, num_classes)


def capabilities_in(meta: dict[str, Any], config: RunConfig, where: object = "model.json") -> Capabilities:
    """The capabilities a model.json records, or (older bundles) those its recipe declares."""
    raw = meta.get("capabilities")
    if raw is not None:
        return Capabilities.from_dict(raw, where)
    return derive_capabilities(config, len(meta.get("class_names") or []))


def capabilities_of(source: str | Path | Bundle) -> Capabilities:
    """What a bundle (a loaded `Bundle`, a bundle folder, or a run directory holding `bundle/`) can
    do, without loading its weights. For editing, studio and CLI checks alike."""
    if isinstance(source, Bundle):
        return source.capabilities
    folder = Path(source)
    if not (folder / "model.json").is_file() and (folder / "bundle" / "model.json").is_file():
        folder = folder / "bundle"
    meta = read_meta(folder)
    return capabilities_in(meta, RunConfig.load(folder / "config.json"), folder / "model.json")


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


# Sane bounds on the sizes a model.json may ask for, checked before anything is allocated (a
# damaged or hostile file with base_channels=200000 would otherwise try to allocate gigabytes).
MAX_WIDTH = 16_384  # channels, feature and latent dimensions
MAX_RESOLUTION = 8_192  # image sides
MAX_CLASSES = 100_000
MAX_OTHER = 1_000_000  # any other integer argument (depths, block counts, ...)
MAX_PARAMETERS = 500_000_000  # 2 GB of float32 weights
_MODEL_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")


def read_meta(folder: Path) -> dict[str, Any]:
    """A bundle folder's model.json, checked to be ganforge's."""
    meta_path = folder / "model.json"
    if not meta_path.is_file():
        raise CheckpointError(f"{folder} is not a ganforge bundle (no model.json)")
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{meta_path} is not valid JSON ({err.msg})") from None
    if not isinstance(meta, dict) or meta.get("format") != BUNDLE_FORMAT:
        raise CheckpointError(f"{meta_path} is not a {BUNDLE_FORMAT} file")
    if not isinstance(meta.get("models"), dict) or not meta["models"]:
        raise CheckpointError(f"{meta_path} lists no models")
    return meta


def weights_path(folder: Path, name: object) -> Path:
    """`<folder>/<name>.safetensors`, refusing a name that would point outside the bundle folder."""
    if not isinstance(name, str) or not _MODEL_NAME.match(name) or ".." in name:
        raise CheckpointError(
            f"{folder / 'model.json'} names a model {name!r} that is not a plain file name "
            "(it may point outside the bundle folder); refusing to load it"
        )
    # a plain name cannot leave the folder; the file itself may be a link (the Hub cache links to blobs)
    return folder / f"{name}.safetensors"


def _size_limit(key: str) -> int:
    key = key.lower()
    if "class" in key:
        return MAX_CLASSES
    if "size" in key or "resolution" in key:
        return MAX_RESOLUTION
    if "channel" in key or "dim" in key or "width" in key or "features" in key:
        return MAX_WIDTH
    return MAX_OTHER


def check_sizes(kwargs: Any, where: str, key: str = "") -> None:
    """Refuse integer constructor arguments beyond sane bounds (recursing into lists and dicts)."""
    if isinstance(kwargs, dict):
        for k, v in kwargs.items():
            check_sizes(v, where, str(k))
    elif isinstance(kwargs, list | tuple):
        for v in kwargs:
            check_sizes(v, where, key)
    elif isinstance(kwargs, int) and not isinstance(kwargs, bool):
        limit = _size_limit(key)
        if not -limit <= kwargs <= limit:
            raise CheckpointError(
                f"{where}: {key}={kwargs} is beyond the sane bound of {limit:,}; "
                "the file is damaged or not a ganforge bundle, so nothing was allocated"
            )


def build_checked(spec: ModelSpec, where: str) -> torch.nn.Module:
    """Build a model from its spec after checking its sizes: first its arguments, then its parameter
    count on the meta device (which allocates nothing)."""
    check_sizes(spec.kwargs, where)
    try:
        with torch.device("meta"):
            count = sum(p.numel() for p in spec.build().parameters())
    except (GanforgeError, ConfigError):
        raise
    except Exception:  # noqa: BLE001 - a model that cannot be built on meta is counted after building
        count = 0
    if count > MAX_PARAMETERS:
        raise CheckpointError(
            f"{where}: {spec.registry_name} would have {count:,} parameters (over {MAX_PARAMETERS:,}); "
            "the file is damaged or not a ganforge bundle, so nothing was allocated"
        )
    return spec.build()


def load_bundle(path: str | Path, device: torch.device | str = "cpu") -> Bundle:
    """Load a bundle folder: models are rebuilt from the registry and filled from safetensors.
    Sizes are checked before anything is allocated, and weights never leave the bundle folder."""
    folder = Path(path)
    meta = read_meta(folder)
    config = RunConfig.load(folder / "config.json")
    # config.json's sizes (data.size, channels) are bounded by RunConfig's own validation
    capabilities = capabilities_in(meta, config, folder / "model.json")
    models = {}
    for name, raw in meta["models"].items():
        weights = weights_path(folder, name)
        if not weights.is_file():
            raise CheckpointError(f"bundle {folder} lacks {weights.name}")
        if not isinstance(raw, dict) or not isinstance(raw.get("kwargs"), dict):
            raise CheckpointError(f"{folder / 'model.json'}: model {name} has no registry_name and kwargs")
        try:
            model = build_checked(ModelSpec.from_dict(raw), f"{folder / 'model.json'} ({name})")
            state = load_file(str(weights))
            model.load_state_dict(state)
        except (GanforgeError, ConfigError):
            raise
        except Exception as err:
            raise CheckpointError(
                f"{weights} does not load into {raw.get('registry_name')}: {str(err)[:160]}"
            ) from None
        models[name] = model.to(device).eval().requires_grad_(False)
    return Bundle(folder, config, models, meta.get("class_names"), int(meta.get("step", 0)), capabilities)
