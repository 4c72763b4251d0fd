"""Progressive GAN training (Karras et al. 2017, "Progressive Growing of GANs for Improved Quality,
Stability, and Variation").

Training starts at 4x4 and doubles the resolution stage by stage. Each new stage fades in over
`fade_steps` (alpha rising linearly from 1/fade_steps to 1), then trains at full weight for
`stable_steps`. Real images are downsampled to the current stage and blended the same way during
a fade-in. The schedule is a pure function of the step, resolved once and saved in every
checkpoint together with the current stage and alpha, so a run resumed in the middle of a fade-in
continues exactly. Adam's moments are cleared whenever a new stage starts (as in the paper's code).

Paper settings (GPU, CelebA-HQ 1024): z_dim 512, channel_base 8192, max_channels 512, WGAN-GP with
lambda 10 and drift 0.001, Adam lr 0.001, betas (0, 0.99), 800k images per fade-in and per stable
phase, minibatch 16 shrinking at high resolutions, G's EMA at 0.999.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import torch

from ganforge.augment import Augmenter
from ganforge.capabilities import Capabilities
from ganforge.config import DataConfig, OptimConfig, RunConfig, TrainConfig
from ganforge.console import warn
from ganforge.errors import ConfigError
from ganforge.losses import get_adversarial_loss, gradient_penalty
from ganforge.models.progan import downsample_reals, num_stages
from ganforge.recipes.base import Batch, ModelSpec, Phase, Recipe, register_recipe
from ganforge.registry import PRESETS


@dataclass
class ProGANConfig(OptimConfig):
    z_dim: int = 512  # length of z
    channel_base: int = 8192  # feature maps at resolution r: min(channel_base // r, max_channels)
    max_channels: int = 512
    loss: Literal["wgan", "ns", "hinge", "lsgan"] = "wgan"  # the paper: WGAN-GP
    gp_weight: float = 10.0  # gradient penalty lambda (Gulrajani et al. 2017)
    drift: float = 0.001  # epsilon * E[D(real)**2] keeps the critic's output near 0
    lr_g: float = 0.001  # as in the paper
    lr_d: float = 0.001
    betas: tuple[float, float] = (0.0, 0.99)  # Adam, as in the paper
    stable_steps: int | None = None  # steps at 4x4 and after each fade-in; None: even split of train.steps
    fade_steps: int | None = None  # steps of each fade-in; None: even split of train.steps
    reset_optimizers: bool = True  # clear Adam's moments when a new stage starts fading in
    mbstd_group: int = 4  # images per minibatch-stddev group in D
    augment: Literal["none", "diffaugment", "ada"] = "none"  # D augmentation (ganforge.augment)
    ada_target: float = 0.6  # ADA's target for r_t = E[sign(D(real))]
    ada_kimg: float = 100.0  # thousands of images for ADA's p to go 0 -> 1 (500 in the paper)

    def validate(self) -> None:
        for key in ("z_dim", "channel_base", "max_channels", "mbstd_group"):
            if getattr(self, key) < 1:
                raise ConfigError(f"model.{key} must be at least 1")
        for key in ("stable_steps", "fade_steps"):
            if getattr(self, key) is not None and getattr(self, key) < 1:
                raise ConfigError(f"model.{key} must be at least 1 (or null to split train.steps evenly)")
        if self.gp_weight < 0 or self.drift < 0:
            raise ConfigError("model.gp_weight and model.drift must be >= 0")
        if not 0.0 < self.ada_target < 1.0 or self.ada_kimg <= 0:
            raise ConfigError("model.ada_target must lie in (0, 1) and model.ada_kimg be positive")


@dataclass(frozen=True)
class GrowthSchedule:
    """Stage 0 (4x4) trains `stable` steps; every later stage fades in over `fade` steps, then trains
    `stable` steps; the last stage trains until the end."""

    stages: int
    stable: int
    fade: int

    @classmethod
    def even(cls, stages: int, total_steps: int) -> GrowthSchedule:
        """Split `total_steps` evenly over the 2 * stages - 1 phases (the last one keeps the remainder)."""
        each = max(1, total_steps // (2 * stages - 1))
        return cls(stages, each, each)

    def at(self, step: int) -> tuple[int, float]:
        """(stage, alpha) at `step`; alpha is the weight of the newest stage."""
        if step < self.stable or self.stages == 1:
            return 0, 1.0
        k, into = divmod(step - self.stable, self.fade + self.stable)
        if k + 1 >= self.stages:
            return self.stages - 1, 1.0
        if into < self.fade:
            return k + 1, (into + 1) / self.fade
        return k + 1, 1.0

    def full_size_step(self) -> int:
        """The first step at which the last stage is fully faded in."""
        if self.stages == 1:
            return 0
        return self.stable + (self.stages - 2) * (self.fade + self.stable) + self.fade - 1


@register_recipe(
    "progan", description="Progressive GAN (Karras et al. 2017): grows 4x4 -> --size with fade-in"
)
class ProGANRecipe(Recipe):
    capabilities = Capabilities(task="generate", latent_spaces=("z",), label="image generator")
    config_class = ProGANConfig

    def build(self) -> None:
        c, d = self.config, self.data
        widths = dict(channel_base=c.channel_base, max_channels=c.max_channels)
        self.G = self.add_model(
            "G",
            ModelSpec("progan.G", dict(z_dim=c.z_dim, img_channels=d.channels, img_size=d.size, **widths)),
        )
        self.D = self.add_model(
            "D",
            ModelSpec(
                "progan.D",
                dict(img_channels=d.channels, img_size=d.size, mbstd_group=c.mbstd_group, **widths),
            ),
        )
        self.loss = get_adversarial_loss(c.loss)
        for name, model, lr in (("G", self.G, c.lr_g), ("D", self.D, c.lr_d)):
            self.optimizers[name] = torch.optim.Adam(model.parameters(), lr=lr, betas=c.betas, eps=1e-8)
        self.augment = Augmenter(c.augment, target=c.ada_target, speed_kimg=c.ada_kimg)
        self.stages = num_stages(d.size)
        self.schedule: GrowthSchedule | None = None  # resolved at the first step (it may need train.steps)
        self.set_growth(0, 1.0)

    def set_growth(self, stage: int, alpha: float) -> None:
        self.stage, self.alpha = stage, alpha
        self.G.set_growth(stage, alpha)
        self.D.set_growth(stage, alpha)

    def resolve_schedule(self, total_steps: int) -> GrowthSchedule:
        c = self.config
        even = GrowthSchedule.even(self.stages, total_steps)
        schedule = GrowthSchedule(self.stages, c.stable_steps or even.stable, c.fade_steps or even.fade)
        if schedule.full_size_step() >= total_steps:
            size = self.data.size
            warn(
                f"the growth schedule reaches {size}x{size} at step {schedule.full_size_step() + 1} but "
                f"training stops at step {total_steps}, so the model will not reach full resolution; "
                "raise --steps or lower model.stable_steps / model.fade_steps (null splits the steps evenly)"
            )
        return schedule

    def begin_step(self, step: int, total_steps: int) -> None:
        if self.schedule is None:
            self.schedule = self.resolve_schedule(total_steps)
        stage, alpha = self.schedule.at(step)
        if stage != self.stage and self.config.reset_optimizers:
            for opt in self.optimizers.values():
                opt.state.clear()
        self.set_growth(stage, alpha)

    # ---------------------------------------------------------------- phases

    def draw_z(self, n: int) -> torch.Tensor:
        return self.randn(n, self.config.z_dim)

    def reals(self, batch: Batch) -> torch.Tensor:
        return downsample_reals(batch.real, self.stage, self.alpha, self.data.size)

    def d_main(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        c = self.config
        fake = self.G(self.draw_z(batch.real.shape[0]), clamp=False)
        self.keep_fakes(batch, fake)
        real = self.augment(self.reals(batch), self.generator)
        fake = self.augment(fake.detach(), self.generator)
        real_logits, fake_logits = self.D(real), self.D(fake)
        loss = self.loss.d_loss(real_logits, fake_logits)
        logs = {
            "D_loss": loss.detach(),
            "D_real": real_logits.detach().mean(),
            "D_fake": fake_logits.detach().mean(),
        }
        if c.drift > 0:
            loss = loss + c.drift * real_logits.square().mean()
        if c.gp_weight > 0:
            gp = gradient_penalty(self.D, real, fake, generator=self.generator)
            loss = loss + c.gp_weight * gp
            logs["D_gp"] = gp.detach()
        self.augment.observe(real_logits)
        growth = {"resolution": torch.tensor(float(4 * 2**self.stage)), "alpha": torch.tensor(self.alpha)}
        return loss, {**logs, **growth, **self.augment.logs()}

    def g_main(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        fake = self.kept_fakes(batch, lambda: self.G(self.draw_z(batch.real.shape[0]), clamp=False))
        loss = self.loss.g_loss(self.D(self.augment(fake, self.generator)))
        return loss, {"G_loss": loss.detach()}

    def phases(self) -> list[Phase]:
        return [Phase("D_main", "D", self.d_main), Phase("G_main", "G", self.g_main)]

    def sample_inputs(self, n: int, generator: torch.Generator, examples: Batch) -> dict[str, Any]:
        return {"z": torch.randn(n, self.config.z_dim, generator=generator), "labels": None, "nrow": None}

    # ---------------------------------------------------------------- state

    def state_dict(self) -> dict[str, Any]:
        return {
            "schedule": asdict(self.schedule) if self.schedule is not None else None,
            "stage": self.stage,
            "alpha": self.alpha,
            "augment": self.augment.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        raw = state.get("schedule")
        self.schedule = GrowthSchedule(**raw) if raw is not None else None
        if self.schedule is not None and self.schedule.stages != self.stages:
            raise ConfigError(
                f"the checkpoint grows through {self.schedule.stages} stages, this run needs {self.stages}: "
                "resume needs the same data.size"
            )
        self.set_growth(int(state["stage"]), float(state["alpha"]))
        self.augment.load_state_dict(state["augment"])


# ---------------------------------------------------------------- presets


@PRESETS.register(
    "progan",
    description="Progressive GAN growing 4x4 -> --size on your --data (default emoji at 64); a GPU job",
)
def progan_preset() -> RunConfig:
    return RunConfig(
        name="progan",
        recipe="progan",
        data=DataConfig(source="emoji", size=64, channels=3),
        train=TrainConfig(
            steps=60_000, batch_size=16, ema_decay=0.999, sample_every=1000, checkpoint_every=2000
        ),
        model=ProGANConfig(z_dim=256, channel_base=4096, max_channels=256),
    )
