"""`ganforge translate` and pix2pix training from the command line, on tiny folders made here."""

import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from ganforge.cli.app import app
from ganforge.cli.translate import plan_outputs
from ganforge.errors import ConfigError

runner = CliRunner()

TINY = [
    "--size", "16", "--steps", "2", "--batch-size", "4",
    "--set", "model.g_channels=4", "--set", "model.d_channels=4", "--set", "model.d_layers=2",
    "--set", "model.holdout=0", "--set", "train.threads=1", "--set", "train.device=cpu", "--no-progress",
]  # fmt: skip


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=True)


@pytest.fixture(autouse=True)
def keep_torch_threads():
    import torch

    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for i in range(8):
        Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(root / f"{i}.png")
    return root


def train(preset, data, runs, *extra):
    result = invoke("train", "--preset", preset, "--data", data, "--runs-dir", runs, *TINY, *extra)
    assert result.exit_code == 0, result.output
    return next(runs.iterdir())


def test_colorize_train_then_translate_files_and_folders(photos, tmp_path):
    run = train("pix2pix-colorize", photos, tmp_path / "runs")
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["model"]["task"] == "colorize" and cfg["model"]["pairs"] == "derived"
    assert (run / "bundle" / "G.safetensors").is_file()

    inputs = tmp_path / "in"
    (inputs / "sub").mkdir(parents=True)
    Image.new("L", (45, 23), 90).save(inputs / "wide_gray.png")  # gray, non-square, odd
    Image.new("RGBA", (13, 40), (200, 10, 10, 128)).save(inputs / "sub" / "tall.png")
    Image.new("RGB", (9, 9), (0, 50, 250)).save(tmp_path / "single.jpg")
    out = tmp_path / "out"
    result = invoke(
        "translate", run, inputs, tmp_path / "single.jpg", "--out", out, "--tile", "16", "--no-progress"
    )
    assert result.exit_code == 0, result.output
    assert "translated 3 image(s)" in result.output
    wide, tall, single = (
        Image.open(p) for p in (out / "in/wide_gray.png", out / "in/sub/tall.png", out / "single.png")
    )
    assert (wide.size, wide.mode) == ((45, 23), "RGB")
    assert (tall.size, tall.mode) == ((13, 40), "RGBA") and np.asarray(tall)[..., 3].min() == 128
    assert single.size == (9, 9)

    again = invoke("translate", run, tmp_path / "single.jpg", "--out", out)
    assert again.exit_code == 1 and "already exists; pass --overwrite" in str(again.exception)
    assert invoke("translate", run, tmp_path / "single.jpg", "--out", out, "--overwrite").exit_code == 0
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    Image.new("RGB", (8, 8)).save(mixed / "good.png")
    (mixed / "broken.png").write_bytes(b"not an image")
    result = invoke("translate", run, mixed, "--out", tmp_path / "o2", "--no-progress")
    assert result.exit_code == 1 and "skipped 1 unreadable file(s)" in result.output
    assert "broken.png" in result.output and (tmp_path / "o2" / "mixed" / "good.png").is_file()
    assert not list((tmp_path / "o2").rglob(".*partial"))
    masked = invoke(
        "translate", run, tmp_path / "single.jpg", "--out", tmp_path / "m", "--mask-box", "1,1,2,2"
    )
    assert "only apply to inpainting models" in str(masked.exception)


def test_inpaint_needs_a_mask_and_keeps_known_pixels(photos, tmp_path):
    run = train("pix2pix-inpaint", photos, tmp_path / "runs")
    image = np.random.default_rng(1).integers(0, 256, (24, 30, 3), dtype=np.uint8)
    Image.fromarray(image).save(tmp_path / "x.png")
    missing = invoke("translate", run, tmp_path / "x.png", "--out", tmp_path / "o")
    assert "inpainting model: give --mask" in str(missing.exception)
    bad = invoke("translate", run, tmp_path / "x.png", "--out", tmp_path / "o", "--mask-box", "1,2,3")
    assert "must be four integers x,y,w,h" in str(bad.exception)
    result = invoke("translate", run, tmp_path / "x.png", "--out", tmp_path / "o", "--mask-box", "4,6,10,8")
    assert result.exit_code == 0, result.output
    out = np.asarray(Image.open(tmp_path / "o" / "x.png")).astype(int)
    known = np.ones((24, 30), bool)
    known[6:14, 4:14] = False
    assert np.abs(out[known] - image[known]).max() <= 1  # the known pixels survive (8-bit rounding)
    Image.new("L", (30, 24), 0).save(tmp_path / "mask.png")
    assert (
        invoke(
            "translate", run, tmp_path / "x.png", "--out", tmp_path / "p", "--mask", tmp_path / "mask.png"
        ).exit_code
        == 0
    )


def test_side_by_side_pairs_and_mismatched_folders(tmp_path):
    pairs = tmp_path / "pairs"
    pairs.mkdir()
    for i in range(4):
        Image.new("RGB", (32, 16), (i * 40, 100, 100)).save(pairs / f"{i}.png")
    runs = tmp_path / "runs"
    args = ["--model", "pix2pix", "--data", pairs, "--pairs", "side-by-side", "--direction", "BtoA"]
    result = invoke("train", *args, "--runs-dir", runs, *TINY)
    assert result.exit_code == 0, result.output
    cfg = json.loads((next(runs.iterdir()) / "config.json").read_text())
    assert (cfg["recipe"], cfg["model"]["pairs"], cfg["model"]["direction"]) == (
        "pix2pix",
        "side-by-side",
        "BtoA",
    )

    bad = tmp_path / "bad"
    (bad / "A").mkdir(parents=True)
    (bad / "B").mkdir()
    for side, name in (("A", "cat"), ("B", "dog")):
        Image.new("RGB", (8, 8)).save(bad / side / f"{name}.png")
    result = invoke(
        "train", "--model", "pix2pix", "--data", bad, "--pairs", "folders", "--runs-dir", runs, *TINY
    )
    assert result.exit_code == 1
    message = str(result.exception)
    assert "1 in A/ without a match in B/ (cat); 1 in B/ without a match in A/ (dog)" in message

    result = invoke(
        "train",
        "--preset",
        "pix2pix-colorize",
        "--pairs",
        "folders",
        "--data",
        bad,
        "--runs-dir",
        runs,
        *TINY,
    )
    assert "--pairs folders loads real pairs, but model.task=colorize" in str(result.exception)


def test_outputs_never_overwrite_inputs(tmp_path):
    Image.new("RGB", (4, 4)).save(tmp_path / "a.png")
    Image.new("RGB", (4, 4)).save(tmp_path / "a.jpg")
    with pytest.raises(ConfigError, match="would overwrite the input"):
        plan_outputs([tmp_path / "a.png"], tmp_path, ".png", overwrite=True)
    with pytest.raises(ConfigError, match="would both be written to"):
        plan_outputs([tmp_path / "a.png", tmp_path / "a.jpg"], tmp_path / "out", ".png", overwrite=False)
    with pytest.raises(ConfigError, match="does not exist"):
        plan_outputs([tmp_path / "nope.png"], tmp_path / "out", ".png", overwrite=False)


def test_help_and_presets_list():
    result = invoke("translate", "--help")
    assert result.exit_code == 0 and "Examples" in result.stdout and "ganforge translate" in result.stdout
    listed = invoke("presets", "list").stdout
    for name in ("pix2pix-colorize", "pix2pix-edges2photo", "pix2pix-photo2edges", "pix2pix-inpaint"):
        assert name in listed
