"""Typed run configs: dataclasses that save to and load from JSON, with `--set a.b=value` overrides.

A run's whole configuration is one `RunConfig`. Its `model` field holds the recipe's own config
dataclass (looked up in the recipe registry by `recipe`), so every field of every recipe is typed
and checked the same way. Unknown keys and badly typed values raise `ConfigError` naming the key.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from ganforge.errors import ConfigError

PRECISIONS = ("auto", "fp32", "bf16")  # train.precision and every pipeline's --precision
MEMORY_FORMATS = ("auto", "channels_last", "contiguous")


def check_precision(precision: str, where: str = "--precision") -> str:
    """The one check of a precision setting: train.precision, `train --precision` and every
    pipeline's `--precision` (`where` names the one given). What it does: `training.speed`."""
    if precision not in PRECISIONS:
        raise ConfigError(
            f"{where} {precision!r} is not one of {', '.join(PRECISIONS)} "
            "(fp32: the same pixels everywhere; bf16: faster where native; auto: bf16 where native)"
        )
    return precision


@dataclass
class DataConfig:
    source: str = "mnist-5k"  # a built-in dataset name (`ganforge data list`) or a folder of images
    size: int = 32  # images are resized to size x size
    channels: int | None = None  # 1 (gray) or 3 (RGB); None keeps the dataset's own
    fit: Literal["crop", "pad"] = "crop"  # non-square images: center-crop, or pad to a square
    limit: int | None = None  # use at most this many images; handy for smoke tests
    labels: bool = True  # keep class labels when the source has them (class subfolders, built-ins)
    # which part of the source to train on: all, or train (its test split held out: mnist-5k's fixed
    # 1,000, mnist's and fashion-mnist's official 10,000) so `ganforge eval --split test` scores the
    # model on images it never saw
    split: Literal["all", "train", "test"] = "all"

    def validate(self) -> None:
        if self.split not in ("all", "train", "test"):
            raise ConfigError(f"data.split={self.split!r} is invalid; use all, train or test")
        if self.size < 4 or self.size > 4096:
            raise ConfigError(f"data.size={self.size} is out of range; use 4..4096, e.g. 32 or 64")
        if self.channels not in (None, 1, 3):
            raise ConfigError(f"data.channels={self.channels} is invalid; use 1 (gray), 3 (RGB) or null")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"data.limit={self.limit} must be at least 1 (or null for all images)")


@dataclass
class HealthConfig:
    max_retries: int = 3  # rollbacks allowed before training gives up
    lr_factor: float = 0.5  # every rollback multiplies every learning rate by this
    # steps between checks that every weight is finite (0: only before checkpoints; a NaN weight
    # also makes the next step's loss NaN, which every step checks)
    check_weights_every: int = 0

    def validate(self) -> None:
        if self.max_retries < 0:
            raise ConfigError("train.health.max_retries must be >= 0")
        if not 0.0 < self.lr_factor <= 1.0:
            raise ConfigError(f"train.health.lr_factor={self.lr_factor} must be in (0, 1]")


