"""A verb given the wrong kind of model says, in one line, which verb fits (issue #18), driven by the
capabilities the bundle's recipe declared (issue #20); nothing is loaded before that check."""

import pytest
import torch
from PIL import Image

from ganforge.bundle import write_bundle
from ganforge.cli.app import main
from ganforge.config import DataConfig, RunConfig
from ganforge.recipes.base import ModelSpec
from ganforge.registry import load_all


def run_dir(root, name, recipe, spec: ModelSpec, **model):
    """A finished run directory whose bundle holds one tiny model of `recipe`."""
    load_all()
    cfg = RunConfig(name=name, recipe=recipe, data=DataConfig(source="tiny", size=16, channels=3))
    for key, value in model.items():
        setattr(cfg.model, key, value)
    run = root / name
    run.mkdir()
    cfg.save(run / "config.json")
    torch.manual_seed(0)
    write_bundle(run / "bundle", cfg, {"G": spec.build()}, {"G": spec}, None, step=2, images_seen=16)
    return run


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("wrong")
    unet = ModelSpec("unet.G", dict(in_channels=1, out_channels=3, base_channels=4, depth=3))
    sr = ModelSpec("srresnet.G", dict(img_channels=3, channels=4, blocks=1, scale=2))
    photo = root / "photo.png"
    Image.new("RGB", (16, 16), (200, 100, 50)).save(photo)
    return {
        "colorize": run_dir(root, "color", "pix2pix", unet, task="colorize", pairs="derived"),
        "sr": run_dir(root, "sr", "srgan", sr, scale=2),
        "photo": photo,
    }


def error_line(capsys, *args) -> str:
    with pytest.raises(SystemExit) as exit_:
        main([str(a) for a in args])
    assert exit_.value.code == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err  # one line, no traceback
    return err


def test_sample_on_a_pix2pix_run_points_to_translate(runs, capsys, tmp_path):
    run = runs["colorize"]
    line = error_line(capsys, "sample", run, "--out", tmp_path / "grid.png")
    assert (
        line
        == f"error: {run} is a colorize model, not one that can generate: use ganforge translate {run} ..."
    )
    assert not (tmp_path / "grid.png").exists()


def test_interpolate_on_an_srgan_run_points_to_upscale(runs, capsys, tmp_path):
    run = runs["sr"]
    line = error_line(capsys, "interpolate", run, "--out", tmp_path / "walk.gif")
    assert line == (
        f"error: {run} is an x2 super-resolution model, not one that can generate: "
        f"use ganforge upscale {run} ..."
    )


def test_project_on_a_pix2pix_run_points_to_translate(runs, capsys, tmp_path):
    run = runs["colorize"]
    line = error_line(capsys, "project", run, runs["photo"], "--out", tmp_path / "proj")
    assert "is a colorize model" in line and line.endswith(f"use ganforge translate {run} ...")
    assert not (tmp_path / "proj").exists()


def test_eval_on_an_sr_run_suggests_task_sr(runs, capsys):
    run = runs["sr"]
    line = error_line(capsys, "eval", run, "--n", "4")
    assert line == (
        f"error: {run} is an x2 super-resolution model, not a generator: score it with "
        f"ganforge eval {run} --task sr (PSNR/SSIM against bicubic)"
    )


def test_translate_and_upscale_given_a_generator_point_to_sample(runs, capsys, tmp_path):
    line = error_line(capsys, "upscale", runs["colorize"], runs["photo"], "--out", tmp_path / "big")
    assert "is a colorize model, not one that can upscale: use ganforge translate" in line
    line = error_line(capsys, "translate", runs["sr"], runs["photo"], "--out", tmp_path / "t")
    assert "is an x2 super-resolution model, not one that can translate: use ganforge upscale" in line


def test_a_run_without_a_bundle_is_checked_from_its_config(runs, capsys, tmp_path):
    """Only config.json and a checkpoints folder: refused before any checkpoint is read."""
    run = tmp_path / "unfinished"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.json").write_bytes((runs["colorize"] / "config.json").read_bytes())
    line = error_line(capsys, "sample", run, "--out", tmp_path / "g.png")
    assert line.endswith(f"is a colorize model, not one that can generate: use ganforge translate {run} ...")


def test_models_list_shows_the_verb_each_family_declares(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["models", "list"])
    assert exit_.value.code in (0, None)
    rows = {
        line.split("│")[1].strip(): line.split("│")[3].strip()
        for line in capsys.readouterr().out.splitlines()
        if line.count("│") == 4 and line.split("│")[1].strip()
    }
    assert rows["pix2pix"] == "translate: ganforge translate" and rows["srgan"] == "upscale: ganforge upscale"
    assert rows["dcgan"] == "generate: ganforge sample" and rows["sgan"] == "classify: ganforge classify"


def test_eval_task_sr_on_a_model_that_does_not_upscale(runs, capsys):
    run = runs["colorize"]
    line = error_line(capsys, "eval", run, "--task", "sr")
    assert (
        line
        == f"error: {run} is a colorize model, not a super-resolution one: it runs with ganforge translate"
    )
