"""Studio fixtures: tiny bundles made here, image-to-image stand-ins, and a real server on loopback.

The stand-ins are registered only while the studio tests run (package scope), so that no other
test sees them in the registries. Their bundles are written with `ganforge.bundle.write_bundle` and
served through the studio's loader table (`IMAGE_LOADERS`), where an entry under the stand-in recipe's
name replaces the real pipelines for that recipe alone.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import torch
from PIL import Image
from torch import nn
from torch.nn import functional as F

from conftest import tiny_config, tiny_images
from ganforge.bundle import load_bundle, write_bundle
from ganforge.capabilities import Capabilities
from ganforge.config import DataConfig, RunConfig
from ganforge.pipelines.tiling import tiled_apply
from ganforge.recipes.base import ModelSpec, Recipe
from ganforge.registry import MODELS, RECIPES, Entry, load_all
from ganforge.studio import StudioLimits, StudioServer, create_app
from ganforge.studio.models import IMAGE_LOADERS, ImageModel
from ganforge.training.trainer import Trainer
from studio.style_stub import TinyStyleG

LIMITS = StudioLimits(
    max_upload_bytes=200_000,
    max_pixels=128 * 128,
    max_images=32,
    max_frames=40,
    timeout_s=60,
    max_output_pixels=100_000,
)
STAND_IN = "studio-test-image"


class PointwiseNet(nn.Module):
    """A 1x1 convolution that inverts (`invert`) or copies (`identity`) RGB images exactly."""

    def __init__(self, mode: str = "invert"):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)
        with torch.no_grad():
            self.conv.weight.copy_(torch.eye(3).view(3, 3, 1, 1) * (-1.0 if mode == "invert" else 1.0))
            self.conv.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


@dataclass
class StandInConfig:
    task: str = "translate"  # translate (two ways: AtoB inverts, BtoA copies), inpaint, or upscale


class StandInRecipe(Recipe):
    config_class = StandInConfig

    @classmethod
    def describe(cls, config: StandInConfig, num_classes: int) -> Capabilities:
        if config.task == "upscale":
            return Capabilities("upscale", latent_spaces=(), input_kind="low-res", scale=2, label="x2 test")
        if config.task == "inpaint":
            return Capabilities("translate", latent_spaces=(), input_kind="masked", label="inpainting test")
        if config.task == "colorize":
            return Capabilities("translate", latent_spaces=(), input_kind="gray", label="colorize test")
        return Capabilities("translate", latent_spaces=(), directions=("AtoB", "BtoA"), input_kind="image")


def load_stand_in(folder: Path, meta: dict, caps: Capabilities) -> list[ImageModel]:
    """Runs the stand-in bundle's networks with tiled inference, like a real translation pipeline."""
    bundle = load_bundle(folder)
    task = bundle.config.model.task

    def run(image: torch.Tensor, mask: torch.Tensor | None, direction: str | None) -> torch.Tensor:
        if task == "inpaint":
            return image * (1 - mask) + mask  # the hole becomes white
        net = bundle.models["G_AB" if direction in (None, "AtoB") else "G_BA"]
        out = tiled_apply(net, image, tile=32, overlap=8)
        return F.interpolate(out, scale_factor=2, mode="nearest") if task == "upscale" else out

    directions = ["AtoB", "BtoA"] if task == "translate" else []
    return [ImageModel("", meta["recipe"], folder, task, run, 3, directions, 2 if task == "upscale" else 1)]


def write_stand_in(folder: Path, task: str) -> Path:
    cfg = RunConfig(
        name=f"{task}-stand-in", recipe=STAND_IN, data=DataConfig(source="tiny", size=8, channels=3)
    )
    cfg.model = StandInConfig(task=task)
    models = {"G_AB": PointwiseNet("invert"), "G_BA": PointwiseNet("identity")}
    specs = {
        "G_AB": ModelSpec("studio_test.pointwise", {"mode": "invert"}),
        "G_BA": ModelSpec("studio_test.pointwise", {"mode": "identity"}),
    }
    return write_bundle(folder, cfg, models, specs, None, step=0, images_seen=0)


def write_style_bundle(folder: Path) -> Path:
    torch.manual_seed(3)
    G = TinyStyleG(z_dim=8)
    cfg = tiny_config("dcgan", steps=1)
    cfg.name = "style-stand-in"
    cfg.data.channels = 3
    return write_bundle(
        folder, cfg, {"G_ema": G}, {"G_ema": ModelSpec("studio_test.style", {"z_dim": 8})}, None, 0, 0
    )


@pytest.fixture(scope="package")
def registered():
    """The stand-in networks, recipe and loader, for the studio tests only."""
    load_all()
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(MODELS._entries, "studio_test.pointwise", Entry("studio_test.pointwise", PointwiseNet))
        mp.setitem(MODELS._entries, "studio_test.style", Entry("studio_test.style", TinyStyleG))
        mp.setitem(RECIPES._entries, STAND_IN, Entry(STAND_IN, StandInRecipe))
        mp.setitem(IMAGE_LOADERS, STAND_IN, load_stand_in)
        yield


@pytest.fixture(scope="package")
def bundles(tmp_path_factory, registered) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("studio")
    run = root / "digits"
    cfg = tiny_config(steps=4, conditional=True)
    Trainer(cfg, run, data=tiny_images(classes=3), progress=False, tensorboard=False).fit()
    return {
        "digits": run / "bundle",
        "translate": write_stand_in(root / "invert", "translate"),
        "inpaint": write_stand_in(root / "fill", "inpaint"),
        "upscale": write_stand_in(root / "double", "upscale"),
        "style": write_style_bundle(root / "style"),
    }


@pytest.fixture(scope="package")
def server(bundles):
    paths = [bundles[k] for k in ("digits", "translate", "inpaint", "upscale", "style")]
    app = create_app(paths, LIMITS)
    with StudioServer(app) as running:
        yield running


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


def png_of(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def pattern(width: int = 12, height: int = 10) -> Image.Image:
    """An RGB test picture whose every pixel differs from its inverse."""
    image = Image.new("RGB", (width, height))
    image.putdata([((17 * i) % 256, (5 * i + 40) % 256, (200 - 3 * i) % 256) for i in range(width * height)])
    return image


from studio.session_fixtures import api, session_bundles, session_server  # noqa: E402, F401  (issue 22)


@pytest.fixture(scope="module")
def browser():
    """Headless Debian chromium driven by Playwright, one per test module (browser tests skip, saying
    what to install, where either is missing)."""
    from studio.test_browser import CHROMIUM, playwright_api

    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()