@dataclass
class TrainConfig:
    steps: int = 2000  # optimizer steps of the discriminator (one step = one batch)
    batch_size: int = 64  # per process under torchrun
    global_batch: int | None = None  # if set, the batch summed over all processes (overrides batch_size)
    sync_batchnorm: bool = False  # BatchNorm statistics across processes (CUDA only)
    seed: int = 0  # seeds weights, noise and data order: a run is reproducible from its config
    device: str = "auto"  # auto | cpu | cuda | cuda:1 | mps
    threads: int | None = None  # torch intra-op threads on CPU; None leaves torch's default
    precision: str = "auto"  # auto | fp32 | bf16: autocast of training passes; auto = bf16 where native
    memory_format: str = (
        "auto"  # auto | channels_last | contiguous; auto = channels_last where the recipe allows
    )
    compile: bool = False  # torch.compile the trained models (eager, with a warning, where unavailable)
    # Adam/AdamW step as one fused kernel per optimizer on CPU and CUDA; off by default: the same
    # arithmetic in another order takes a run on another path, and the presets are measured without
    fused_optim: bool = False
    ema_decay: float = 0.999  # G_ema <- decay * G_ema + (1 - decay) * G after every G step
    ema_start: int = 0  # before this step G_ema is a plain copy of G
    log_every: int = 25  # steps between lines in log.jsonl / TensorBoard
    sample_every: int = 250  # steps between sample grids in samples/
    checkpoint_every: int = 500  # steps between checkpoints
    keep_checkpoints: int = 3  # newest checkpoints kept on disk
    n_samples: int = 64  # images in each sample grid (fixed latents)
    eval_every: int = 0  # steps between metric evaluations (0: none); best.pt is kept by the first metric
    eval_metrics: list[str] = field(default_factory=lambda: ["kid"])  # fd, kid, pr, is, acc (`ganforge eval`)
    eval_n: int = 2000  # generated images (and as many training images) per evaluation
    eval_features: str = "effnet-lite0"  # feature extractor; digits-lenet is 20x cheaper for MNIST digits
    health: HealthConfig = field(default_factory=HealthConfig)

    def validate(self) -> None:
        for key in ("steps", "batch_size", "log_every", "sample_every", "checkpoint_every", "n_samples"):
            if getattr(self, key) < 1:
                raise ConfigError(f"train.{key}={getattr(self, key)} must be at least 1")
        if self.keep_checkpoints < 1:
            raise ConfigError("train.keep_checkpoints must be at least 1")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ConfigError(f"train.ema_decay={self.ema_decay} must be in [0, 1)")
        if self.global_batch is not None and self.global_batch < 1:
            raise ConfigError(f"train.global_batch={self.global_batch} must be at least 1 (or null)")
        if self.threads is not None and self.threads < 1:
            raise ConfigError("train.threads must be at least 1 (or null)")
        check_precision(self.precision, "train.precision")
        if self.memory_format not in MEMORY_FORMATS:
            raise ConfigError(
                f"train.memory_format={self.memory_format!r} is not one of {', '.join(MEMORY_FORMATS)}"
            )
        self._validate_eval()
        self.health.validate()

    def _validate_eval(self) -> None:
        from ganforge.metrics.names import check_extractor_name, parse_metrics  # names only: a base module

        if self.eval_every < 0:
            raise ConfigError(f"train.eval_every={self.eval_every} must be >= 0 (0 turns evaluation off)")
        metrics = parse_metrics(self.eval_metrics)
        least = 10 if "is" in metrics else 2  # the Inception Score splits the images in 10
        if self.eval_n < least:
            raise ConfigError(f"train.eval_n={self.eval_n} must be at least {least}; 2000 is a good start")
        check_extractor_name(self.eval_features, "train.eval_features")


@dataclass
class OptimConfig:
    """Adam settings shared by every family: one spelling and one validation.

    A family's config subclasses this and re-declares a field to change its default (with the reason in
    a trailing comment). `lr_d` is the rate of whatever judges G's images: the discriminator, the
    critic, or the K+1-way classifier of a semi-supervised GAN. Old spellings (`model.lr` for both
    networks, `model.lr_c`) are translated on load by `upgrade_model_keys`.
    """

    lr_g: float = 2e-4  # Adam learning rate of G (the generator, translator or upscaler)
    lr_d: float = 2e-4  # Adam learning rate of D (discriminator, critic or classifier)
    betas: tuple[float, float] = (0.5, 0.999)  # Adam; beta1 0.5 as in DCGAN (Radford et al. 2015)
    # the fraction of the steps run at the full rates; over the rest every rate falls linearly toward 0
    # (1: constant rates; CycleGAN's paper decays over the second half, Salimans et al. at the end)
    decay_start: float = 1.0

    def lr_factor(self, step: int, total_steps: int) -> float:
        """The schedule of `decay_start`: 1 for the first `decay_start` of the steps, then at the k-th of
        the n decaying steps 1 - k / (n + 1), so that the last step keeps a small positive rate (as in
        Zhu et al.'s code). The trainer multiplies it with its health scale; no recipe writes a rate."""
        constant = int(total_steps * self.decay_start)
        return 1.0 - max(0, step - constant) / (total_steps - constant + 1)

    def validate_optim(self) -> None:
        for key in ("lr_g", "lr_d"):
            if not getattr(self, key) > 0:
                raise ConfigError(f"model.{key}={getattr(self, key)} must be positive, e.g. 2e-4")
        if not all(0.0 <= b < 1.0 for b in self.betas):
            raise ConfigError(f"model.betas={list(self.betas)} must both lie in [0, 1), e.g. 0.5,0.999")
        if not 0.0 <= self.decay_start <= 1.0:
            raise ConfigError(
                f"model.decay_start={self.decay_start} must lie in [0, 1]: the fraction of the steps at "
                "the full learning rates before they fall linearly toward 0 (1 keeps them constant)"
            )


