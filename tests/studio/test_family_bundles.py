"""The studio over the real families' bundles (pix2pix, CycleGAN, SRGAN, StyleGAN), written here
around small untrained networks: each route must give exactly what the family's own pipeline gives.
Skipped for a family whose recipe or pipeline is not in this tree."""

import base64
import io

import httpx
import pytest
import torch
from PIL import Image

from ganforge.bundle import write_bundle
from ganforge.config import DataConfig, RunConfig
from ganforge.imaging import to_uint8
from ganforge.recipes.base import ModelSpec
from ganforge.registry import MODELS, RECIPES, load_all
from ganforge.studio import StudioLimits, StudioServer, create_app
from ganforge.studio.media import pil_to_tensor
from studio.conftest import pattern, png_of

load_all()
NEEDS = {
    "pix2pix": ("unet.G", "ganforge.pipelines.translate"),
    "cyclegan": ("resnet.G", "ganforge.pipelines.translate"),
    "srgan": ("srresnet.G", "ganforge.pipelines.upscale"),
    "stylegan": ("stylegan.G", None),
}


def available(recipe: str) -> bool:
    model, module = NEEDS[recipe]
    if recipe not in RECIPES or model not in MODELS:
        return False
    try:
        if module:
            __import__(module)
    except ImportError:
        return False
    return True


def family(recipe: str):
    return pytest.mark.skipif(not available(recipe), reason=f"the {recipe} family is not in this tree")


def write(folder, recipe, models: dict[str, ModelSpec], channels=3, **model_config):
    data = DataConfig(source="tiny", size=16, channels=channels)
    cfg = RunConfig(name=folder.name, recipe=recipe, data=data)
    for key, value in model_config.items():
        setattr(cfg.model, key, value)
    torch.manual_seed(0)
    built = {name: spec.build().eval() for name, spec in models.items()}
    return write_bundle(folder, cfg.validate(), built, models, None, step=3, images_seen=24)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("families")
    unet = dict(base_channels=4, depth=3)
    folders = {}
    if available("pix2pix"):
        folders["color"] = write(
            root / "color",
            "pix2pix",
            {"G": ModelSpec("unet.G", dict(unet, in_channels=1, out_channels=3))},
            task="colorize",
            pairs="derived",
        )
        folders["holes"] = write(
            root / "holes",
            "pix2pix",
            {"G": ModelSpec("unet.G", dict(unet, in_channels=4, out_channels=3))},
            task="inpaint",
            pairs="derived",
        )
    if available("cyclegan"):
        resnet = ModelSpec("resnet.G", dict(in_channels=3, out_channels=3, base_channels=4, n_blocks=1))
        folders["horses"] = write(root / "horses", "cyclegan", {"G_AB": resnet, "G_BA": resnet})
    if available("srgan"):
        sr = ModelSpec("srresnet.G", dict(img_channels=3, channels=4, blocks=1, scale=2))
        folders["sharp"] = write(root / "sharp", "srgan", {"G": sr}, scale=2, crop=16)
    if available("stylegan"):
        style = dict(z_dim=8, w_dim=8, img_channels=3, img_size=16, channel_base=64, max_channels=8)
        style["mapping_layers"] = 2
        folders["faces"] = write(root / "faces", "stylegan", {"G_ema": ModelSpec("stylegan.G", style)})
    if not folders:
        pytest.skip("none of the image-to-image or style families is in this tree")
    app = create_app(list(folders.values()), StudioLimits(max_pixels=64 * 64))
    with StudioServer(app) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        yield folders, client


def image_of(r: httpx.Response) -> torch.Tensor:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    picture = Image.open(io.BytesIO(r.content))
    return pil_to_tensor(picture.convert("RGB") if picture.mode not in ("L", "RGB") else picture)


def same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return torch.equal(to_uint8(a), to_uint8(b))


