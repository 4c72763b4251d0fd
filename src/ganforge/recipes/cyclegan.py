"""CycleGAN: unpaired image-to-image translation with cycle consistency (Zhu et al. 2017).

Two ResNet generators, G_AB: A -> B and G_BA: B -> A, and two PatchGAN discriminators, D_A (real
A vs G_BA's fakes) and D_B (real B vs G_AB's fakes), trained with the least-squares GAN loss
(Mao et al. 2017). Without pairs, the cycle loss lambda * (|G_BA(G_AB(a)) - a|_1 + |G_AB(G_BA(b)) -
b|_1) (lambda = 10) ties each output to its input; the identity loss 0.5 * lambda * (|G_AB(b) - b|_1 +
|G_BA(a) - a|_1) keeps colors where nothing needs to change. The discriminators see fakes from a
50-image history pool (Shrivastava et al. 2017). The learning rate is constant for the first half
of training, then decays linearly to zero (`begin_step`).

Per step, as in the authors' code: the generator phase first (both Gs, one optimizer), then the
discriminator phase (both Ds, one optimizer) on the fakes the generator phase made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch.nn import functional as F

from ganforge.capabilities import Capabilities
from ganforge.config import DataConfig, OptimConfig, RunConfig, TrainConfig
from ganforge.data import printed_digits  # noqa: F401 - registers printed-digits for the demo preset
from ganforge.data.dataset import ImageData
from ganforge.errors import ConfigError
from ganforge.image_pool import ImagePool
from ganforge.losses import get_adversarial_loss
from ganforge.recipes.base import Batch, ModelSpec, Phase, Recipe, register_recipe
from ganforge.registry import PRESETS


@dataclass
class CycleGANConfig(OptimConfig):
    data_a: str | None = None  # domain A (--data-a): a built-in name or a folder; None: from --data DIR
    data_b: str | None = None  # domain B (--data-b)
    direction: Literal["AtoB", "BtoA"] = "AtoB"  # led with in previews; the default of `ganforge translate`
    g_channels: int = 64  # ResNet G width of the first conv (64 in the paper)
    d_channels: int = 64  # PatchGAN width of the first layer (64 in the paper)
    n_blocks: int | None = None  # residual blocks; None: 9 at 256 px and above, 6 below (the paper)
    d_layers: int = 3  # 3: the 70x70 PatchGAN of the paper
    norm: Literal["instance", "batch"] = "instance"  # instance norm in G and D, as in the paper
    loss: Literal["lsgan", "ns", "hinge"] = "lsgan"  # least squares in the paper (more stable than ns)
    lambda_cycle: float = 10.0  # weight of each cycle-consistency L1 term
    lambda_identity: float = 0.5  # identity L1 weight, as a fraction of lambda_cycle (0 turns it off)
    pool_size: int = 50  # fakes remembered for the discriminators (0: no pool)
    decay_start: float = 0.5  # the paper: constant rates for the first half, then linear decay toward 0

    def validate(self) -> None:
        if self.g_channels < 1 or self.d_channels < 1:
            raise ConfigError("model.g_channels and model.d_channels must be at least 1")
        if self.n_blocks is not None and self.n_blocks < 0:
            raise ConfigError(f"model.n_blocks={self.n_blocks} must be >= 0 (6 or 9 in the paper), or null")
        if not 0 <= self.d_layers <= 8:
            raise ConfigError(f"model.d_layers={self.d_layers} must lie in 0..8; 3 is the 70x70 PatchGAN")
        if self.lambda_cycle < 0 or self.lambda_identity < 0:
            raise ConfigError("model.lambda_cycle and model.lambda_identity must be >= 0")
        if self.pool_size < 0:
            raise ConfigError("model.pool_size must be >= 0 (0 turns the image pool off)")


@register_recipe("cyclegan", description="CycleGAN (Zhu et al. 2017): unpaired translation, two ResNet Gs")
class CycleGANRecipe(Recipe):
    capabilities = Capabilities(
        task="translate",
        latent_spaces=(),
        directions=("AtoB", "BtoA"),
        input_kind="image",
        label="unpaired translation",
    )
    config_class = CycleGANConfig
    ema_of = ()  # CycleGAN uses no EMA
    generator_name = "G_AB"
    exports = ("G_AB", "G_BA")

    @classmethod
    def load_data(cls, cfg: Any) -> dict[str, ImageData]:
        from ganforge.data.unpaired import load_unpaired

        domains = load_unpaired(cfg.data, cfg.model.data_a, cfg.model.data_b)
        return {"main": domains["A"], "B": domains["B"]}

    def build(self) -> None:
        cfg, data = self.config, self.data
        min_size = 3 * 2**cfg.d_layers if cfg.d_layers else 8
        if data.size < max(min_size, 8) or data.size % 4:
            raise ConfigError(
                f"CycleGAN with model.d_layers={cfg.d_layers} needs a size that is a multiple of 4 and at "
                f"least {max(min_size, 8)} px, got {data.size}; change --size or lower model.d_layers"
            )
        n_blocks = cfg.n_blocks if cfg.n_blocks is not None else (9 if data.size >= 256 else 6)
        c = data.channels
        g_kwargs = dict(
            in_channels=c, out_channels=c, base_channels=cfg.g_channels, n_blocks=n_blocks, norm=cfg.norm
        )
        d_kwargs = dict(in_channels=c, base_channels=cfg.d_channels, n_layers=cfg.d_layers, norm=cfg.norm)
        self.G_AB = self.add_model("G_AB", ModelSpec("resnet.G", dict(g_kwargs)))
        self.G_BA = self.add_model("G_BA", ModelSpec("resnet.G", dict(g_kwargs)))
        self.D_A = self.add_model("D_A", ModelSpec("patchgan.D", dict(d_kwargs)))
        self.D_B = self.add_model("D_B", ModelSpec("patchgan.D", dict(d_kwargs)))
        self.loss = get_adversarial_loss(cfg.loss)
        # The authors' code minimizes (D(G(x)) - 1)^2 for G and 0.5 * (real + fake terms) for D;
        # ganforge's lsgan loss has 0.5 on both, the others on neither.
        self.g_scale = 2.0 if cfg.loss == "lsgan" else 1.0
        self.d_scale = 1.0 if cfg.loss == "lsgan" else 0.5
        g_params = [*self.G_AB.parameters(), *self.G_BA.parameters()]
        d_params = [*self.D_A.parameters(), *self.D_B.parameters()]
        self.optimizers["G"] = torch.optim.Adam(g_params, lr=cfg.lr_g, betas=cfg.betas)
        self.optimizers["D"] = torch.optim.Adam(d_params, lr=cfg.lr_d, betas=cfg.betas)
        self.pool_A = ImagePool(cfg.pool_size)  # fakes of domain A (G_BA's outputs), for D_A
        self.pool_B = ImagePool(cfg.pool_size)
        self._fakes: tuple[torch.Tensor, torch.Tensor] | None = None  # (fake_A, fake_B) of this step

    def g_main(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        cfg = self.config
        real_A, real_B = batch.real, batch.extra["B"].real
        fake_B = self.G_AB(real_A)
        fake_A = self.G_BA(real_B)
        cycle_A = F.l1_loss(self.G_BA(fake_B), real_A)  # |G_BA(G_AB(a)) - a|_1
        cycle_B = F.l1_loss(self.G_AB(fake_A), real_B)
        adv_AB = self.loss.g_loss(self.D_B(fake_B))
        adv_BA = self.loss.g_loss(self.D_A(fake_A))
        loss = self.g_scale * (adv_AB + adv_BA) + cfg.lambda_cycle * (cycle_A + cycle_B)
        logs = {"G_adv_AB": adv_AB.detach(), "G_adv_BA": adv_BA.detach()}
        logs |= {"cycle_A": cycle_A.detach(), "cycle_B": cycle_B.detach()}
        if cfg.lambda_identity > 0:
            idt_A = F.l1_loss(self.G_AB(real_B), real_B)  # G_AB should leave B images alone
            idt_B = F.l1_loss(self.G_BA(real_A), real_A)
            loss = loss + cfg.lambda_cycle * cfg.lambda_identity * (idt_A + idt_B)
            logs |= {"idt_A": idt_A.detach(), "idt_B": idt_B.detach()}
        self._fakes = (fake_A.detach(), fake_B.detach())
        logs["G_loss"] = loss.detach()
        return loss, logs

    def d_main(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        real_A, real_B = batch.real, batch.extra["B"].real
        if self._fakes is None:  # the generator phase always runs first; this is a direct call
            with torch.no_grad():
                self._fakes = (self.G_BA(real_B), self.G_AB(real_A))
        fake_A, fake_B = self._fakes
        self._fakes = None
        fake_A = self.pool_A.query(fake_A, self.generator)
        fake_B = self.pool_B.query(fake_B, self.generator)
        loss_A = self.d_scale * self.loss.d_loss(self.D_A(real_A), self.D_A(fake_A))
        loss_B = self.d_scale * self.loss.d_loss(self.D_B(real_B), self.D_B(fake_B))
        loss = loss_A + loss_B
        return loss, {"D_A": loss_A.detach(), "D_B": loss_B.detach(), "D_loss": loss.detach()}

    def phases(self) -> list[Phase]:
        return [Phase("G_main", "G", self.g_main), Phase("D_main", "D", self.d_main)]

    def sample_inputs(self, n: int, generator: torch.Generator, examples: Batch) -> dict[str, Any]:
        """Rows of a | G_AB(a) | G_BA(G_AB(a)) | b | G_BA(b) | G_AB(G_BA(b)) (B first for BtoA)."""
        k = max(1, min(n // 6, len(examples.real), len(examples.extra["B"].real)))
        return {"A": examples.real[:k], "B": examples.extra["B"].real[:k], "nrow": 6}

    def preview(self, models: dict[str, torch.nn.Module], inputs: dict[str, Any]) -> torch.Tensor:
        G_AB, G_BA = models["G_AB"], models["G_BA"]
        device = next(G_AB.parameters()).device
        was_training = G_AB.training, G_BA.training
        G_AB.eval(), G_BA.eval()
        try:
            A, B = inputs["A"].to(device), inputs["B"].to(device)
            fake_B, fake_A = G_AB(A), G_BA(B)
            halves = [[A, fake_B, G_BA(fake_B)], [B, fake_A, G_AB(fake_A)]]
        finally:
            G_AB.train(was_training[0]), G_BA.train(was_training[1])
        if self.config.direction == "BtoA":
            halves.reverse()
        columns = [*halves[0], *halves[1]]  # six (k, C, H, W): both domains have the same channels
        return torch.stack(columns, dim=1).flatten(0, 1).cpu()  # (k * 6, C, H, W), row by row

    def state_dict(self) -> dict[str, Any]:
        return {"pool_A": self.pool_A.state_dict(), "pool_B": self.pool_B.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.pool_A.load_state_dict(state["pool_A"])
        self.pool_B.load_state_dict(state["pool_B"])
        self._fakes = None


# ---------------------------------------------------------------------------------------- presets


@PRESETS.register(
    "cyclegan",
    description="CycleGAN with the paper's settings: --data horse2zebra (downloaded) or a trainA/trainB "
    "folder, or --data-a/--data-b; 256 px, 9 blocks (6 at --size 128)",
)
def cyclegan_preset() -> RunConfig:
    return RunConfig(
        name="cyclegan",
        recipe="cyclegan",
        data=DataConfig(source="horse2zebra", size=256, channels=3),
        # 200 epochs at batch size 1, the last 100 decaying, as in the paper; an epoch of the authors'
        # code is max(|A|, |B|) images, 1,334 for horse2zebra
        train=TrainConfig(
            steps=266_800, batch_size=1, log_every=100, sample_every=2000, checkpoint_every=5000
        ),
        model=CycleGANConfig(),
    )


@PRESETS.register(
    "cyclegan-digits",
    description="offline CycleGAN demo: printed digits (colored, many fonts) <-> MNIST handwriting at 32x32",
)
def cyclegan_digits() -> RunConfig:
    # Small enough for a CPU: 16-wide generators with 3 residual blocks, a 2-layer PatchGAN (34x34
    # receptive field, a whole 32x32 digit), batch 4.
    return RunConfig(
        name="cyclegan-digits",
        recipe="cyclegan",
        data=DataConfig(source="printed-digits", size=32, channels=3),
        train=TrainConfig(
            steps=2000, batch_size=4, log_every=25, sample_every=250, checkpoint_every=500, n_samples=48
        ),
        model=CycleGANConfig(
            data_a="printed-digits", data_b="mnist-5k", g_channels=16, d_channels=16, n_blocks=3, d_layers=2
        ),
    )
