"""What the studio offers for each kind of bundle, decided from model.json and config.json alone, and
how image-to-image bundles reach their pipelines (offered only while the pipeline module exists)."""

import json
import sys
import types

import httpx
import pytest
import torch

from ganforge.capabilities import Capabilities
from ganforge.errors import CheckpointError
from ganforge.studio import ModelManager, StudioError, StudioServer, create_app
from ganforge.studio.models import ImageModel, image_tab
from studio.conftest import pattern, png_of


@pytest.mark.parametrize(
    "caps, expected",
    [
        (Capabilities("translate", input_kind="gray"), "colorize"),
        (Capabilities("translate", input_kind="masked"), "inpaint"),
        (Capabilities("translate", input_kind="edges"), "translate"),
        (Capabilities("translate", input_kind="image", directions=("AtoB", "BtoA")), "translate"),
        (Capabilities("upscale", input_kind="low-res", scale=4), "upscale"),
        (Capabilities("generate"), None),
    ],
)
def test_the_studio_tab_comes_from_the_capabilities(caps, expected):
    assert image_tab(caps) == expected


def fake_bundle(folder, recipe, models, task="colorize"):
    folder.mkdir()
    meta = {"format": "ganforge-bundle/1", "recipe": recipe, "models": {n: {} for n in models}, "step": 12}
    (folder / "model.json").write_text(json.dumps(meta))
    model = {"task": task} if recipe == "pix2pix" else {}  # an older bundle: no capabilities in model.json
    config = {"recipe": recipe, "data": {"channels": 3}, "model": model}
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_image_bundles_go_through_their_pipeline_when_it_exists(tmp_path, monkeypatch, bundles):
    calls = []

    class TranslatePipeline:
        def __init__(self, direction):
            self.direction = direction

        @classmethod
        def from_bundle(cls, path, direction="AtoB"):
            calls.append((path.name, direction))
            return cls(direction)

        def __call__(self, image, mask=None):
            return types.SimpleNamespace(images=image.flip(-1) if self.direction == "BtoA" else -image)

    module = types.ModuleType("ganforge.pipelines.translate")
    module.TranslatePipeline = TranslatePipeline
    monkeypatch.setitem(sys.modules, "ganforge.pipelines.translate", module)
    colorize = fake_bundle(tmp_path / "color", "pix2pix", ["G"])
    cycle = fake_bundle(tmp_path / "horses", "cyclegan", ["G_AB", "G_BA"])
    manager = ModelManager([colorize, cycle, bundles["digits"]])
    assert calls == [("color", "AtoB"), ("horses", "AtoB"), ("horses", "BtoA")]
    assert {m["name"]: m["capabilities"] for m in manager.infos()} == {
        "color": ["colorize", "translate"],  # as `ganforge translate` accepts it
        "horses": ["translate"],
        "digits": ["generate", "breed", "interpolate"],
    }
    image = torch.linspace(-1, 1, 12).view(1, 1, 3, 4).expand(1, 3, 3, 4)
    horses = manager.get("horses", "translate")
    assert torch.equal(horses.run(image, None, "BtoA"), image.flip(-1))
    assert torch.equal(manager.get(None, "colorize").run(image, None, None), -image)
    assert manager.get("color", "colorize").step == 12


def test_without_the_pipeline_the_capability_is_not_offered(tmp_path, monkeypatch, bundles, capsys):
    monkeypatch.setitem(sys.modules, "ganforge.pipelines.translate", None)  # import fails
    monkeypatch.setitem(sys.modules, "ganforge.pipelines.upscale", None)
    colorize = fake_bundle(tmp_path / "color", "pix2pix", ["G"])
    sr = fake_bundle(tmp_path / "sr", "srgan", ["G"])
    manager = ModelManager([colorize, sr, bundles["digits"]])
    assert list(manager.models) == ["digits"]
    assert "cannot run pix2pix models yet" in capsys.readouterr().err
    with pytest.raises(StudioError, match="none of the given models can be served yet"):
        ModelManager([colorize])
    with pytest.raises(StudioError, match="no loaded model can colorize"):
        manager.get(None, "colorize")


def test_bundles_the_studio_cannot_use_are_errors(tmp_path, bundles):
    odd = fake_bundle(tmp_path / "odd", "dcgan", ["D"])
    with pytest.raises(StudioError, match="does not know what a dcgan model with D can do"):
        ModelManager([odd])
    with pytest.raises(CheckpointError, match="does not exist"):
        ModelManager([tmp_path / "missing"])
    with pytest.raises(StudioError, match="at least one bundle"):
        ModelManager([])
    twice = ModelManager([bundles["digits"], bundles["digits"]])
    assert list(twice.models) == ["digits", "digits-2"]  # same run twice: names stay unique


def test_a_failing_model_gives_a_json_500_and_the_server_goes_on(bundles):
    def broken(image, mask, direction):
        raise RuntimeError("the network exploded")

    manager = ModelManager([bundles["digits"]])
    manager.models["broken"] = ImageModel("broken", "test", bundles["digits"], "translate", broken)
    with StudioServer(create_app(manager)) as server, httpx.Client(base_url=server.url) as client:
        r = client.post("/api/translate", files={"image": ("a.png", png_of(pattern(6, 4)))})
        assert r.status_code == 500 and r.headers["content-type"] == "application/json"
        assert r.json() == {"error": "internal error (RuntimeError): the network exploded"}
        assert client.post("/api/generate", json={"seed": 1, "class_index": 0}).status_code == 200


def test_hub_names_are_loaded_through_load_generator(bundles, monkeypatch):
    import ganforge.pipelines as pipelines

    real = pipelines.load_generator
    asked = []

    def fake_hub(path, device="cpu"):  # stands in for the Hub download: nothing leaves this machine
        asked.append(path)
        return real(bundles["digits"], device)

    monkeypatch.setattr(pipelines, "load_generator", fake_hub)
    manager = ModelManager(["hf:someone/digits-gan"])
    assert asked == ["hf:someone/digits-gan"]
    assert manager.infos()[0]["name"] == "someone-digits-gan"
    assert manager.infos()[0]["capabilities"] == ["generate", "breed", "interpolate"]
