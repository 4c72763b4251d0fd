"""`ganforge push`, `export`, `project` and `report` as a user runs them, and `sample hf:user/name`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from conftest import tiny_config, tiny_images
from ganforge.cli.app import app, main
from ganforge.training.trainer import Trainer

runner = CliRunner()


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def error_line(capsys, *args) -> str:
    """Run through the real entry point; returns the one `error:` line it prints (exit status 1)."""
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in args])
    assert exit_info.value.code == 1
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("share-cli") / "digits"
    cfg = tiny_config(steps=4)
    cfg.data.size = 16
    Trainer(cfg, run_dir, data=tiny_images(size=16), progress=False, tensorboard=False).fit()
    return run_dir


def test_report_export_and_project_verbs(run, tmp_path):
    out = invoke("report", run, "--out", tmp_path / "report.html")
    assert "wrote" in out and "1 sample grid(s)" in out
    assert (tmp_path / "report.html").read_text().count("data:image/png;base64,") == 1

    pytest.importorskip("onnxruntime")
    out = invoke("export", run, "--format", "onnx", "--out", tmp_path / "onnx")
    assert "G_ema (generator)" in out and "parity against PyTorch" in out
    assert "G_ema onnx: max |diff|" in out and out.rstrip().endswith("ok")
    assert (tmp_path / "onnx" / "G_ema.onnx").is_file() and (tmp_path / "onnx" / "G_ema.onnx.json").is_file()

    Image.new("L", (30, 20), 200).save(tmp_path / "photo.png")
    out = invoke("project", run, tmp_path / "photo.png", "--out", tmp_path / "proj", "--steps", "4")
    assert "step 4/4" in out and "PSNR" in out and "latent z (8)" in out
    assert "import" in out and "lineage.json" in out
    names = sorted(p.name for p in (tmp_path / "proj").iterdir())
    assert names == ["latent.npz", "lineage.json", "reconstruction.png", "target.png"]
    assert json.loads((tmp_path / "proj" / "lineage.json").read_text())["entries"][0]["model"] == "digits"


def test_push_then_sample_from_the_hub(run, tmp_path, monkeypatch):
    pytest.importorskip("huggingface_hub")
    from test_hub import HubStandIn

    with HubStandIn() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        out = invoke("push", run, "alice/digits", "--token", "hf_cli_token")
        assert "pushed 5 files" in out and "ganforge sample hf:alice/digits" in out
        invoke("sample", "hf:alice/digits", "--n", "4", "--out", tmp_path / "hub.png")
    invoke("sample", run, "--n", "4", "--out", tmp_path / "local.png")
    assert np.array_equal(
        np.asarray(Image.open(tmp_path / "hub.png")), np.asarray(Image.open(tmp_path / "local.png"))
    )


def test_bad_input_is_one_error_line(run, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    line = error_line(capsys, "export", run, "--format", "tflite", "--out", tmp_path)
    assert line == "error: --format 'tflite' is not one of onnx, torchscript"
    assert "HF_HUB_OFFLINE=1" in error_line(capsys, "sample", "hf:alice/never-pushed")
    assert "while HF_HUB_OFFLINE=1" in error_line(capsys, "push", run, "alice/digits")
    Image.new("L", (8, 8)).save(tmp_path / "p.png")
    line = error_line(capsys, "project", run, tmp_path / "p.png", "--space", "w+", "--out", tmp_path / "p")
    assert "--space w+ needs a style-based generator" in line
    assert "does not exist" in error_line(capsys, "report", tmp_path / "nope")
    assert not (tmp_path / "p").exists()