# Optimizer keys of earlier versions -> today's keys. Run directories, bundles and presets saved before
# the rename still load and resume: `upgrade_model_keys` is the one place that reads the old names.
RENAMED_MODEL_KEYS: dict[str, tuple[str, ...]] = {
    "lr": ("lr_g", "lr_d"),  # progan, stylegan, fastgan: one rate for both networks
    "lr_c": ("lr_d",),  # sgan: the classifier is the discriminator
}


def upgrade_model_keys(model_raw: dict[str, Any], cls: type) -> dict[str, Any]:
    """`model_raw` (a saved model config) with the old optimizer keys of `RENAMED_MODEL_KEYS` renamed,
    for a config class that uses `OptimConfig`; a file that gives both spellings of one rate is refused."""
    if not (isinstance(cls, type) and issubclass(cls, OptimConfig)):
        return model_raw
    upgraded = dict(model_raw)
    for old, new_keys in RENAMED_MODEL_KEYS.items():
        if old not in upgraded:
            continue
        value = upgraded.pop(old)
        both = [k for k in new_keys if k in upgraded and upgraded[k] != value]
        if both:
            raise ConfigError(
                f"model.{old} is the old name of {' and '.join(f'model.{k}' for k in new_keys)}; "
                f"the config gives both (model.{both[0]}={upgraded[both[0]]!r}); keep only model.{both[0]}"
            )
        upgraded.update(dict.fromkeys(new_keys, value))
    return upgraded


@dataclass
class RunConfig:
    name: str = "dcgan-mnist"  # names the run directory, e.g. runs/00003-dcgan-mnist
    recipe: str = "dcgan"  # which family trains (`ganforge models list`)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    model: Any = None  # the recipe's own config dataclass; None means the recipe's defaults

    def __post_init__(self) -> None:
        if self.model is None:
            self.model = recipe_config_class(self.recipe)()

    def validate(self) -> RunConfig:
        self.data.validate()
        self.train.validate()
        expected = recipe_config_class(self.recipe)
        if not isinstance(self.model, expected):
            raise ConfigError(
                f"model config is {type(self.model).__name__}, "
                f"recipe {self.recipe!r} needs {expected.__name__}"
            )
        if isinstance(self.model, OptimConfig):
            self.model.validate_optim()
        if hasattr(self.model, "validate"):
            self.model.validate()
        return self

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RunConfig:
        if not isinstance(raw, dict):
            raise ConfigError("a run config must be a JSON object")
        raw = dict(raw)
        recipe = raw.get("recipe", RunConfig.recipe)
        if not isinstance(recipe, str):
            raise ConfigError(f"recipe must be a string, got {recipe!r}")
        model_raw = raw.pop("model", None)
        cfg = from_dict(cls, raw)
        model_class = recipe_config_class(recipe)
        cfg.model = from_dict(model_class, upgrade_model_keys(model_raw or {}, model_class), "model")
        return cfg.validate()

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> RunConfig:
        path = Path(path)
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except json.JSONDecodeError as err:
            raise ConfigError(
                f"config file {path} is not valid JSON ({err.msg} at line {err.lineno})"
            ) from None
        return cls.from_dict(raw)

    def with_recipe(self, recipe: str) -> RunConfig:
        """The same run with another recipe and that recipe's default model config."""
        return dataclasses.replace(self, recipe=recipe, model=recipe_config_class(recipe)())


def recipe_config_class(recipe: str) -> type:
    from ganforge.registry import RECIPES  # the registry finds the recipes (registry.py, `homes`)

    return RECIPES.get(recipe).config_class


# ---------------------------------------------------------------- generic dataclass <-> dict


