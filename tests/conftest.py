"""Shared fixtures: tiny synthetic datasets and tiny run configs that train in a second."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from ganforge.config import DataConfig, RunConfig, TrainConfig
from ganforge.data.dataset import ImageData


def tiny_images(n: int = 64, channels: int = 1, size: int = 8, classes: int = 2, seed: int = 0) -> ImageData:
    """Blobs whose brightness depends on the class, so there is something to learn."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % classes
    base = (labels.float() / max(classes - 1, 1) * 200 + 20).view(n, 1, 1, 1)
    noise = torch.randint(-20, 21, (n, channels, size, size), generator=g).float()
    images = (base + noise).clamp(0, 255).to(torch.uint8)
    return ImageData(
        images=images, labels=labels, class_names=[f"c{i}" for i in range(classes)], source="tiny"
    )


def tiny_config(recipe: str = "dcgan", steps: int = 8, **model_overrides) -> RunConfig:
    cfg = RunConfig(
        name=f"tiny-{recipe}",
        recipe=recipe,
        data=DataConfig(source="tiny", size=8),
        train=TrainConfig(
            steps=steps,
            batch_size=8,
            log_every=2,
            sample_every=4,
            checkpoint_every=4,
            keep_checkpoints=2,
            n_samples=8,
            device="cpu",
        ),
    )
    small = {"dcgan": dict(g_channels=4, d_channels=4, z_dim=8), "gan": dict(hidden=16, layers=2, z_dim=8)}
    for key, value in {**small.get(recipe, {}), **model_overrides}.items():
        setattr(cfg.model, key, value)
    return cfg.validate()


def needs_dataset(name: str) -> pytest.MarkDecorator:
    """Skip unless the built-in `name` is available here, saying how to install it. System copies count
    only without GANFORGE_NO_SYSTEM_DATA=1 (CI's second run hides them, as on a bare machine)."""
    from ganforge.registry import DATASETS, load_all

    load_all()
    available, hint = DATASETS.get(name).available()
    return pytest.mark.skipif(not available, reason=f"{name} is not available here: {hint}")


@pytest.fixture
def images() -> ImageData:
    return tiny_images()


def run_cli(*args, cwd=None, timeout=300) -> subprocess.CompletedProcess:
    """The real entry point (`python -m ganforge`), so exit codes and error lines are as a user sees them."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "ganforge", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )
