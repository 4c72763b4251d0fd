"""End-to-end CLI tests on a tiny folder of images (made here) and on the built-in presets."""

import json

import pytest
from PIL import Image
from typer.testing import CliRunner

from conftest import run_cli
from ganforge.cli.app import app

runner = CliRunner()


def invoke(*args):
    result = runner.invoke(app, list(args), catch_exceptions=True)
    return result


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Two classes of 8 small images each, in class subfolders, of mixed sizes and modes."""
    root = tmp_path_factory.mktemp("imgs")
    for cls, color in (("red", (220, 30, 30)), ("blue", (30, 30, 220))):
        (root / cls).mkdir()
        for i in range(8):
            Image.new("RGB", (20 + i, 16), color).save(root / cls / f"{i}.png")
    return root


TINY = [
    "--set",
    "model.g_channels=4",
    "--set",
    "model.d_channels=4",
    "--set",
    "model.z_dim=8",
    "--set",
    "train.batch_size=4",
    "--set",
    "train.sample_every=2",
    "--set",
    "train.checkpoint_every=2",
    "--set",
    "train.device=cpu",
    "--no-progress",
]


def test_dry_run_prints_the_resolved_config():
    result = invoke("train", "--dry-run")
    assert result.exit_code == 0, result.output
    cfg = json.loads(result.stdout)
    assert cfg["name"] == "dcgan-mnist" and cfg["recipe"] == "dcgan" and cfg["data"]["source"] == "mnist-5k"
    result = invoke(
        "train", "--preset", "gan-mnist", "--set", "model.loss=hinge", "--steps", "7", "--dry-run"
    )
    cfg = json.loads(result.stdout)
    assert cfg["recipe"] == "gan" and cfg["model"]["loss"] == "hinge" and cfg["train"]["steps"] == 7


def test_the_default_holds_out_test_digits_but_a_folder_has_no_split(tmp_path):
    """dcgan-mnist trains on mnist-5k's training split; `--data` to a folder (which has no split)
    trains on all of it, and to another built-in with a split keeps `train`."""
    assert json.loads(invoke("train", "--dry-run").stdout)["data"]["split"] == "train"
    folder = json.loads(invoke("train", "--data", str(tmp_path), "--dry-run").stdout)
    assert folder["data"] == {**folder["data"], "source": str(tmp_path), "split": "all"}
    fashion = json.loads(invoke("train", "--data", "fashion-mnist", "--dry-run").stdout)
    assert fashion["data"]["split"] == "train"


def test_bad_input_gives_one_error_line_and_nonzero_exit(tmp_path):
    cases = [
        (["train", "--set", "model.nope=1", "--dry-run"], "error: unknown config key 'model.nope'"),
        (
            ["train", "--preset", "dcgan-mnistt", "--dry-run"],
            "error: unknown preset 'dcgan-mnistt'; did you mean dcgan-mnist",
        ),
        (["train", "--data", str(tmp_path / "missing"), "--steps", "1"], "does not exist"),
        (["train", "--data", str(tmp_path), "--steps", "1"], "no"),
        (
            ["train", "--data", "digits", "--set", "data.split=test", "--steps", "1"],
            "error: split 'test' is not a split of 'digits'; use one of: all (--split, or data.split)",
        ),
        (["sample", str(tmp_path / "nothing")], "does not exist"),
    ]
    for args, message in cases:
        result = run_cli(*args, cwd=tmp_path)
        assert result.returncode == 1, (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
        assert result.stderr.strip().startswith("error:") or "warning" in result.stderr


def test_train_sample_interpolate_resume_on_a_folder(folder, tmp_path):
    runs = tmp_path / "runs"
    result = invoke(
        "train",
        "--data",
        str(folder),
        "--model",
        "dcgan",
        "--size",
        "8",
        "--steps",
        "4",
        "--conditional",
        "--runs-dir",
        str(runs),
        *TINY,
    )
    assert result.exit_code == 0, result.output
    run = runs / f"00000-dcgan-{folder.name}"
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["data"]["channels"] == 3 and cfg["model"]["conditional"] is True
    assert (run / "bundle" / "G_ema.safetensors").is_file()

    result = invoke(
        "sample", str(run), "--n", "6", "--seed", "1", "--class", "1", "--out", str(tmp_path / "g.png")
    )
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "g.png").size == (3 * 10 + 2, 2 * 10 + 2)  # 3 per row, 8px + 2px padding
    classes = json.loads((run / "bundle" / "model.json").read_text())["class_names"]
    result = invoke(
        "sample", str(run), "--n", "6", "--seed", "1", "--class", classes[1], "--out", str(tmp_path / "n.png")
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "n.png").read_bytes() == (tmp_path / "g.png").read_bytes()  # the name is the index
    result = invoke("sample", str(run), "--class", "green", "--out", str(tmp_path / "x.png"))
    assert result.exit_code != 0
    assert f"--class 'green' is not a class of this model; use one of {', '.join(classes)} or 0..1" in str(
        result.exception
    )

    result = invoke("sample", str(run / "bundle"), "--n", "3", "--separate", "--out", str(tmp_path / "each"))
    assert sorted(p.name for p in (tmp_path / "each").iterdir()) == [
        "seed0-0000.png",
        "seed0-0001.png",
        "seed0-0002.png",
    ]
    assert Image.open(tmp_path / "each" / "seed0-0000.png").size == (8, 8)

    result = invoke(
        "interpolate", str(run), "--seeds", "1,2,3", "--frames", "3", "--out", str(tmp_path / "w.gif")
    )
    assert result.exit_code == 0, result.output
    gif = Image.open(tmp_path / "w.gif")
    assert gif.n_frames == 7 and gif.size == (16, 16)

    result = invoke(
        "interpolate",
        str(run),
        "--seeds",
        "1,2",
        "--frames",
        "2",
        "--scale",
        "1",
        "--out",
        str(tmp_path / "w.png"),
    )
    assert Image.open(tmp_path / "w.png").size == (3 * 8 + 4 * 2, 12)

    result = invoke("train", "--resume", str(run), "--steps", "6", "--no-progress")
    assert result.exit_code == 0, result.output
    assert json.loads((run / "config.json").read_text())["train"]["steps"] == 6
    assert json.loads((run / "bundle" / "model.json").read_text())["step"] == 6

    result = run_cli("train", "--resume", str(run), "--preset", "gan-mnist")
    assert result.returncode == 1 and "only settings that do not change the result" in result.stderr


def test_listing_commands():
    result = invoke("presets", "list")
    assert result.exit_code == 0 and "cdcgan-mnist" in result.stdout and "dcgan-emoji" in result.stdout
    result = invoke("models", "list")
    assert result.exit_code == 0 and "dcgan.G" in result.stdout and "gan_mlp.D" in result.stdout
    result = invoke("data", "list")
    assert result.exit_code == 0 and "mnist-5k" in result.stdout and "cifar10" in result.stdout


def test_data_show_writes_a_preview(tmp_path):
    result = invoke("data", "show", "digits", "--n", "4", "--out", str(tmp_path / "p.png"))
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "p.png").size == (2 * 10 + 2, 2 * 10 + 2)


def test_help_has_examples():
    for verb in ("train", "sample", "interpolate"):
        result = invoke(verb, "--help")
        assert result.exit_code == 0 and "Example" in result.stdout and "ganforge " + verb in result.stdout


def test_bad_files_are_skipped_with_one_warning_each(tmp_path):
    data = tmp_path / "mixed"
    data.mkdir()
    for i in range(6):
        Image.new("L", (12, 12), 40 * i).save(data / f"good{i}.png")
    (data / "zero.png").write_bytes(b"")
    (data / "text.jpg").write_text("not an image at all")
    good = (data / "good0.png").read_bytes()
    (data / "truncated.png").write_bytes(good[: len(good) // 2])
    (data / "notes.txt").write_text("ignored: not an image extension")
    result = run_cli(
        "train",
        "--data",
        str(data),
        "--size",
        "8",
        "--steps",
        "2",
        "--runs-dir",
        str(tmp_path / "r"),
        *TINY,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 3, result.stderr
    for name in ("zero.png", "text.jpg", "truncated.png"):
        assert sum(name in line for line in warnings) == 1
    assert "notes.txt" not in result.stderr
    assert (tmp_path / "r" / "00000-dcgan-mixed" / "bundle" / "G_ema.safetensors").is_file()


def test_family_flag_on_the_wrong_recipe():
    result = invoke("train", "--pairs", "folders", "--dry-run")
    assert result.exit_code == 1
    assert "--pairs does not apply to recipe 'dcgan'" in str(result.exception)
