"""A template for a new family: copy this file to `recipes/<name>.py`, rename, fill in the blanks,
and import it in `recipes/__init__.py`. It is not imported by ganforge itself.

A recipe owns three things: its config dataclass (the typed fields ARE the documentation), the
models it builds through the model registry, and the phases of one training step. The trainer
does everything else: data, EMA copies, checkpoints, samples, logs, resume, health guard, DDP.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ganforge.recipes.base import Batch, ModelSpec, Phase, Recipe


@dataclass
class MyConfig:
    z_dim: int = 128  # say why a field has its default, in a trailing comment
    lr: float = 2e-4

    def validate(self) -> None:
        """Raise ganforge.errors.ConfigError naming the key and the fix for a bad value."""


class MyRecipe(Recipe):  # decorate with @register_recipe("my-family", description="...")
    config_class = MyConfig

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
        self.optimizers["G"] = torch.optim.Adam(self.G.parameters(), lr=self.config.lr, betas=(0.5, 0.999))
        self.optimizers["D"] = torch.optim.Adam(self.D.parameters(), lr=self.config.lr, betas=(0.5, 0.999))

    def phases(self) -> list[Phase]:
        # Lazy regularization is one more phase with an interval, e.g. Phase("D_reg", "D", self.d_reg, 16).
        return [Phase("D_main", "D", self.d_main), Phase("G_main", "G", self.g_main)]

    def d_main(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        # Draw every random number from self.generator so that resume is exact. To run G once a step,
        # keep these fakes for g_main with self.keep_fakes (see recipes/gan.py).
        z = torch.randn(batch.real.shape[0], self.config.z_dim, device=self.device, generator=self.generator)
        with torch.no_grad():
            fake = self.G(z)
        loss = (
            torch.nn.functional.softplus(-self.D(batch.real)).mean()
            + torch.nn.functional.softplus(self.D(fake)).mean()
        )
        return loss, {"D_loss": loss.detach()}

    def g_main(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        z = torch.randn(batch.real.shape[0], self.config.z_dim, device=self.device, generator=self.generator)
        loss = torch.nn.functional.softplus(-self.D(self.G(z))).mean()
        return loss, {"G_loss": loss.detach()}

    def sample_inputs(self, n: int, generator: torch.Generator, examples: Batch) -> dict[str, Any]:
        return {"z": torch.randn(n, self.config.z_dim, generator=generator), "labels": None, "nrow": None}
