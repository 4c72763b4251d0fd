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


# ---------------------------------------------------------------- one optimizer config for every family


def test_every_family_spells_its_optimizer_the_same_way():
    from ganforge.config import OptimConfig, recipe_config_class
    from ganforge.registry import RECIPES

    load_all()
    for recipe in RECIPES.names():
        model = recipe_config_class(recipe)()
        assert isinstance(model, OptimConfig), recipe
        assert not {"lr", "lr_c"} & set(vars(model)), recipe
        assert model.lr_g > 0 and model.lr_d > 0 and len(model.betas) == 2, recipe


@pytest.mark.parametrize(
    "assignment, message",
    [
        ("model.lr_g=0", "model.lr_g=0.0 must be positive, e.g. 2e-4"),
        ("model.lr_d=-1e-4", "model.lr_d=-0.0001 must be positive, e.g. 2e-4"),
        ("model.betas=0.5,1.0", "model.betas=[0.5, 1.0] must both lie in [0, 1), e.g. 0.5,0.999"),
        (
            "model.decay_start=1.5",
            "model.decay_start=1.5 must lie in [0, 1]: the fraction of the steps at the full learning "
            "rates before they fall linearly toward 0 (1 keeps them constant)",
        ),
    ],
)
def test_one_validation_for_every_family(assignment, message):
    for recipe in ("dcgan", "stylegan", "sgan"):
        cfg = get_preset("dcgan-mnist").with_recipe(recipe)
        with pytest.raises(ConfigError) as err:
            apply_override(cfg, assignment)
        assert str(err.value) == message, recipe


def test_one_learning_rate_schedule_for_every_family():
    """`model.decay_start`: full rates, then a linear fall whose last step keeps 1 / (n + 1) of them."""
    from ganforge.config import OptimConfig

    assert [OptimConfig().lr_factor(step, 10) for step in (0, 9)] == [1.0, 1.0]  # constant by default
    half = OptimConfig(decay_start=0.5)
    assert [half.lr_factor(step, 10) for step in (0, 5, 6, 9)] == pytest.approx([1, 1, 5 / 6, 2 / 6])
    assert OptimConfig(decay_start=0.0).lr_factor(0, 4) == 1.0  # step 0 runs at the full rate


def test_old_optimizer_keys_still_load(tmp_path):
    """config.json of runs, bundles and saved presets from before the rename: `lr` was both networks'
    rate (progan, stylegan, fastgan), `lr_c` sgan's classifier's."""
    old = get_preset("dcgan-mnist").with_recipe("stylegan").to_dict()
    del old["model"]["lr_g"], old["model"]["lr_d"]
    old["model"]["lr"] = 0.003
    (tmp_path / "config.json").write_text(json.dumps(old))
    loaded = RunConfig.load(tmp_path / "config.json")
    assert (loaded.model.lr_g, loaded.model.lr_d) == (0.003, 0.003)

    sgan = get_preset("dcgan-mnist").with_recipe("sgan").to_dict()
    sgan["model"]["lr_c"] = sgan["model"].pop("lr_d") * 2
    loaded = RunConfig.from_dict(sgan)
    assert loaded.model.lr_d == 2 * loaded.model.lr_g == 2e-3

    both = dict(old, model=dict(old["model"], lr_g=0.001))
    with pytest.raises(ConfigError) as err:
        RunConfig.from_dict(both)
    assert str(err.value) == (
        "model.lr is the old name of model.lr_g and model.lr_d; the config gives both "
        "(model.lr_g=0.001); keep only model.lr_g"
    )
    # an old --set line: model.lr sets both rates
    cfg = apply_override(get_preset("dcgan-mnist"), "model.lr=1e-3")
    assert (cfg.model.lr_g, cfg.model.lr_d) == (1e-3, 1e-3)


def test_a_run_saved_with_old_keys_resumes(tmp_path):
    from conftest import tiny_config, tiny_images
    from ganforge.errors import CheckpointError
    from ganforge.training.checkpoint import load_latest
    from ganforge.training.trainer import Trainer

    def fit(steps, cfg=None):
        cfg = cfg or tiny_config("dcgan", steps=steps)
        return Trainer(cfg, tmp_path / "run", data=tiny_images(), progress=False, tensorboard=False).fit()

    fit(4)
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    saved["model"]["lr"] = saved["model"].pop("lr_g")
    del saved["model"]["lr_d"]
    (tmp_path / "run" / "config.json").write_text(json.dumps(saved))
    resumed = RunConfig.load(tmp_path / "run" / "config.json")
    resumed.train.steps = 8
    assert fit(8, resumed).step == 8

    # the checkpoint's own copy of the config is read with the same translation
    state = load_latest(tmp_path / "run" / "checkpoints")
    state["config"]["model"] = dict(state["config"]["model"], lr=1e-3)
    del state["config"]["model"]["lr_g"], state["config"]["model"]["lr_d"]
    trainer = Trainer(resumed, tmp_path / "run", data=tiny_images(), progress=False, tensorboard=False)
    with pytest.raises(CheckpointError, match=r"model\.lr_d: 0\.001 in the checkpoint, 0\.0002 now"):
        trainer.check_config(state)
