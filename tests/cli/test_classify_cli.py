"""`ganforge train --model sgan` on a folder of two classes, then `ganforge classify` on known images."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from ganforge.cli.app import app, main
from ganforge.errors import CheckpointError, ConfigError
from ganforge.pipelines.classify import ClassifyPipeline, load_classifier, read_images

runner = CliRunner()


@pytest.fixture(autouse=True)
def keep_torch_threads():
    """`train.threads` sets torch's process-wide thread count; give the next test the old one back."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Two classes of 14 noisy 10x10 gray images: dark (about 40) and light (about 210)."""
    root = tmp_path_factory.mktemp("night_day")
    rng = np.random.default_rng(0)
    for name, level in (("dark", 40), ("light", 210)):
        (root / name).mkdir()
        for i in range(14):
            pixels = np.clip(level + rng.integers(-30, 31, (10, 10)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i:02d}.png")
    return root


TINY = [
    *("--size", "8", "--steps", "40", "--batch-size", "8", "--no-progress"),
    *("--set", "model.g_width=16", "--set", "model.c_width=16", "--set", "model.c_layers=2"),
    *("--set", "model.lr_d=2e-3", "--set", "model.test_size=8", "--set", "train.threads=1"),
    *("--set", "train.ema_decay=0.9"),
    *("--set", "train.device=cpu", "--set", "train.sample_every=20", "--set", "train.checkpoint_every=20"),
]


@pytest.fixture(scope="module")
def trained(folder, tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    threads = torch.get_num_threads()
    args = ["train", "--data", str(folder), "--model", "sgan", "--labels", "4", "--baseline"]
    result = runner.invoke(app, [*args, "--runs-dir", str(runs), *TINY])
    torch.set_num_threads(threads)
    assert result.exit_code == 0, result.output
    return runs / f"00000-sgan-{folder.name}", result


def test_train_reports_both_test_accuracies(trained):
    run, result = trained
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["labeled_images"] == 4 and metrics["test_images"] == 8
    assert metrics["test_accuracy"] >= 0.875 and 0.0 <= metrics["baseline_test_accuracy"] <= 1.0
    shown = f"test_accuracy {metrics['test_accuracy']:.4g}, baseline_test_accuracy"
    assert shown in result.output
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["model"]["labels"] == 4 and cfg["model"]["baseline"] is True


def test_classify_prints_class_and_probability(trained, folder):
    run, _ = trained
    paths = [folder / "light" / "00.png", folder / "dark"]
    result = runner.invoke(app, ["classify", str(run), *map(str, paths)])
    assert result.exit_code == 0, result.output
    lines = [line.split("\t") for line in result.stdout.strip().splitlines()]
    assert [row[0] for row in lines] == [str(paths[0])] + [
        str(folder / "dark" / f"{i:02d}.png") for i in range(14)
    ]
    # the printed classes and probabilities are the pipeline's, for the bundle's classifier
    loaded = load_classifier(run / "bundle")
    images, _ = read_images([folder / "light" / "00.png", folder / "dark" / "00.png"], 8, 1)
    out = ClassifyPipeline.from_loaded(loaded)(images)
    assert lines[0][1:] == [out.names()[0], f"{out.confidence[0]:.4f}"]
    assert lines[1][1:] == [out.names()[1], f"{out.confidence[1]:.4f}"]
    # dark and light are easy: every image lands in its own folder's class, with confidence
    assert all(row[1] == Path(row[0]).parent.name and float(row[2]) > 0.9 for row in lines)
    base = runner.invoke(app, ["classify", str(run / "bundle"), "--baseline", str(paths[0])])
    assert base.exit_code == 0 and base.stdout.startswith(f"{paths[0]}\t")
    assert "baseline classifier C_base_ema" in base.output


def test_labels_flags_reach_the_config(tmp_path):
    def dry(*flags):
        result = runner.invoke(app, ["train", "--preset", "sgan-mnist", *flags, "--dry-run"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)["model"]

    assert dry("--labels", "0.01")["labels"] == 0.01
    assert dry("--labels", "1000", "--baseline")["labels"] == 1000 and dry("--baseline")["baseline"] is True
    assert dry("--labeled-list", "mine.txt")["labeled_list"] == "mine.txt"
    assert (
        json.loads(runner.invoke(app, ["train", "--preset", "sgan-fashion", "--dry-run"]).stdout)["data"][
            "source"
        ]
        == "fashion-mnist"
    )
    bad = runner.invoke(app, ["train", "--preset", "sgan-mnist", "--labels", "lots", "--dry-run"])
    assert isinstance(bad.exception, ConfigError) and "--labels 'lots' must be a number" in str(bad.exception)


def test_classify_errors(tmp_path, trained, capsys):
    run, _ = trained
    result = runner.invoke(app, ["classify", str(tmp_path), str(tmp_path)])
    assert isinstance(result.exception, CheckpointError) and "holds no bundle" in str(result.exception)
    # as a user sees it: one error line, exit status 1
    missing = tmp_path / "missing.png"
    with pytest.raises(SystemExit) as exit_info:
        main(["classify", str(run), str(missing)])
    assert exit_info.value.code == 1
    error = capsys.readouterr().err.strip()
    assert error == f"error: {missing} does not exist; pass image files or folders of images"
