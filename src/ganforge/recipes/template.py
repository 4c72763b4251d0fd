"""A template for a new family: copy this file to `recipes/<name>.py`, rename, fill in the blanks and
uncomment the `@register_recipe` line. Every file in `recipes/` is imported when a recipe is looked
up, so there is no import line to add; this one registers nothing itself (a test registers it).

A recipe owns four things: its config dataclass (the typed fields ARE the documentation), the
models it builds through the model registry, the phases of one training step, and the
capabilities of its bundles (what they can do: generate, translate, upscale, classify). The CLI,
the studio, the model card and the hub read those capabilities and never name a recipe, so
declaring them is all it takes for the family to be offered everywhere. The trainer does
everything else: data, EMA copies, checkpoints, samples, logs, resume, health guard, DDP.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ganforge.capabilities import Capabilities
from ganforge.config import OptimConfig
from ganforge.recipes.base import Batch, ModelSpec, Phase, Recipe


@dataclass
class MyConfig(OptimConfig):  # lr_g, lr_d, betas (Adam) and decay_start (the schedule), validated once
    z_dim: int = 128  # say why a field has its default, in a trailing comment
    lr_d: float = 2e-4  # re-declare an optimizer field only to change its default

    def validate(self) -> None:
        """Raise ganforge.errors.ConfigError naming the key and the fix for a bad value."""


class MyRecipe(Recipe):  # decorate with @register_recipe("my-family", description="...")
    config_class = MyConfig
    # What the bundle can do. A noise-to-image generator: `ganforge sample`, interpolate, project and
    # the studio's generate/breed pages. An image-to-image family would declare e.g.
    # Capabilities(task="translate", latent_spaces=(), input_kind="gray", label="colorize"), and
    # override `describe` where its config changes them (see recipes/pix2pix.py, recipes/srgan.py).
    capabilities = Capabilities(task="generate", latent_spaces=("z",), label="image generator")

    def build(self) -> None:
        # Models come from the registry so that bundles can rebuild them from JSON.
        self.G = self.add_model(
            "G",
            ModelSpec(
                "dcgan.G",
                dict(z_dim=self.config.z_dim, img_channels=self.data.channels, img_size=self.data.size),
            ),
        )
        self.D = self.add_model(
            "D", ModelSpec("dcgan.D", dict(img_channels=self.data.channels, img_size=self.data.size))
        )
        c = self.config
        self.optimizers["G"] = torch.optim.Adam(self.G.parameters(), lr=c.lr_g, betas=c.betas)
        self.optimizers["D"] = torch.optim.Adam(self.D.parameters(), lr=c.lr_d, betas=c.betas)

    def phases(self) -> list[Phase]:
        # Lazy regularization is one more phase with an interval, e.g. Phase("D_reg", "D", self.d_reg, 16).
        return [Phase("D_main", "D", self.d_main), Phase("G_main", "G", self.g_main)]

    def d_main(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        # Draw every random number through self.randn (self.generator) so that resume is exact. To run G
        # once a step, keep these fakes for g_main with self.keep_fakes (see recipes/gan.py).
        z = self.randn(batch.real.shape[0], self.config.z_dim)
        with torch.no_grad():
            fake = self.G(z)
        loss = (
            torch.nn.functional.softplus(-self.D(batch.real)).mean()
            + torch.nn.functional.softplus(self.D(fake)).mean()
        )
        return loss, {"D_loss": loss.detach()}

    def g_main(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        z = self.randn(batch.real.shape[0], self.config.z_dim)
        loss = torch.nn.functional.softplus(-self.D(self.G(z))).mean()
        return loss, {"G_loss": loss.detach()}

    def sample_inputs(self, n: int, generator: torch.Generator, examples: Batch) -> dict[str, Any]:
        return {"z": torch.randn(n, self.config.z_dim, generator=generator), "labels": None, "nrow": None}
