"""The original GAN (Goodfellow et al. 2014) and DCGAN (Radford et al. 2015), unconditional or
class-conditional (a label embedding in G, a projection discriminator: Miyato & Koyama 2018).

Both train the same way: a discriminator phase on real and fake images, then a generator phase,
with any of the adversarial losses in `ganforge.losses` and an optional gradient penalty
(Gulrajani et al. 2017). `d_steps` discriminator updates per generator update is an interval on
the generator phase, not a branch in the loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F

from ganforge.augment import Augmenter
from ganforge.capabilities import Capabilities
from ganforge.config import OptimConfig
from ganforge.errors import ConfigError
from ganforge.losses import get_adversarial_loss, gradient_penalty, mode_seeking_ratio, paired_labels
from ganforge.recipes.base import Batch, ModelSpec, Phase, Recipe, register_recipe


@dataclass
class AdversarialConfig(OptimConfig):
    z_dim: int = 100  # length of the noise vector z
    conditional: bool = False  # learn p(x | class); needs labels (class subfolders or a labelled built-in)
    loss: Literal["ns", "hinge", "lsgan", "wgan"] = "ns"  # ns: non-saturating (Goodfellow 2014)
    gp_weight: float = 0.0  # gradient penalty weight; 10 with loss=wgan gives WGAN-GP
    spectral_norm: bool = False  # spectral norm on D's layers (Miyato et al. 2018)
    d_steps: int = 1  # discriminator updates per generator update (5 for WGAN-GP)
    # mode-seeking term (Mao et al. 2019): G is rewarded for images that move with z. Conditional G
    # otherwise learns one image per class (cdcgan-mnist's sevens: pixel spread 0.017 across seeds)
    mode_seeking: float = 0.0

    def validate(self) -> None:
        if self.z_dim < 1:
            raise ConfigError("model.z_dim must be at least 1")
        if self.d_steps < 1:
            raise ConfigError("model.d_steps must be at least 1")
        if self.gp_weight < 0:
            raise ConfigError("model.gp_weight must be >= 0")
        if self.mode_seeking < 0:
            raise ConfigError("model.mode_seeking must be >= 0 (0 turns it off; 1 is Mao et al.'s weight)")


@dataclass
class DCGANConfig(AdversarialConfig):
    g_channels: int = 64  # width of G's last block; the widest block is 8x this at 64x64
    d_channels: int = 64  # width of D's first block
    d_norm: Literal["batch", "none"] = "batch"  # use "none" with a gradient penalty
    augment: Literal["none", "diffaugment", "ada"] = "none"  # D augmentation (ganforge.augment)
    # InfoGAN (Chen et al. 2016) categorical code read off z: K modes G must keep apart, Q (a head on
    # D) must tell apart; 0 is plain DCGAN. info_weight is lambda, 1 for categorical codes in the paper
    info_codes: int = 0
    info_weight: float = 1.0

    def validate(self) -> None:
        super().validate()
        if self.g_channels < 1 or self.d_channels < 1:
            raise ConfigError("model.g_channels and model.d_channels must be at least 1")
        if self.info_codes and not 2 <= self.info_codes < self.z_dim:
            raise ConfigError(
                f"model.info_codes={self.info_codes} must be 0 (off) or 2..{self.z_dim - 1} "
                f"(fewer than model.z_dim={self.z_dim}); set model.info_codes=0 or a larger model.z_dim"
            )
        if self.info_weight < 0:
            raise ConfigError("model.info_weight must be >= 0, e.g. 1")


@dataclass
class MLPGANConfig(AdversarialConfig):
    hidden: int = 512  # units in every hidden layer of G and D
    layers: int = 3  # hidden layers in G and D
    dropout: float = 0.3  # dropout in D (Goodfellow et al. used maxout + dropout)

    def validate(self) -> None:
        super().validate()
        if self.hidden < 1 or self.layers < 1:
            raise ConfigError("model.hidden and model.layers must be at least 1")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError("model.dropout must lie in [0, 1)")


class AdversarialRecipe(Recipe):
    capabilities = Capabilities(task="generate", latent_spaces=("z",), label="image generator")
    """Shared training logic of `gan` and `dcgan`; subclasses only say which networks to build."""

    def generator_spec(self, num_classes: int) -> ModelSpec:
        raise NotImplementedError

    def discriminator_spec(self, num_classes: int) -> ModelSpec:
        raise NotImplementedError

    def build(self) -> None:
        cfg = self.config
        num_classes = 0
        if cfg.conditional:
            if self.data.num_classes < 2:
                raise ConfigError(
                    "conditional training needs class labels: use a labelled built-in (mnist-5k, "
                    "fashion-mnist, digits) or a folder with one subfolder per class"
                )
            num_classes = self.data.num_classes
        self.G = self.add_model("G", self.generator_spec(num_classes))
        self.D = self.add_model("D", self.discriminator_spec(num_classes))
        self.loss = get_adversarial_loss(cfg.loss)
        self.optimizers["G"] = torch.optim.Adam(self.G.parameters(), lr=cfg.lr_g, betas=cfg.betas)
        self.optimizers["D"] = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d, betas=cfg.betas)
        # "none" draws no random numbers, so runs without augmentation stay exactly as they were
        self.augment = Augmenter(getattr(cfg, "augment", "none"))
        self._g_runs = True  # whether G_main follows D_main on this step (d_steps)

    def begin_step(self, step: int, total_steps: int) -> None:
        self._g_runs = step % self.config.d_steps == 0

    def draw_z(self, n: int) -> torch.Tensor:
        return self.randn(n, self.config.z_dim)

    def draw_labels(self, batch: Batch) -> torch.Tensor | None:
        # Fake images take the batch's own labels, so D sees the data's class balance. With the
        # mode-seeking term the second half repeats the first half's labels: image i and image i + h
        # are then a same-label pair for that term, and G runs once per step instead of twice.
        if not self.G.num_classes:
            return None
        if self.config.mode_seeking > 0:
            return paired_labels(batch.labels)
        return batch.labels

    def judge_fakes(
        self, fake: torch.Tensor, labels: torch.Tensor | None, z: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """D's logits on `fake`, and with InfoGAN codes the cross-entropy of Q's guess of each fake's
        code against the code G read off its z (None without codes)."""
        if not getattr(self.config, "info_codes", 0):
            return self.D(fake, labels), None
        logits, code_logits = self.D(fake, labels, codes=True)
        return logits, F.cross_entropy(code_logits.float(), self.G.code_of(z))

    def d_main(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        labels = self.draw_labels(batch)
        z = self.draw_z(batch.real.shape[0])
        if self._g_runs:  # G_main reuses these fakes: keep their graph
            fake = self.G(z, labels)
            self.keep_fakes(batch, (fake, z))
            fake = fake.detach()
        else:
            with torch.no_grad():
                fake = self.G(z, labels)
        real = self.augment(batch.real, self.generator)
        fake = self.augment(fake, self.generator)
        real_logits = self.D(real, batch.labels if labels is not None else None)
        fake_logits, info = self.judge_fakes(fake, labels, z)
        loss = self.loss.d_loss(real_logits, fake_logits)
        self.augment.observe(real_logits)
        logs = {
            "D_loss": loss.detach(),
            "D_real": real_logits.detach().mean(),
            "D_fake": fake_logits.detach().mean(),
            **self.augment.logs(),
        }
        if info is not None:
            loss = loss + self.config.info_weight * info
            logs["D_info"] = info.detach()
        if self.config.gp_weight > 0:
            real_labels = batch.labels if labels is not None else None  # fakes' may be paired
            gp = gradient_penalty(self.D, real, fake, real_labels, generator=self.generator)
            loss = loss + self.config.gp_weight * gp
            logs["D_gp"] = gp.detach()
        return loss, logs

    def g_main(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        labels = self.draw_labels(batch)

        def make() -> tuple[torch.Tensor, torch.Tensor]:
            z = self.draw_z(batch.real.shape[0])
            return self.G(z, labels), z

        fake, z = self.kept_fakes(batch, make)
        fake_logits, info = self.judge_fakes(self.augment(fake, self.generator), labels, z)
        loss = self.loss.g_loss(fake_logits)
        logs = {"G_loss": loss.detach()}
        if info is not None:
            loss = loss + self.config.info_weight * info
            logs["G_info"] = info.detach()
        if self.config.mode_seeking > 0:
            # Mao et al. 2019: the ratio of image distance to latent distance for pairs with the same
            # labels; its inverse is minimized, so images that ignore z cost the most. The pairs are
            # the batch's two halves (draw_labels gives them the same labels), not a second G pass:
            # the same term for 1.0x the CPU per step instead of 1.7x
            ratio = mode_seeking_ratio(fake, z)
            loss = loss + self.config.mode_seeking / (ratio + 1e-5)
            logs["G_ms_ratio"] = ratio.detach()
        return loss, logs

    def phases(self) -> list[Phase]:
        return [
            Phase("D_main", "D", self.d_main),
            Phase("G_main", "G", self.g_main, interval=self.config.d_steps),
        ]

    def sample_inputs(self, n: int, generator: torch.Generator, examples: Batch) -> dict[str, Any]:
        return self.noise_grid_inputs(torch.randn(n, self.config.z_dim, generator=generator))

    def state_dict(self) -> dict[str, Any]:
        return {"augment": self.augment.state_dict()} if self.augment.enabled else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.augment.enabled and "augment" in state:
            self.augment.load_state_dict(state["augment"])


@register_recipe("dcgan", description="DCGAN (Radford et al. 2015); --conditional for a cGAN")
class DCGANRecipe(AdversarialRecipe):
    config_class = DCGANConfig
    channels_last = True  # 1.1-1.3x per step on CPU (bench/train_throughput.py); test_speed.py checks it

    def generator_spec(self, num_classes: int) -> ModelSpec:
        c, d = self.config, self.data
        kwargs = dict(z_dim=c.z_dim, img_channels=d.channels, img_size=d.size, base_channels=c.g_channels)
        return ModelSpec("dcgan.G", {**kwargs, "num_classes": num_classes, "codes": c.info_codes})

    def discriminator_spec(self, num_classes: int) -> ModelSpec:
        c, d = self.config, self.data
        return ModelSpec(
            "dcgan.D",
            dict(
                img_channels=d.channels,
                img_size=d.size,
                base_channels=c.d_channels,
                num_classes=num_classes,
                spectral_norm=c.spectral_norm,
                norm=c.d_norm,
                codes=c.info_codes,
            ),
        )


@register_recipe("gan", description="the original MLP GAN (Goodfellow et al. 2014)")
class MLPGANRecipe(AdversarialRecipe):
    config_class = MLPGANConfig

    def generator_spec(self, num_classes: int) -> ModelSpec:
        c, d = self.config, self.data
        return ModelSpec(
            "gan_mlp.G",
            dict(
                z_dim=c.z_dim,
                img_channels=d.channels,
                img_size=d.size,
                hidden=c.hidden,
                layers=c.layers,
                num_classes=num_classes,
            ),
        )

    def discriminator_spec(self, num_classes: int) -> ModelSpec:
        c, d = self.config, self.data
        return ModelSpec(
            "gan_mlp.D",
            dict(
                img_channels=d.channels,
                img_size=d.size,
                hidden=c.hidden,
                layers=c.layers,
                num_classes=num_classes,
                spectral_norm=c.spectral_norm,
                dropout=c.dropout,
            ),
        )
