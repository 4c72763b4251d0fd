"""`ganforge eval` end to end: a run against a built-in dataset, two folders, and bad input."""

import json

import pytest
import torch
from PIL import Image
from safetensors.torch import save_file
from typer.testing import CliRunner

from conftest import tiny_config, tiny_images
from ganforge.cli.app import app
from ganforge.data.download import sha256_of
from ganforge.metrics.features import inception
from ganforge.metrics.features.effnet import WEIGHTS_SHA256 as EFFNET_SHA256
from ganforge.metrics.features.lenet import LeNet
from ganforge.training.trainer import Trainer

runner = CliRunner()


@pytest.fixture(autouse=True)
def cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path_factory.getbasetemp() / "eval-cli-cache"))
    # nothing downloads in tests: a stray attempt fails here, on the local file system
    monkeypatch.setattr(inception, "WEIGHTS_URLS", ("file:///nonexistent/pt_inception.pth",))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("eval-cli") / "run"
    Trainer(tiny_config(steps=4), run_dir, data=tiny_images(), progress=False, tensorboard=False).fit()
    return run_dir


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval-folders")
    g = torch.Generator().manual_seed(0)
    for name, low in (("a", 0), ("b", 150)):
        (root / name).mkdir()
        for i, pixels in enumerate((torch.rand(12, 16, 16, generator=g) * 100 + low).to(torch.uint8)):
            Image.fromarray(pixels.numpy()).save(root / name / f"{i}.png")
    return root


def test_eval_a_run_writes_metrics_json_and_the_model_card(run, tmp_path):
    args = ["eval", str(run), "--data", "digits", "--features", "effnet-lite0", "--metrics", "fid,kid"]
    args += ["--n", "8", "--kid-subsets", "3", "--kid-subset-size", "4", "--no-progress"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    table = dict(line.split(None, 1) for line in result.stdout.strip().splitlines())
    # never called FID: not the Inception weights; diversity comes with fd/kid
    assert set(table) == {"FD-EffNetLite0", "KID-EffNetLite0", "diversity-EffNetLite0"}
    saved = json.loads((run / "metrics.json").read_text())
    record = saved["evaluations"][-1]
    assert saved["step"] == 4 and saved["FD-EffNetLite0"] == record["results"]["FD-EffNetLite0"]
    assert float(table["FD-EffNetLite0"]) == pytest.approx(saved["FD-EffNetLite0"], rel=1e-3)
    assert record["extractor"]["weights_sha256"] == EFFNET_SHA256
    assert (record["reference"]["dataset"], record["reference"]["split"], record["reference"]["images"]) == (
        "digits",
        "all",
        8,
    )
    assert record["fake"]["seed"] == 0 and record["fake"]["images"] == 8
    card = (run / "bundle" / "README.md").read_text()
    assert "Metrics: FD-EffNetLite0 " in card and "digits:all" in card
    # a second evaluation is appended, not written over the first
    weights = tmp_path / "lenet.safetensors"
    save_file({k: v.contiguous() for k, v in LeNet(10, 16).state_dict().items()}, str(weights))
    lenet = ["eval", str(run), "--data", "digits", "--features", "digits-lenet", "--weights", str(weights)]
    assert runner.invoke(app, lenet + ["--n", "8", "--no-progress"]).exit_code == 0
    saved = json.loads((run / "metrics.json").read_text())
    assert [e["extractor"]["name"] for e in saved["evaluations"]] == ["effnet-lite0", "digits-lenet"]
    assert saved["FD-EffNetLite0"] == record["results"]["FD-EffNetLite0"] and "FD-digits-lenet" in saved


def test_eval_two_folders_with_a_local_weights_file(folders, tmp_path):
    weights = tmp_path / "lenet.safetensors"
    save_file({k: v.contiguous() for k, v in LeNet(10, 16).state_dict().items()}, str(weights))
    out = tmp_path / "m.json"
    args = ["eval", "--real", str(folders / "a"), "--fake", str(folders / "b"), "--features", "digits-lenet"]
    args += ["--weights", str(weights), "--metrics", "fid,pr", "--out", str(out), "--no-progress"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert {line.split()[0] for line in result.stdout.strip().splitlines()} == {
        "FD-digits-lenet",
        "precision-digits-lenet",
        "recall-digits-lenet",
        "density-digits-lenet",
        "coverage-digits-lenet",
        "diversity-digits-lenet",
        "confidence-digits-lenet",
        "class-entropy-digits-lenet",
    }
    record = json.loads(out.read_text())["evaluations"][0]
    assert record["extractor"]["weights_sha256"] == sha256_of(weights)
    assert (
        record["fake"]["images"] == 12
        and record["reference"]["images"] == 12
        and record["fake"]["size"] == 16
    )


@pytest.mark.parametrize(
    "args,message",
    [
        ([], "give a run, bundle or checkpoint to evaluate"),
        (["--fake", "FOLDER"], "--fake needs --real"),
        (["RUN", "--metrics", "fid,bogus", "--features", "effnet-lite0"], "unknown metric 'bogus'"),
        (["RUN", "--features", "vgg"], "unknown feature extractor 'vgg'"),
        (["RUN", "--n", "0", "--features", "effnet-lite0"], "--n 0 must be at least 1"),
        (
            ["--real", "FOLDER", "--fake", "FOLDER", "--split", "test", "--features", "effnet-lite0"],
            "not a split",
        ),
        (
            ["RUN", "--metrics", "acc", "--data", "digits", "--features", "effnet-lite0"],
            "class-conditional model",
        ),
    ],
)
def test_bad_input_is_one_clear_error(run, folders, args, message):
    args = [str(run) if a == "RUN" else str(folders / "a") if a == "FOLDER" else a for a in args]
    result = runner.invoke(app, ["eval", *args, "--no-progress"])
    assert result.exit_code != 0
    assert message in str(result.exception), result.exception


def test_an_existing_foreign_out_file_is_left_alone(run, tmp_path):
    notes = tmp_path / "notes.json"
    notes.write_text("[1, 2, 3]")
    result = runner.invoke(app, ["eval", str(run), "--features", "effnet-lite0", "--out", str(notes)])
    assert "not a ganforge metrics file; it is left as is" in str(result.exception)
    assert notes.read_text() == "[1, 2, 3]"


def test_train_eval_flags_set_the_config():
    result = runner.invoke(
        app, ["train", "--eval-every", "100", "--eval-metrics", "kid,fid", "--eval-n", "500", "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    train = json.loads(result.stdout)["train"]
    assert (train["eval_every"], train["eval_metrics"], train["eval_n"]) == (100, ["kid", "fid"], 500)
    assert train["eval_features"] == "effnet-lite0"


def test_the_real_entry_point_prints_one_error_line(run):
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    cmd = [
        sys.executable,
        "-m",
        "ganforge",
        "eval",
        str(run),
        "--metrics",
        "fid,bogus",
        "--features",
        "effnet-lite0",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == "error: unknown metric 'bogus'; use any of: fid, kid, pr, is, acc, comma-separated"
    )
