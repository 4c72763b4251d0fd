"""Shared fixtures: tiny synthetic datasets and tiny run configs that train in a second."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
from torch import nn

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


def load_bench(name: str):
    """bench/NAME.py as a module (bench/ is not a package; its scripts import their neighbours)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class StrokeG(nn.Module):
    """A stand-in generator of 28x28 vertical strokes: z[0] sets the stroke's width, z[1] its position
    and z[2] its slant. Cheap to render, so the whole InterFaceGAN loop runs in seconds."""

    def __init__(self):
        super().__init__()
        self.z_dim, self.img_channels, self.img_size, self.num_classes = 8, 1, 28, 0
        self.gain = nn.Parameter(torch.ones(()))

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        half = 0.7 + 2.3 * torch.sigmoid(z[:, 0])  # half-width in pixels
        center = (14 + 2.5 * torch.tanh(z[:, 1])).view(-1, 1, 1)
        slant = (0.25 * torch.tanh(z[:, 2])).view(-1, 1, 1)
        y, x = torch.arange(28.0).view(1, 28, 1), torch.arange(28.0).view(1, 1, 28)
        dist = (x - (center + slant * (y - 14))).abs()
        ink = torch.sigmoid(3 * (half.view(-1, 1, 1) - dist)) * ((y >= 5) & (y <= 22)).float()
        return (self.gain * (2 * ink - 1))[:, None]  # (B, 1, 28, 28)