@family("pix2pix")
def test_colorize_and_inpaint_match_the_translate_pipeline(served):
    from ganforge.pipelines.translate import TranslatePipeline

    folders, client = served
    names = {m["name"]: m["capabilities"] for m in client.get("/api/models").json()["models"]}
    assert names["color"] == ["colorize", "translate"] and names["holes"] == ["inpaint"]
    photo = pattern(20, 12)
    upload = {"image": ("p.png", png_of(photo))}
    got = image_of(client.post("/api/colorize", files=upload, data={"model": "color"}))
    expected = TranslatePipeline.from_bundle(folders["color"])(pil_to_tensor(photo))
    assert got.shape == (1, 3, 12, 20) and same(got, expected)
    # /api/translate takes a colorize model as `ganforge translate` does, with the same result
    translated = image_of(client.post("/api/translate", files=upload, data={"model": "color"}))
    assert same(translated, expected)
    mask = Image.new("L", (20, 12), 0)
    mask.paste(255, (4, 2, 12, 8))
    files = {"image": ("p.png", png_of(photo)), "mask": ("m.png", png_of(mask))}
    got = image_of(client.post("/api/inpaint", files=files))
    holes = (pil_to_tensor(mask) > 0).float()
    expected = TranslatePipeline.from_bundle(folders["holes"])(pil_to_tensor(photo), mask=holes)
    assert same(got, expected)
    assert same(got * (1 - holes), pil_to_tensor(photo) * (1 - holes))  # known pixels kept


@family("cyclegan")
def test_cyclegan_translates_both_ways_like_its_pipeline(served):
    from ganforge.pipelines.translate import TranslatePipeline

    folders, client = served
    photo = pattern(16, 16)
    for direction in ("AtoB", "BtoA"):
        form = {"model": "horses", "direction": direction}
        got = image_of(client.post("/api/translate", files={"image": ("p.png", png_of(photo))}, data=form))
        expected = TranslatePipeline.from_bundle(folders["horses"], direction)(pil_to_tensor(photo))
        assert same(got, expected), direction


@family("srgan")
def test_upscale_matches_the_upscale_pipeline(served):
    from ganforge.pipelines.upscale import UpscalePipeline

    folders, client = served
    photo = pattern(14, 10)
    r = client.post("/api/upscale", files={"image": ("p.png", png_of(photo))})
    got = image_of(r)
    expected = UpscalePipeline.from_bundle(folders["sharp"])(photo)
    assert got.shape == (1, 3, 20, 28) and same(got, pil_to_tensor(expected))


@family("stylegan")
def test_stylegan_truncation_and_per_group_breeding(served):
    from ganforge.pipelines import load_generator
    from ganforge.pipelines.generate import latents

    folders, client = served
    info = next(m for m in client.get("/api/models").json()["models"] if m["name"] == "faces")
    assert info["truncation"] is True and info["layer_groups"] == ["coarse", "middle", "fine"]
    G = load_generator(folders["faces"]).G
    out = client.post("/api/generate", json={"model": "faces", "seeds": [3], "truncation": 0.5}).json()
    png = io.BytesIO(base64.b64decode(out["images"][0]["png"].split(",")[1]))
    expected = G(latents(1, 8, 3), truncation_psi=0.5)
    assert same(pil_to_tensor(Image.open(png)), expected)
    body = {
        "model": "faces",
        "parents": [{"seed": 1}, {"seed": 2}],
        "count": 1,
        "mutation": 0.2,
        "seed": 4,
        "shares": {"coarse": [1, 0], "middle": [1, 1], "fine": [0, 1]},
    }
    child = client.post("/api/breed", json=body).json()["children"][0]
    z = torch.tensor([child["z"]])  # (1, 3, z_dim): one latent per layer group
    png = io.BytesIO(base64.b64decode(child["png"].split(",")[1]))
    assert same(pil_to_tensor(Image.open(png)), G.forward_groups(z))
