import json

import pytest
import torch

from conftest import tiny_config, tiny_images
from ganforge.bundle import load_bundle
from ganforge.errors import CheckpointError
from ganforge.training.trainer import Trainer


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run = tmp_path_factory.mktemp("b") / "run"
    trainer = Trainer(
        tiny_config(steps=4, conditional=True), run, data=tiny_images(), progress=False, tensorboard=False
    )
    trainer.fit()
    return trainer, run


def test_bundle_round_trip_gives_the_same_generator(trained):
    trainer, run = trained
    b = load_bundle(run / "bundle")
    assert b.step == 4 and b.class_names == ["c0", "c1"] and b.config == trainer.cfg
    G = b.models["G_ema"]
    z = torch.randn(4, 8, generator=torch.Generator().manual_seed(3))
    labels = torch.tensor([0, 1, 0, 1])
    assert torch.equal(G(z, labels), trainer.ema["G_ema"](z, labels))
    card = (run / "bundle" / "README.md").read_text()
    assert "| steps | 4 (32 images shown to D) |" in card and "c0, c1" in card
    meta = json.loads((run / "bundle" / "model.json").read_text())
    assert meta["models"]["G_ema"]["registry_name"] == "dcgan.G"


def test_bundle_errors(trained, tmp_path):
    _, run = trained
    with pytest.raises(CheckpointError, match="not a ganforge bundle"):
        load_bundle(tmp_path)
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(run / "bundle", broken)
    (broken / "G_ema.safetensors").write_bytes(b"\x00" * 20)
    with pytest.raises(CheckpointError, match="does not load into dcgan.G"):
        load_bundle(broken)
    (broken / "G_ema.safetensors").unlink()
    with pytest.raises(CheckpointError, match="lacks G_ema.safetensors"):
        load_bundle(broken)


@pytest.mark.parametrize(
    "recipe, task, verb",
    [
        ("dcgan", None, "ganforge sample PATH_TO_THIS_FOLDER"),
        ("stylegan", None, "ganforge mix PATH_TO_THIS_FOLDER"),
        ("pix2pix", "inpaint", "--mask mask.png"),
        ("cyclegan", None, "--direction AtoB"),
        ("srgan", None, "ganforge upscale PATH_TO_THIS_FOLDER"),
        ("sgan", None, "ganforge classify PATH_TO_THIS_FOLDER"),
    ],
)
def test_the_model_card_shows_the_verb_that_runs_the_bundle(recipe, task, verb):
    from ganforge.bundle import usage_lines
    from ganforge.config import RunConfig

    cfg = RunConfig(recipe=recipe)
    if task:
        cfg.model.task = task
    assert any(verb in line for line in usage_lines(cfg))
    if recipe not in ("dcgan", "stylegan"):
        assert not any("ganforge sample" in line for line in usage_lines(cfg))
