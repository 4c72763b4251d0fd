"""A new family defined only here (the commented template, registered by this test) trains, resumes,
writes a bundle, and is offered by the studio and `ganforge sample`, with no other file touched:
everything that uses a bundle reads the capabilities its recipe declared (issue #20)."""

import json

import pytest
import torch

from conftest import tiny_config, tiny_images
from ganforge.bundle import capabilities_of, load_bundle
from ganforge.cli.app import main
from ganforge.recipes import template
from ganforge.registry import RECIPES, Entry, load_all
from ganforge.training.trainer import Trainer

NAME = "template-test"


@pytest.fixture
def family(monkeypatch):
    load_all()
    monkeypatch.setitem(RECIPES._entries, NAME, Entry(NAME, template.MyRecipe))


def config(steps: int):
    cfg = tiny_config("dcgan", steps=steps)
    cfg.recipe, cfg.name = NAME, NAME
    cfg.model = template.MyConfig(z_dim=8)
    return cfg


def train(run, steps):
    return Trainer(config(steps), run, data=tiny_images(), progress=False, tensorboard=False).fit()


def test_a_family_from_the_template_is_offered_everywhere(family, tmp_path, capsys):
    first = train(tmp_path / "run", 2)
    assert first.step == 2
    resumed = train(tmp_path / "run", 4)  # continues from its step-2 checkpoint
    straight = train(tmp_path / "straight", 4)
    assert resumed.step == straight.step == 4
    mine, theirs = load_bundle(resumed.bundle_dir), load_bundle(straight.bundle_dir)
    for key, value in mine.models["G_ema"].state_dict().items():
        assert torch.equal(value, theirs.models["G_ema"].state_dict()[key]), key  # resume is exact

    meta = json.loads((resumed.bundle_dir / "model.json").read_text())
    assert meta["recipe"] == NAME and meta["capabilities"]["task"] == "generate"
    assert capabilities_of(tmp_path / "run") == template.MyRecipe.capabilities
    assert "ganforge sample PATH_TO_THIS_FOLDER" in (resumed.bundle_dir / "README.md").read_text()

    from ganforge.studio import ModelManager

    manager = ModelManager([tmp_path / "run"])
    assert [(m["name"], m["recipe"], m["capabilities"]) for m in manager.infos()] == [
        ("run", NAME, ["generate", "breed", "interpolate"])
    ]

    grid = tmp_path / "grid.png"
    with pytest.raises(SystemExit) as done:
        main(["sample", str(tmp_path / "run"), "--n", "4", "--out", str(grid)])
    assert done.value.code in (0, None) and grid.is_file()
    import numpy as np
    from PIL import Image

    with Image.open(grid) as image:
        pixels = np.asarray(image.convert("L"))
    assert pixels.shape[1] > 8 and pixels.std() > 0  # a grid of images, not a blank