def to_dict(obj: Any) -> Any:
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    return obj


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_dict(cls: type, raw: dict[str, Any], path: str = "") -> Any:
    """Build dataclass `cls` from `raw`, checking every key and value against the type hints."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{path or 'config'} must be an object, got {raw!r}")
    hints = _hints(cls)
    names = {f.name for f in fields(cls) if f.init}
    unknown = sorted(set(raw) - names)
    if unknown:
        where = f" under {path!r}" if path else ""
        raise ConfigError(
            f"unknown config key {_join(path, unknown[0])!r}{where}; valid keys: {', '.join(sorted(names))}"
        )
    kwargs = {}
    for name, value in raw.items():
        kwargs[name] = coerce(value, hints[name], _join(path, name))
    return cls(**kwargs)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def coerce(value: Any, hint: Any, key: str) -> Any:
    """Check `value` against type `hint`, converting where the conversion is lossless."""
    origin = get_origin(hint)
    if hint is Any:
        return value
    if origin in (Union, types.UnionType):
        options = get_args(hint)
        if value is None:
            if type(None) in options:
                return None
            raise ConfigError(f"{key} cannot be null")
        if type(value) in options:  # exactly one of the types: keep it (1.0 stays a fraction in int | float)
            return value
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return coerce(value, option, key)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0])
    if origin is Literal:
        choices = get_args(hint)
        if value not in choices:
            raise ConfigError(f"{key}={value!r} is not one of {', '.join(map(repr, choices))}")
        return value
    if is_dataclass(hint):
        return from_dict(hint, value, key)
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key} must be a list, got {value!r}")
        args = get_args(hint)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ConfigError(f"{key} must have {len(args)} items, got {len(value)}")
            return tuple(
                coerce(v, a, f"{key}[{i}]") for i, (v, a) in enumerate(zip(value, args, strict=True))
            )
        inner = args[0] if args else Any
        items = [coerce(v, inner, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key} must be true or false, got {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"{key} must be an integer, got {value!r}")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{key} must be a number, got {value!r}")
    if hint is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{key} must be a string, got {value!r}")
    raise ConfigError(f"{key} has a type ganforge cannot read from JSON: {hint!r}")


# ---------------------------------------------------------------- --set a.b=value overrides


def parse_override_value(text: str) -> Any:
    """`--set` values are JSON when they parse as JSON (numbers, true, null, [1,2]); else plain strings."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        if "," in text:  # a,b,c is a list, for tuples such as model.betas=0.5,0.999
            return [parse_override_value(part) for part in text.split(",")]
        return text


def apply_override(cfg: RunConfig, assignment: str) -> RunConfig:
    """Apply one ``key.path=value`` assignment; returns a new, validated config."""
    if "=" not in assignment:
        raise ConfigError(f"--set {assignment!r} needs the form key=value, e.g. --set train.steps=500")
    key, text = assignment.split("=", 1)
    key = key.strip()
    old = key.removeprefix("model.")
    if key.startswith("model.") and old in RENAMED_MODEL_KEYS and isinstance(cfg.model, OptimConfig):
        for new in RENAMED_MODEL_KEYS[old]:  # an old spelling in a saved command line
            cfg = apply_override(cfg, f"model.{new}={text}")
        return cfg
    raw = cfg.to_dict()
    parts = key.split(".")
    node = raw
    for i, part in enumerate(parts):
        if not isinstance(node, dict) or part not in node:
            parent = ".".join(parts[:i]) or "the top level"
            valid = ", ".join(sorted(node)) if isinstance(node, dict) else "none"
            raise ConfigError(f"unknown config key {key!r}: {part!r} is not in {parent} (valid: {valid})")
        if i == len(parts) - 1:
            node[part] = parse_override_value(text.strip())
        else:
            node = node[part]
    if key == "recipe":
        return cfg.with_recipe(raw["recipe"]).validate()
    return RunConfig.from_dict(raw)


def apply_overrides(cfg: RunConfig, assignments: list[str]) -> RunConfig:
    for assignment in assignments:
        cfg = apply_override(cfg, assignment)
    return cfg


def learning_rate_keys(model: Any) -> list[str]:
    """The learning-rate keys of a model config (`lr_g`, `lr_d` for every `OptimConfig`): what
    `train --lr` sets and what the trainer's divergence advice names."""
    return ["lr_g", "lr_d"] if isinstance(model, OptimConfig) else []
