"""`ganforge train` under faults: small folders, failed starts, damaged checkpoints, SIGTERM, resume."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from conftest import run_cli
from ganforge.training import checkpoint as ckpt

TINY = ["--size", "8", "--set", "model.g_channels=4", "--set", "model.d_channels=4", "--set", "model.z_dim=8"]
TINY += ["--set", "train.device=cpu", "--set", "train.threads=1", "--no-progress"]


def image_folder(root: Path, n: int) -> Path:
    root.mkdir(parents=True)
    for i in range(n):
        Image.new("L", (12, 12), (i * 5) % 256).save(root / f"{i:03d}.png")
    return root


def test_a_49_image_folder_trains_with_the_batch_lowered(tmp_path):
    data = image_folder(tmp_path / "my49images", 49)
    result = run_cli(
        "train", "--data", str(data), "--steps", "2", "--runs-dir", str(tmp_path / "runs"), *TINY
    )
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: the data has 49 images, fewer than one batch of 64: training with batch 49 "
        "(choose another with --batch-size)"
    ]
    run = tmp_path / "runs" / "00000-dcgan-my49images"
    assert json.loads((run / "config.json").read_text())["train"]["batch_size"] == 49
    assert (run / "bundle" / "G_ema.safetensors").is_file()


def test_failed_starts_leave_no_run_and_resume_last_skips_non_runs(tmp_path):
    runs = tmp_path / "runs"
    bad = image_folder(tmp_path / "one", 1)
    for args in (["--data", str(tmp_path / "missing")], ["--data", str(bad), "--batch-size", "0"]):
        result = run_cli("train", *args, "--steps", "1", "--runs-dir", str(runs), *TINY)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert not runs.exists() or list(runs.iterdir()) == []
    good = image_folder(tmp_path / "good", 8)
    assert (
        run_cli("train", "--data", str(good), "--steps", "2", "--runs-dir", str(runs), *TINY).returncode == 0
    )
    (runs / "00001-left-by-an-old-version").mkdir()  # empty: not a run
    result = run_cli("train", "--resume", "last", "--steps", "3", "--runs-dir", str(runs), "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "run directory: " + str(runs / "00000-dcgan-good") in result.stderr


def test_resume_allows_result_neutral_settings_only(tmp_path):
    runs = tmp_path / "runs"
    data = image_folder(tmp_path / "d", 8)
    assert (
        run_cli("train", "--data", str(data), "--steps", "2", "--runs-dir", str(runs), *TINY).returncode == 0
    )
    run = runs / "00000-dcgan-d"
    neutral = ["--set", "train.threads=2", "--set", "train.log_every=1", "--set", "train.checkpoint_every=1"]
    result = run_cli(
        "train", "--resume", str(run), "--steps", "3", *neutral, "--eval-n", "100", "--no-progress"
    )
    assert result.returncode == 0, result.stderr
    saved = json.loads((run / "config.json").read_text())["train"]
    assert (saved["threads"], saved["log_every"], saved["steps"], saved["eval_n"]) == (2, 1, 3, 100)
    result = run_cli("train", "--resume", str(run), "--set", "model.z_dim=16", "--no-progress")
    assert result.returncode == 1 and "got --set model.z_dim=16" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_all_checkpoints_damaged_refuses_then_start_over(tmp_path):
    runs = tmp_path / "runs"
    data = image_folder(tmp_path / "d", 8)
    assert (
        run_cli("train", "--data", str(data), "--steps", "2", "--runs-dir", str(runs), *TINY).returncode == 0
    )
    run = runs / "00000-dcgan-d"
    for _, path in ckpt.list_checkpoints(run / "checkpoints"):
        raw = bytearray(path.read_bytes())
        raw[100:164] = bytes(64)
        path.write_bytes(bytes(raw))
    result = run_cli("train", "--resume", str(run), "--steps", "3", "--no-progress")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: none of the 2 checkpoint(s)")
    assert "add --start-over" in result.stderr
    result = run_cli("train", "--resume", str(run), "--steps", "3", "--start-over", "--no-progress")
    assert result.returncode == 0, result.stderr
    assert [s for s, _ in ckpt.list_checkpoints(run / "checkpoints")] == [0, 3]


def test_sigterm_saves_at_the_end_of_the_step_and_exits_cleanly(tmp_path):
    runs = tmp_path / "runs"
    data = image_folder(tmp_path / "d", 8)
    cmd = [sys.executable, "-m", "ganforge", "train", "--data", str(data), "--steps", "100000"]
    cmd += ["--runs-dir", str(runs), *TINY, "--set", "train.checkpoint_every=100000"]
    proc = subprocess.Popen(
        cmd, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"}
    )
    log = runs / "00000-dcgan-d" / "log.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (log.is_file() and '"D_loss"' in log.read_text()):
        time.sleep(0.2)  # training has logged a step: the run is under way
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("SIGTERM did not stop the run")
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err and "checkpoint saved" in err
    events = [json.loads(x) for x in log.read_text().splitlines()]
    stopped = events[-1]
    assert stopped["event"] == "interrupted" and 0 < stopped["step"] < 100000
    steps = [s for s, _ in ckpt.list_checkpoints(runs / "00000-dcgan-d" / "checkpoints")]
    assert steps[-1] == stopped["step"]
    assert ckpt.load_latest(runs / "00000-dcgan-d" / "checkpoints")["step"] == stopped["step"]


def test_one_default_training_time_everywhere():
    """README, `ganforge --help` and `ganforge train --help` state the same figure."""
    import re

    from ganforge.cli import app as app_module
    from ganforge.cli import train as train_module

    figure = re.compile(r"((?:about|under) \d+(?:\.\d+)? (?:minutes?|seconds)) on 2 CPU cores")
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    texts = [readme.split("## Command line")[0], str(app_module.app.info.help), train_module.train.__doc__]
    found = [figure.findall(text) for text in texts]
    assert all(len(f) == 1 for f in found), found
    assert len({f[0] for f in found}) == 1, found
