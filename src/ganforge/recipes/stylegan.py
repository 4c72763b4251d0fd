"""StyleGAN-style training (Karras et al. 2019; Karras et al. 2020, "Analyzing and Improving the Image
Quality of StyleGAN"): non-saturating logistic loss, style-mixing regularization, lazy R1 on D
(Mescheder et al. 2018) and optional lazy path-length regularization on G, with optional
DiffAugment or ADA (`ganforge.augment`).

Phases: ``D_main``, ``D_reg`` (R1 every `r1_interval` steps), ``G_main``, ``G_reg`` (path length every
`pl_interval` steps). Lazy regularization runs less often with a proportionally larger weight, and
Adam's learning rate and betas are adjusted by ``c = interval / (interval + 1)`` as in the paper.

Paper settings (GPU, FFHQ 256-1024): z_dim = w_dim = 512, 8 mapping layers, channel_base 32768,
max_channels 512, batch 32, lr 0.002 (0.0025 at 256), betas (0, 0.99), R1 gamma 10 at 1024
(ADA's heuristic 0.0002 * size**2 / batch elsewhere), path length weight 2, style mixing 0.9, EMA of
G over 10k images. The CPU presets shrink widths and depth; see `stylegan-emoji64`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F

from ganforge.augment import Augmenter
from ganforge.capabilities import Capabilities
from ganforge.config import DataConfig, OptimConfig, RunConfig, TrainConfig
from ganforge.errors import ConfigError
from ganforge.losses import r1_penalty
from ganforge.recipes.base import Batch, ModelSpec, Phase, Recipe, register_recipe
from ganforge.registry import PRESETS


@dataclass
class StyleGANConfig(OptimConfig):
    z_dim: int = 512  # length of z
    w_dim: int = 512  # length of w (the style vector)
    mapping_layers: int = 8  # dense layers z -> w (8 in the papers; 2-4 is plenty for small data)
    channel_base: int = 16384  # feature maps at resolution r: min(channel_base // r, max_channels)
    max_channels: int = 512
    lr_g: float = 0.002  # Karras et al. 2020
    lr_d: float = 0.002
    betas: tuple[float, float] = (0.0, 0.99)  # Adam; beta1 = 0 as in the papers
    r1_gamma: float | None = None  # R1 weight; None: ADA's heuristic 0.0002 * size**2 / global batch
    r1_interval: int = 16  # lazy R1: every 16 D steps
    pl_weight: float = 2.0  # path-length regularization weight; 0 switches it (and its cost) off
    pl_interval: int = 4  # lazy path-length: every 4 G steps
    pl_batch_shrink: int = 2  # the path-length batch is the batch divided by this
    pl_decay: float = 0.01  # decay of the running mean path length
    style_mixing: float = 0.9  # probability that a batch mixes the styles of two latents at a random layer
    mbstd_group: int = 4  # images per minibatch-stddev group in D
    augment: Literal["none", "diffaugment", "ada"] = "none"  # D augmentation (ganforge.augment)
    ada_target: float = 0.6  # ADA's target for r_t = E[sign(D(real))]
    ada_kimg: float = 100.0  # thousands of images for ADA's p to go 0 -> 1 (500 in the paper)

    def validate(self) -> None:
        for key in ("z_dim", "w_dim", "mapping_layers", "channel_base", "max_channels", "mbstd_group"):
            if getattr(self, key) < 1:
                raise ConfigError(f"model.{key} must be at least 1")
        if self.r1_gamma is not None and self.r1_gamma < 0:
            raise ConfigError("model.r1_gamma must be >= 0 (or null for the heuristic)")
        if min(self.r1_interval, self.pl_interval, self.pl_batch_shrink) < 1:
            raise ConfigError("model.r1_interval, model.pl_interval and model.pl_batch_shrink must be >= 1")
        if self.pl_weight < 0 or not 0.0 < self.pl_decay <= 1.0:
            raise ConfigError("model.pl_weight must be >= 0 and model.pl_decay in (0, 1]")
        if not 0.0 <= self.style_mixing <= 1.0:
            raise ConfigError(f"model.style_mixing={self.style_mixing} must lie in [0, 1]")
        if not 0.0 < self.ada_target < 1.0 or self.ada_kimg <= 0:
            raise ConfigError("model.ada_target must lie in (0, 1) and model.ada_kimg be positive")


def lazy_adam(params: Any, lr: float, betas: tuple[float, float], interval: int) -> torch.optim.Adam:
    """Adam for a player with lazy regularization every `interval` steps: lr and betas scaled by
    c = interval / (interval + 1) (Karras et al. 2020, appendix B); interval 0 means none."""
    c = interval / (interval + 1) if interval else 1.0
    return torch.optim.Adam(params, lr=lr * c, betas=(betas[0] ** c, betas[1] ** c), eps=1e-8)


def global_mean(value: torch.Tensor, world_size: int) -> torch.Tensor:
    """The mean of `value` over all processes (itself with one process)."""
    if world_size > 1 and torch.distributed.is_initialized():
        value = value.clone()
        torch.distributed.all_reduce(value)
        value = value / world_size
    return value


@register_recipe(
    "stylegan", description="StyleGAN-style generator (Karras et al. 2019/2020): styles, mixing, truncation"
)
class StyleGANRecipe(Recipe):
    capabilities = Capabilities(
        task="generate",
        latent_spaces=("z", "w", "w+"),
        style_mixing=True,
        label="style-based image generator",
    )
    config_class = StyleGANConfig
    channels_last = True  # 1.3x per step on CPU (bench/train_throughput.py --family stylegan)

    def build(self) -> None:
        c, d = self.config, self.data
        widths = dict(channel_base=c.channel_base, max_channels=c.max_channels)
        self.G = self.add_model(
            "G",
            ModelSpec(
                "stylegan.G",
                dict(
                    z_dim=c.z_dim,
                    w_dim=c.w_dim,
                    img_channels=d.channels,
                    img_size=d.size,
                    mapping_layers=c.mapping_layers,
                    **widths,
                ),
            ),
        )
        self.D = self.add_model(
            "D",
            ModelSpec(
                "stylegan.D",
                dict(img_channels=d.channels, img_size=d.size, mbstd_group=c.mbstd_group, **widths),
            ),
        )
        self.use_r1 = c.r1_gamma is None or c.r1_gamma > 0
        self.use_pl = c.pl_weight > 0
        self.optimizers["G"] = lazy_adam(
            self.G.parameters(), c.lr_g, c.betas, c.pl_interval if self.use_pl else 0
        )
        self.optimizers["D"] = lazy_adam(
            self.D.parameters(), c.lr_d, c.betas, c.r1_interval if self.use_r1 else 0
        )
        self.augment = Augmenter(c.augment, target=c.ada_target, speed_kimg=c.ada_kimg)
        self.pl_mean = torch.zeros([], device=self.device)

    def double_backward(self) -> str | None:
        used = [
            name
            for name, on in (
                ("R1 (model.r1_gamma)", self.use_r1),
                ("path length (model.pl_weight)", self.use_pl),
            )
            if on
        ]
        return " and ".join(used) or None

    def phases(self) -> list[Phase]:
        c = self.config
        phases = [Phase("D_main", "D", self.d_main)]
        if self.use_r1:
            phases.append(Phase("D_reg", "D", self.d_reg, interval=c.r1_interval, autocast=False))
        phases.append(Phase("G_main", "G", self.g_main))
        if self.use_pl:
            phases.append(Phase("G_reg", "G", self.g_reg, interval=c.pl_interval, autocast=False))
        return phases

    # ---------------------------------------------------------------- generating in training

    def draw_ws(self, n: int, track: bool = False) -> torch.Tensor:
        """ws (n, num_ws, w_dim) for training, with style mixing: with probability `style_mixing`
        every layer from a random cutoff on takes the styles of a second latent."""
        G = self.G
        ws = G.mapping(self.randn(n, self.config.z_dim))
        other = G.mapping(self.randn(n, self.config.z_dim))
        draws = torch.rand(2, generator=self.generator, device=self.generator.device).cpu()
        if track:
            G.track_w_avg(global_mean(ws[:, 0].detach().mean(dim=0), self.world_size))
        cutoff = G.num_ws
        if float(draws[0]) < self.config.style_mixing:
            cutoff = 1 + int(float(draws[1]) * (G.num_ws - 1))  # in 1 .. num_ws - 1
        take_other = (torch.arange(G.num_ws, device=ws.device) >= cutoff)[None, :, None]
        return torch.where(take_other, other, ws)

    def fake(self, n: int, track: bool = False) -> torch.Tensor:
        return self.G.synthesis(self.draw_ws(n, track), noise_mode="random", generator=self.generator)

    def r1_gamma(self, batch: int) -> float:
        if self.config.r1_gamma is not None:
            return self.config.r1_gamma
        return 0.0002 * self.data.size**2 / (batch * self.world_size)

    # ---------------------------------------------------------------- phases

    def d_main(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        fake = self.fake(batch.real.shape[0], track=True)
        self.keep_fakes(batch, fake)
        real_logits = self.D(self.augment(batch.real, self.generator))
        fake_logits = self.D(self.augment(fake.detach(), self.generator))
        loss = F.softplus(fake_logits).mean() + F.softplus(-real_logits).mean()
        self.augment.observe(real_logits)
        logs = {
            "D_loss": loss.detach(),
            "D_real": real_logits.detach().mean(),
            "D_fake": fake_logits.detach().mean(),
        }
        return loss, {**logs, **self.augment.logs()}

    def d_reg(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        real = batch.real.detach().requires_grad_(True)
        logits = self.D(self.augment(real, self.generator))
        penalty = r1_penalty(logits, real)
        gamma = self.r1_gamma(real.shape[0])
        return penalty * (gamma / 2) * self.config.r1_interval, {"D_r1": penalty.detach()}

    def g_main(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        fake = self.kept_fakes(batch, lambda: self.fake(batch.real.shape[0], track=True))
        loss = F.softplus(-self.D(self.augment(fake, self.generator))).mean()
        return loss, {"G_loss": loss.detach()}

    def g_reg(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Path-length regularization: the Jacobian of G w.r.t. w, projected on random image-space
        directions, should have the same length everywhere (Karras et al. 2020, section 3.2)."""
        n = max(1, batch.real.shape[0] // self.config.pl_batch_shrink)
        ws = self.draw_ws(n)
        fake = self.G.synthesis(ws, noise_mode="random", generator=self.generator)
        h, w = fake.shape[-2:]
        gen_device = self.generator.device
        directions = torch.randn(fake.shape, generator=self.generator, device=gen_device).to(fake.device)
        directions = directions / (h * w) ** 0.5
        (grad,) = torch.autograd.grad((fake * directions).sum(), ws, create_graph=True)
        lengths = grad.square().sum(dim=2).mean(dim=1).sqrt()  # (n,)
        mean = self.pl_mean.lerp(global_mean(lengths.detach().mean(), self.world_size), self.config.pl_decay)
        self.pl_mean = mean
        penalty = (lengths - mean).square().mean()
        loss = penalty * self.config.pl_weight * self.config.pl_interval
        return loss, {"G_pl": penalty.detach(), "pl_mean": mean}

    # ---------------------------------------------------------------- previews and state

    def sample_inputs(self, n: int, generator: torch.Generator, examples: Batch) -> dict[str, Any]:
        return {"z": torch.randn(n, self.config.z_dim, generator=generator), "labels": None, "nrow": None}

    def state_dict(self) -> dict[str, Any]:
        return {"augment": self.augment.state_dict(), "pl_mean": self.pl_mean.detach().cpu().clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.augment.load_state_dict(state["augment"])
        self.pl_mean = state["pl_mean"].to(self.device)


# ---------------------------------------------------------------- presets


@PRESETS.register(
    "stylegan",
    description="StyleGAN-style G at --size 64|128|256 on your --data (paper-like widths; a GPU job)",
)
def stylegan_preset() -> RunConfig:
    return RunConfig(
        name="stylegan",
        recipe="stylegan",
        data=DataConfig(source="emoji", size=64, channels=3),
        train=TrainConfig(
            steps=100_000, batch_size=32, ema_decay=0.998, sample_every=2000, checkpoint_every=5000
        ),
        model=StyleGANConfig(),
    )


@PRESETS.register(
    "stylegan-emoji64",
    description="small StyleGAN-style G on color emoji at 64x64, sized for CPU minutes (offline)",
)
def stylegan_emoji64() -> RunConfig:
    return RunConfig(
        name="stylegan-emoji64",
        recipe="stylegan",
        data=DataConfig(source="emoji", size=64, channels=3),
        train=TrainConfig(steps=1500, batch_size=16, ema_decay=0.995, sample_every=250, checkpoint_every=500),
        model=StyleGANConfig(
            z_dim=128,
            w_dim=128,
            mapping_layers=4,
            channel_base=1024,  # 64 maps up to 16x16, then 32 and 16: ~0.8 CPU-s per step on one core
            max_channels=64,
            lr_g=0.0025,
            lr_d=0.0025,
            pl_weight=0.0,  # path length doubles G's cost; off for CPU runs
        ),
    )


@PRESETS.register(
    "stylegan-lfw", description="smoke test: a tiny StyleGAN-style G on the 100 lfw-mini faces at 32x32"
)
def stylegan_lfw() -> RunConfig:
    return RunConfig(
        name="stylegan-lfw",
        recipe="stylegan",
        data=DataConfig(source="lfw-mini", size=32),
        train=TrainConfig(steps=200, batch_size=16, ema_decay=0.99, sample_every=100, checkpoint_every=100),
        model=StyleGANConfig(
            z_dim=64,
            w_dim=64,
            mapping_layers=2,
            channel_base=512,
            max_channels=64,
            augment="ada",
            pl_weight=0.0,
        ),
    )
