import json

import pytest

from ganforge.config import DataConfig, RunConfig, apply_override, apply_overrides
from ganforge.errors import ConfigError
from ganforge.presets import get_preset
from ganforge.recipes.gan import DCGANConfig, MLPGANConfig
from ganforge.registry import PRESETS, load_all


def test_round_trip_through_json(tmp_path):
    cfg = get_preset("cdcgan-mnist")
    cfg.train.health.lr_factor = 0.25
    cfg.model.betas = (0.0, 0.99)
    cfg.save(tmp_path / "config.json")
    loaded = RunConfig.load(tmp_path / "config.json")
    assert loaded == cfg
    assert isinstance(loaded.model, DCGANConfig)
    assert loaded.model.betas == (0.0, 0.99)
    assert loaded.model.conditional is True
    assert json.loads((tmp_path / "config.json").read_text())["model"]["betas"] == [0.0, 0.99]


def test_every_preset_validates_and_round_trips():
    load_all()
    assert {"dcgan-mnist", "gan-mnist", "dcgan-fashion", "cdcgan-mnist", "dcgan-emoji"} <= set(
        PRESETS.names()
    )
    for name in PRESETS.names():
        cfg = get_preset(name)
        assert RunConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


def test_overrides_are_typed():
    cfg = get_preset("dcgan-mnist")
    cfg = apply_overrides(
        cfg,
        [
            "train.steps=10",
            "model.lr_d=1e-4",
            "model.loss=hinge",
            "data.channels=null",
            "model.betas=0.0,0.9",
            "model.spectral_norm=true",
        ],
    )
    assert cfg.train.steps == 10 and isinstance(cfg.train.steps, int)
    assert cfg.model.lr_d == 1e-4
    assert cfg.model.loss == "hinge"
    assert cfg.data.channels is None
    assert cfg.model.betas == (0.0, 0.9)
    assert cfg.model.spectral_norm is True


def test_override_switching_recipe_resets_model_config():
    cfg = apply_override(get_preset("dcgan-mnist"), "recipe=gan")
    assert cfg.recipe == "gan" and isinstance(cfg.model, MLPGANConfig)


@pytest.mark.parametrize(
    "assignment, message",
    [
        ("train.stepz=5", "unknown config key 'train.stepz': 'stepz' is not in train"),
        ("model.loss=square", "model.loss='square' is not one of 'ns', 'hinge', 'lsgan', 'wgan'"),
        ("train.steps=ten", "train.steps must be an integer, got 'ten'"),
        ("train.steps=0", "train.steps=0 must be at least 1"),
        ("data.channels=2", "data.channels=2 is invalid"),
        ("model.spectral_norm=1", "model.spectral_norm must be true or false"),
        ("train.steps", "needs the form key=value"),
        ("recipe=stylegan9", "unknown recipe 'stylegan9'"),
    ],
)
def test_bad_overrides_name_the_problem(assignment, message):
    with pytest.raises(ConfigError) as err:
        apply_override(get_preset("dcgan-mnist"), assignment)
    assert message in str(err.value)


def test_unknown_key_in_file(tmp_path):
    raw = get_preset("dcgan-mnist").to_dict()
    raw["data"]["colour"] = 3
    (tmp_path / "c.json").write_text(json.dumps(raw))
    with pytest.raises(ConfigError, match="unknown config key 'data.colour'"):
        RunConfig.load(tmp_path / "c.json")


def test_unreadable_config_file(tmp_path):
    (tmp_path / "c.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        RunConfig.load(tmp_path / "c.json")
    with pytest.raises(ConfigError, match="does not exist"):
        RunConfig.load(tmp_path / "missing.json")


def test_defaults_fill_missing_keys():
    cfg = RunConfig.from_dict({"recipe": "gan", "data": {"size": 28}})
    assert cfg.data == DataConfig(size=28)
    assert cfg.model == MLPGANConfig()


def test_a_union_keeps_the_type_it_was_given():
    from ganforge.config import coerce

    assert coerce(1.0, int | float, "model.labels") == 1.0 and type(coerce(1.0, int | float, "k")) is float
    assert type(coerce(100, int | float, "k")) is int
    assert type(coerce(2.0, int | None, "k")) is int  # a whole float still becomes an int where only int fits
    cfg = apply_overrides(get_preset("sgan-mnist"), ["model.labels=1.0"])
    assert cfg.model.labels == 1.0 and isinstance(cfg.model.labels, float)  # all images, not a count of 1
    cfg = RunConfig.from_dict(cfg.to_dict())
    assert isinstance(cfg.model.labels, float)
