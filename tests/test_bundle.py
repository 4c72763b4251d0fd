import json

import pytest
import torch

from conftest import tiny_config, tiny_images
from ganforge.bundle import load_bundle
from ganforge.errors import CheckpointError, ConfigError
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


def test_model_json_holds_the_capabilities_and_older_bundles_derive_them(trained, tmp_path):
    import shutil

    from ganforge.bundle import capabilities_of

    _, run = trained
    meta = json.loads((run / "bundle" / "model.json").read_text())
    assert meta["capabilities"]["task"] == "generate"
    assert meta["capabilities"]["conditional"] is True and meta["capabilities"]["num_classes"] == 2
    assert capabilities_of(run) == capabilities_of(run / "bundle") == load_bundle(run / "bundle").capabilities
    old = tmp_path / "old"
    shutil.copytree(run / "bundle", old)
    del meta["capabilities"]  # written before model.json held capabilities
    (old / "model.json").write_text(json.dumps(meta))
    assert capabilities_of(old) == capabilities_of(run)


def _copy_with_meta(run, folder, change):
    import shutil

    shutil.copytree(run / "bundle", folder)
    meta = json.loads((folder / "model.json").read_text())
    change(meta)
    (folder / "model.json").write_text(json.dumps(meta))
    return folder


def test_a_model_name_pointing_outside_the_bundle_is_refused(trained, tmp_path):
    _, run = trained
    outside = tmp_path / "x"
    outside.mkdir()
    (outside / "G_ema.safetensors").write_bytes((run / "bundle" / "G_ema.safetensors").read_bytes())

    def escape(meta):
        meta["models"] = {"../x/G_ema": meta["models"]["G_ema"]}

    folder = _copy_with_meta(run, tmp_path / "b" / "bundle", escape)
    (folder / "../x").mkdir()
    (folder / "../x/G_ema.safetensors").write_bytes((run / "bundle" / "G_ema.safetensors").read_bytes())
    with pytest.raises(CheckpointError, match="not a plain file name .* refusing to load it"):
        load_bundle(folder)


def test_sizes_are_checked_before_anything_is_allocated(trained, tmp_path):
    import resource
    import time

    _, run = trained

    def huge(meta):
        meta["models"]["G_ema"]["kwargs"]["base_channels"] = 200_000

    folder = _copy_with_meta(run, tmp_path / "huge", huge)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.process_time()
    with pytest.raises(CheckpointError, match="base_channels=200000 is beyond the sane bound of 16,384"):
        load_bundle(folder)
    assert time.process_time() - start < 2
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KiB: nothing allocated

    def wide(meta):  # every size within bounds, but together far too many parameters
        meta["models"]["G_ema"]["kwargs"].update(base_channels=16_000, img_size=256)

    with pytest.raises(CheckpointError, match=r"would have [\d,]+ parameters \(over 500,000,000\)"):
        load_bundle(_copy_with_meta(run, tmp_path / "wide", wide))

    folder = _copy_with_meta(run, tmp_path / "big-data", lambda meta: None)
    config = json.loads((folder / "config.json").read_text())
    config["data"]["size"] = 1_000_000
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match="data.size=1000000 is out of range"):
        load_bundle(folder)
