"""The collapse guard: noise must reach every generator's output, and for conditional generators
noise within one class too.

Every recipe in the registry whose generator draws from noise (its G has `z_dim`) is trained for a
few steps on a tiny config, then sampled at 16 seeds: the images must differ by more than a floor
(pixel spread, ganforge.metrics.diversity). A conditional generator is also sampled at 16 seeds
within each class. `cdcgan-mnist` once drew sixteen identical sevens for sixteen seeds and 680
tests passed; this file exists so that a generator that ignores z fails here (shown below).

A new recipe is covered without editing this file: it is built from the registry with its default
config, shrunk where it has the usual width fields; TINY only makes known recipes faster.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import torch
from torch import nn

from conftest import tiny_images
from ganforge.config import DataConfig, RunConfig, TrainConfig
from ganforge.metrics.diversity import pixel_spread
from ganforge.pipelines.generate import GeneratePipeline
from ganforge.recipes.base import DataInfo
from ganforge.registry import PRESETS, RECIPES, load_all
from ganforge.training.trainer import Trainer

load_all()

SEEDS = 16
# Pixel spread (mean over pixels of the std across seeds, images in [-1, 1]) below which a generator
# counts as ignoring its noise. Trained tiny generators measure about 0.1 here; one that ignores z
# measures 0 (up to float rounding); cdcgan-mnist's collapsed sevens measured 0.017. 80 steps, not
# fewer: a DCGAN's BatchNorm running statistics start at var 1, so in eval mode (as sampled) its
# output barely moves with z for the first few dozen steps (0.0003 at step 0, 0.006 at 30, 0.11 at 100).
FLOOR = 0.01
# Fields that shrink any recipe's models to test size, applied when the recipe's config has them.
SHRINK = dict(
    z_dim=8, w_dim=8, mapping_layers=2, g_channels=8, d_channels=8, channel_base=64, max_channels=8,
    hidden=32, layers=2, g_width=16, c_width=16, stable_steps=4, fade_steps=4,
)  # fmt: skip
# Recipes that need their own data or settings to train at all (e.g. sgan needs labeled digits).
TINY: dict[str, dict[str, Any]] = {
    "sgan": dict(data=DataConfig(source="digits", size=8), model=dict(labels=50, c_layers=2)),
    "progan": dict(data=DataConfig(source="tiny", size=8)),
    "fastgan": dict(data=DataConfig(source="tiny", size=32), model=dict(holdout=0)),  # sizes 32..256 only
}


# Recipes that cannot be built without data they prepare themselves, and take no noise anyway.
NOT_FROM_NOISE = {"dtn": "translates images (G takes a source image); its build needs a pretrained encoder"}


def draws_from_noise(recipe: str) -> bool:
    """Whether the recipe's generator takes noise: its models built from its first preset (or its
    default config) for 1-channel data with 10 classes have a G with `z_dim`."""
    presets = [p for p in PRESETS.names() if PRESETS.get(p)().recipe == recipe]
    cfg = PRESETS.get(presets[0])() if presets else RunConfig(recipe=recipe)
    info = DataInfo(cfg.data.channels or 1, cfg.data.size, 10)
    built = RECIPES.get(recipe)(cfg.model, info, torch.device("cpu"), torch.Generator())
    return hasattr(built.models[built.generator_name], "z_dim")


def generator_recipes() -> list[str]:
    """Every registered recipe whose generator draws from noise: a new one is guarded without edits."""
    return [r for r in sorted(RECIPES.names()) if r not in NOT_FROM_NOISE and draws_from_noise(r)]


def test_the_guard_covers_the_known_generator_recipes():
    assert {"gan", "dcgan", "progan", "stylegan", "sgan", "fastgan"} <= set(generator_recipes())
    assert not {"pix2pix", "cyclegan", "srgan"} & set(generator_recipes())  # these translate images


def tiny_run(recipe: str, conditional: bool = False, steps: int = 80) -> RunConfig:
    extra = TINY.get(recipe, {})
    cfg = RunConfig(
        name=f"guard-{recipe}",
        recipe=recipe,
        data=extra.get("data", DataConfig(source="tiny", size=16)),
        train=TrainConfig(
            steps=steps,
            batch_size=8,
            log_every=steps,
            sample_every=steps,
            checkpoint_every=steps,
            n_samples=8,
            device="cpu",
            ema_decay=0.0,
            threads=1,
        ),  # fmt: skip
    )
    names = {f.name for f in dataclasses.fields(cfg.model)}
    for key, value in {**SHRINK, **extra.get("model", {})}.items():
        if key in names:
            setattr(cfg.model, key, value)
    if conditional:
        cfg.model.conditional = True
    return cfg.validate()


def train_tiny(recipe: str, tmp_path, conditional: bool = False) -> nn.Module:
    cfg = tiny_run(recipe, conditional)
    data = tiny_images(64, size=cfg.data.size, classes=4) if cfg.data.source == "tiny" else None
    trainer = Trainer(cfg, tmp_path / recipe, data=data, progress=False, tensorboard=False)
    G = trainer.models_for_use()[trainer.recipe.generator_name]
    for _ in range(cfg.train.steps):
        trainer.train_step()
    return G


def assert_noise_reaches_output(G: nn.Module, floor: float = FLOOR) -> dict[str, float]:
    """Images of SEEDS seeds must spread by more than `floor`; within each class too when conditional.
    Returns the spreads measured, by "all" and "class k"."""
    pipe = GeneratePipeline(G)
    spreads = {"all": pixel_spread(torch.cat([pipe(1, seed=s).images for s in range(SEEDS)]))}
    for k in range(getattr(G, "num_classes", 0) or 0):
        images = torch.cat([pipe(1, seed=s, class_index=k).images for s in range(SEEDS)])
        spreads[f"class {k}"] = pixel_spread(images)
    low = {where: round(v, 5) for where, v in spreads.items() if not v > floor}
    assert not low, f"the generator ignores its noise: pixel spread over {SEEDS} seeds <= {floor} in {low}"
    return spreads


@pytest.mark.parametrize("recipe", generator_recipes())
def test_noise_reaches_every_generators_output(recipe, tmp_path):
    spreads = assert_noise_reaches_output(train_tiny(recipe, tmp_path))
    print(recipe, {k: round(v, 4) for k, v in spreads.items()})


def conditional_recipes() -> list[str]:
    """Recipes with a `conditional` switch (class-conditional generators)."""
    return [
        r for r in generator_recipes() if "conditional" in RECIPES.get(r).config_class.__dataclass_fields__
    ]


@pytest.mark.parametrize("recipe", conditional_recipes())
def test_noise_reaches_the_output_within_every_class(recipe, tmp_path):
    G = train_tiny(recipe, tmp_path, conditional=True)
    spreads = assert_noise_reaches_output(G)
    print(recipe, {k: round(v, 4) for k, v in spreads.items()})
    assert len(spreads) == 1 + G.num_classes == 5  # all, and each of the 4 tiny classes


class IgnoresNoise(nn.Module):
    """A generator that draws the same image for every z (of its class): what the guard must catch."""

    def __init__(self, G: nn.Module):
        super().__init__()
        self.G, self.z_dim, self.num_classes = G, G.z_dim, getattr(G, "num_classes", 0)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.G(torch.zeros_like(z), labels)


def test_the_guard_fails_on_a_generator_that_ignores_z(tmp_path):
    G = train_tiny("dcgan", tmp_path)
    assert_noise_reaches_output(G)  # the trained generator passes ...
    with pytest.raises(AssertionError, match=r"ignores its noise.*'all': 0\.0"):
        assert_noise_reaches_output(IgnoresNoise(G))  # ... the same weights without z do not


def test_the_guard_fails_on_a_conditional_generator_that_ignores_z_within_classes(tmp_path):
    G = train_tiny("dcgan", tmp_path, conditional=True)
    assert_noise_reaches_output(G)
    collapsed = IgnoresNoise(G)
    # seeds of mixed classes still differ (sample() cycles the classes) ...
    images = GeneratePipeline(collapsed)(SEEDS, seed=0).images
    assert pixel_spread(images) > FLOOR
    # ... but every class is one image, and the guard says which
    with pytest.raises(AssertionError, match=r"ignores its noise.*'class 0': 0\.0.*'class 3': 0\.0"):
        assert_noise_reaches_output(collapsed)
