"""Fixtures for the studio-session tests (jobs, style mixing, photos in, the family-tree page): a
server with the tiny digits and style generators, image stand-ins for every image task, and a slow
upscaler whose tiles take long enough to watch their progress and cancel them.

Import the fixtures into a test module: `from studio.session_fixtures import session_server  # noqa`.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
import torch
from torch.nn import functional as F

from ganforge.bundle import write_bundle
from ganforge.config import DataConfig, RunConfig
from ganforge.pipelines.tiling import tiled_apply
from ganforge.recipes.base import ModelSpec
from ganforge.registry import RECIPES, Entry
from ganforge.studio import StudioLimits, StudioServer, create_app
from ganforge.studio.jobs import report_progress
from ganforge.studio.models import IMAGE_LOADERS, ImageModel
from studio.conftest import LIMITS, PointwiseNet, StandInConfig, StandInRecipe, write_stand_in

SLOW = "studio-test-slow"
TILE_S = 0.03  # seconds per tile of the slow upscaler
SLOW_TILES = 121  # a 128x128 upload in 16-px tiles overlapping by 4: 11 x 11


def load_slow(folder: Path, meta: dict, config: dict) -> list[ImageModel]:
    """A x2 upscaler (copy, then nearest-neighbour) that sleeps on every 16-px tile."""
    net = PointwiseNet("identity")

    def tile(x: torch.Tensor) -> torch.Tensor:
        time.sleep(TILE_S)
        return F.interpolate(net(x), scale_factor=2, mode="nearest")

    def run(image: torch.Tensor, mask: torch.Tensor | None, direction: str | None) -> torch.Tensor:
        return tiled_apply(tile, image, tile=16, overlap=4, scale=2, progress=report_progress)

    return [ImageModel("", meta["recipe"], folder, "upscale", run, 3, [], 2)]


def write_slow(folder: Path) -> Path:
    cfg = RunConfig(name="slow-upscale", recipe=SLOW, data=DataConfig(source="tiny", size=8, channels=3))
    cfg.model = StandInConfig(task="upscale")
    spec = {"G_AB": ModelSpec("studio_test.pointwise", {"mode": "identity"})}
    return write_bundle(folder, cfg, {"G_AB": PointwiseNet("identity")}, spec, None, step=0, images_seen=0)


@pytest.fixture(scope="module")
def session_bundles(bundles, tmp_path_factory) -> dict[str, Path]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(RECIPES._entries, SLOW, Entry(SLOW, StandInRecipe))
        mp.setitem(IMAGE_LOADERS, SLOW, load_slow)
        root = tmp_path_factory.mktemp("session")
        yield {
            "digits": bundles["digits"],
            "style": bundles["style"],
            "slow": write_slow(root / "slow"),
            "translate": bundles["translate"],
            "colorize": write_stand_in(root / "tint", "colorize"),
            "upscale": bundles["upscale"],
            "inpaint": bundles["inpaint"],
        }


@pytest.fixture(scope="module")
def session_server(session_bundles):
    limits = StudioLimits(**{**LIMITS.__dict__, "timeout_s": 30})
    app = create_app(list(session_bundles.values()), limits)
    with StudioServer(app) as running:
        yield running


@pytest.fixture
def api(session_server):
    with httpx.Client(base_url=session_server.url, timeout=60) as c:
        yield c
