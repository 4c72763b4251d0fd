"""Capabilities: what each family's bundles can do, declared once in its recipe (issue #20)."""

import pytest

from ganforge.capabilities import Capabilities, WrongModelError
from ganforge.config import RunConfig
from ganforge.errors import CheckpointError, ConfigError
from ganforge.registry import RECIPES, load_all


def describe(recipe: str, num_classes: int = 0, **model) -> Capabilities:
    load_all()
    cfg = RunConfig(recipe=recipe)
    for key, value in model.items():
        setattr(cfg.model, key, value)
    return RECIPES.get(recipe).describe(cfg.model, num_classes)


@pytest.mark.parametrize(
    "recipe, model, task, verb, label",
    [
        ("gan", {}, "generate", "sample", "image generator"),
        ("dcgan", {}, "generate", "sample", "image generator"),
        ("progan", {}, "generate", "sample", "image generator"),
        ("stylegan", {}, "generate", "sample", "style-based image generator"),
        ("sgan", {}, "classify", "classify", "semi-supervised classifier"),
        ("pix2pix", {"task": "colorize"}, "translate", "translate", "colorize"),
        ("pix2pix", {"task": "inpaint"}, "translate", "translate", "inpainting"),
        ("cyclegan", {}, "translate", "translate", "unpaired translation"),
        ("dtn", {}, "translate", "translate", "domain transfer"),
        ("srgan", {"scale": 2}, "upscale", "upscale", "x2 super-resolution"),
    ],
)
def test_every_family_declares_what_its_bundles_do(recipe, model, task, verb, label):
    caps = describe(recipe, **model)
    assert (caps.task, caps.verb, caps.label) == (task, verb, label)


def test_config_decides_conditional_classes_kinds_and_scale():
    assert describe("dcgan", 10).conditional is False and describe("dcgan", 10).num_classes == 0
    cond = describe("dcgan", 10, conditional=True)
    assert cond.conditional and cond.num_classes == 10
    style = describe("stylegan")
    assert style.style_based and style.style_mixing and style.latent_spaces == ("z", "w", "w+")
    assert not describe("dcgan").style_based
    sgan = describe("sgan", 10)
    assert sgan.tasks == ("classify", "generate") and sgan.num_classes == 10 and not sgan.conditional
    color = describe("pix2pix", task="colorize")
    assert (color.input_kind, color.output_kind, color.latent_spaces) == ("gray", "color", ())
    assert describe("pix2pix", task="inpaint").input_kind == "masked"
    assert describe("cyclegan").directions == ("AtoB", "BtoA") and describe("dtn").directions == ()
    assert describe("srgan", scale=4).scale == 4


def test_round_trip_through_json_and_refusals():
    caps = describe("stylegan", 3, conditional=True)
    assert Capabilities.from_dict(caps.to_dict()) == caps
    assert Capabilities.from_dict({**caps.to_dict(), "from_the_future": 1}) == caps  # newer keys ignored
    with pytest.raises(CheckpointError, match="capabilities.scale has the wrong type"):
        Capabilities.from_dict({"scale": "4"})
    with pytest.raises(CheckpointError, match="unknown capability task 'dream'"):
        Capabilities.from_dict({"task": "dream"})
    with pytest.raises(CheckpointError, match="must be an object"):
        Capabilities.from_dict(["generate"])
    with pytest.raises(ConfigError, match="unknown latent space 'q'"):
        Capabilities(latent_spaces=("q",))


def test_a_verb_given_the_wrong_kind_of_model_names_the_verb_that_fits():
    color = describe("pix2pix", task="colorize")
    with pytest.raises(WrongModelError) as err:
        color.require("sample", "runs/7")
    assert str(err.value) == (
        "runs/7 is a colorize model, not one that can generate: use ganforge translate runs/7 ..."
    )
    sr = describe("srgan", scale=4)
    with pytest.raises(WrongModelError, match="an x4 super-resolution model.*use ganforge upscale"):
        sr.require("interpolate", "sr")
    describe("sgan").require("sample")  # a semi-supervised GAN's generator also samples
    describe("sgan").require("classify")
    with pytest.raises(WrongModelError, match="use ganforge sample"):
        describe("dcgan").require("translate")
