"""The recipe contract: what a GAN family tells the generic trainer.

A recipe builds its models and optimizers from its config, and lists named training phases
(`D_main`, `G_main`, `D_reg`, ...) each with an interval, so that lazy regularization or
n-critic schedules are data the trainer reads, not branches inside the loop (the phase idea is
from Karras et al.'s StyleGAN2-ADA loss). Models never own optimizers. To add a family, copy
`recipes/template.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from ganforge.capabilities import Capabilities
from ganforge.data.dataset import ImageData
from ganforge.registry import RECIPES, ModelSpec


@dataclass(frozen=True)
class DataInfo:
    """What a recipe needs to know about the data to size its models."""

    channels: int
    size: int
    num_classes: int = 0  # 0 when the data has no labels
    class_counts: tuple[int, ...] = ()  # training images of each class (empty when no labels)


@dataclass
class Batch:
    real: torch.Tensor  # (B, C, H, W) float in [-1, 1] on the training device
    labels: torch.Tensor | None = None  # (B,) int64 or None
    target: torch.Tensor | None = None  # (B, C', H, W) the image paired with each `real` (paired data)
    extra: dict[str, Batch] = field(default_factory=dict)  # batches of the recipe's other streams, by name


# A phase's body: takes the batch, returns (loss to minimize, scalars to log).
PhaseFn = Callable[[Batch], tuple[torch.Tensor, dict[str, torch.Tensor]]]


@dataclass
class Phase:
    name: str  # e.g. "D_main"; shows in logs
    optimizer: str  # key of the optimizer this phase steps
    run: PhaseFn
    interval: int = 1  # runs on steps where step % interval == 0
    autocast: bool = True  # False: float32 even under train.precision=bf16 (gradient penalties, path length)


class Recipe:
    """Base class of every family. Subclasses set `config_class` and implement `build` and `phases`.

    After `build`, `self.models` maps names to trained modules, `self.specs` holds each one's
    `ModelSpec`, and `self.optimizers` maps names to optimizers. `ema_of` names the models that
    the trainer keeps an exponential moving average of (as `<name>_ema`) and samples from.
    """

    config_class: ClassVar[type]
    ema_of: ClassVar[tuple[str, ...]] = ("G",)
    generator_name: ClassVar[str] = "G"  # the model that preview grids run (its EMA copy when there is one)
    exports: ClassVar[tuple[str, ...]] = ("G",)  # models written to the bundle (their EMA copies if any)
    # whether the models run in channels_last memory (train.memory_format=auto): True only where they
    # reshape activations with layout-agnostic ops and a test shows the float32 result is kept
    channels_last: ClassVar[bool] = False
    # whether train.precision=auto may autocast to bf16 (False where it is slower: tiny models)
    auto_bf16: ClassVar[bool] = True
    # what this family's bundles can do (written to model.json; read by the CLI, studio, card, hub);
    # `describe` fills in what a run's config decides
    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init__(
        self,
        config: Any,
        data: DataInfo,
        device: torch.device,
        generator: torch.Generator,
        rank: int = 0,
        world_size: int = 1,
    ):
        self.config = config
        self.data = data
        self.device = device
        self.generator = generator  # every random draw during training comes from here
        self.rank, self.world_size = rank, world_size  # data parallelism (1 process: 0, 1)
        self.models: dict[str, nn.Module] = {}
        self.specs: dict[str, ModelSpec] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self._kept: tuple[Batch, Any] | None = None  # see keep_fakes
        self.build()

    def randn(self, n: int, *shape: int) -> torch.Tensor:
        """n normal draws of `shape` for this process. Under data parallelism every rank draws the
        whole global batch from the same generator and keeps its own slice, so N processes at batch B
        see exactly the noise that one process at batch N*B would."""
        full = torch.randn(n * self.world_size, *shape, device=self.device, generator=self.generator)
        return full[self.rank * n : (self.rank + 1) * n]

    def keep_fakes(self, batch: Batch, fakes: Any) -> None:
        """Keep D_main's generated images (with their graph) for G_main of the same step, so that G
        runs once a step as in the textbook loop; `fakes` may be a tuple of everything G_main needs."""
        self._kept = (batch, fakes)

    def kept_fakes(self, batch: Batch, make: Callable[[], Any]) -> Any:
        """What D_main kept for this very batch (released on reading), else `make()`: G_main run on
        its own, or on a step whose D_main did not keep anything."""
        kept, self._kept = self._kept, None
        return kept[1] if kept is not None and kept[0] is batch else make()

    def add_model(self, name: str, spec: ModelSpec) -> nn.Module:
        model = spec.build().to(self.device)
        self.models[name] = model
        self.specs[name] = spec
        return model

    @classmethod
    def load_data(cls, cfg: Any) -> dict[str, ImageData]:
        """The training data by stream name (a `RunConfig` in). "main" is required and sizes the
        models; other streams (e.g. CycleGAN's domain "B") arrive as `batch.extra[name]`."""
        from ganforge.data import load_images

        return {"main": load_images(cfg.data)}

    @classmethod
    def describe(cls, config: Any, num_classes: int) -> Capabilities:
        """The capabilities of a bundle trained with `config` (the model config) on data with
        `num_classes` classes: the declared `capabilities`, conditional when `config.conditional` is
        set. Override where the config changes more (pix2pix's task, SRGAN's scale)."""
        caps = cls.capabilities
        conditional = bool(getattr(config, "conditional", caps.conditional)) and num_classes > 0
        keeps_classes = conditional or caps.can("classify")
        return caps.refine(conditional=conditional, num_classes=num_classes if keeps_classes else 0)

    def bundle_capabilities(self) -> Capabilities:
        """What this run's bundle can do (the trainer writes it into model.json)."""
        return self.describe(self.config, self.data.num_classes)

    def double_backward(self) -> str | None:
        """What in this run differentiates a gradient (gradient penalties, R1, path length), which
        `torch.compile` cannot train; None when nothing does. Default: the gradient penalty of a
        config with `gp_weight` > 0 (gan, dcgan, progan); stylegan adds R1 and path length."""
        return "the gradient penalty (model.gp_weight)" if getattr(self.config, "gp_weight", 0) > 0 else None

    # ---- to implement
    def build(self) -> None:
        raise NotImplementedError

    def phases(self) -> list[Phase]:
        raise NotImplementedError

    def sample_inputs(self, n: int, generator: torch.Generator, examples: Batch) -> dict[str, Any]:
        """Fixed inputs for preview grids, given `examples` (the first n training items, on the CPU).
        Returns what `preview` reads (for generators: z and labels) plus `nrow` for the grid."""
        raise NotImplementedError

    def noise_grid_inputs(self, z: torch.Tensor) -> dict[str, Any]:
        """`sample_inputs` of a generator from noise: z alone, or for a class-conditional G one column
        per class (image i draws class i mod K, in a grid K wide) and whole rows only: the first
        n - n mod K of the n latents (all n where n < K; 64 latents, 7 classes: 9 rows of 7)."""
        k = getattr(self.models[self.generator_name], "num_classes", 0)
        if not k:
            return {"z": z, "labels": None, "nrow": None}
        n = z.shape[0]
        z = z[: n - n % k] if n >= k else z
        return {"z": z, "labels": torch.arange(z.shape[0]) % k, "nrow": k}

    # ---- optional
    def begin_step(self, step: int, total_steps: int) -> None:
        """Called before every step: schedules other than learning rates (fade-in) live here."""

    def lr_factor(self, optimizer: str, step: int, total_steps: int) -> float:
        """The learning-rate schedule: optimizer `optimizer` runs step `step` at its initial rate times
        this factor. The trainer is the only writer of learning rates: it multiplies this factor with
        its own health scale (lowered after a rollback) before every step. Default: the config's
        `decay_start` schedule (`OptimConfig.lr_factor`), constant for a config without one."""
        schedule = getattr(self.config, "lr_factor", None)
        return schedule(step, total_steps) if schedule is not None else 1.0

    def preview(self, models: dict[str, nn.Module], inputs: dict[str, Any]) -> torch.Tensor:
        """Images for a preview grid; `models` has EMA copies in place of their sources."""
        G = models[self.generator_name]
        device = next(G.parameters()).device
        labels = inputs["labels"].to(device) if inputs.get("labels") is not None else None
        return G(inputs["z"].to(device), labels)

    def evaluate(self, models: dict[str, nn.Module], cfg: Any) -> dict[str, float]:
        """Held-out metrics of the finished models (`models` as in `preview`; `cfg` is the `RunConfig`,
        to load held-out data from). The trainer logs them to log.jsonl, writes them to metrics.json,
        prints them and puts them in the bundle's model card. Default: none."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        """Recipe state beyond models and optimizers (image pools, schedules, augmentation p)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


def register_recipe(name: str, **meta: Any) -> Callable[[type], type]:
    """Register a recipe class under `name` (used as `recipe` in configs, `--model` on the CLI)."""
    return RECIPES.register(name, **meta)
