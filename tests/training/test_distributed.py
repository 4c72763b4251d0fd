import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import tiny_config, tiny_images
from ganforge.config import RunConfig
from ganforge.training import checkpoint as ckpt
from ganforge.training.distributed import DistContext, average_gradients
from ganforge.training.trainer import Trainer

WORKER = Path(__file__).with_name("ddp_worker.py")


def torchrun(run_dir: Path, recipe: str, steps: int, batch: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        str(WORKER),
        str(run_dir),
        recipe,
        str(steps),
        str(batch),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads([line for line in out.stdout.splitlines() if line.startswith("{")][-1])


@pytest.mark.slow
def test_two_processes_train_in_lockstep_write_once_and_resume_on_one(tmp_path):
    run = tmp_path / "run"
    assert torchrun(run, "dcgan", 6, 8) == {"world_size": 2, "same_weights": True, "step": 6}
    state = ckpt.load_latest(run / "checkpoints")
    assert state["step"] == 6 and state["images_seen"] == 6 * 8 * 2
    events = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in events if "D_loss" in e] == [2, 4, 6]  # logged once, by rank 0
    assert sum(e.get("event") == "finished" for e in events) == 1
    # a checkpoint written by two processes continues in one
    # (with the run's own config, as `--resume` does: the workers train in fp32)
    cfg = RunConfig.load(run / "config.json")
    cfg.train.steps = 8
    resumed = Trainer(cfg, run, data=tiny_images(), progress=False, tensorboard=False)
    assert resumed.fit().step == 8


@pytest.mark.slow
def test_two_processes_at_batch_b_match_one_process_at_2b(tmp_path):
    torchrun(tmp_path / "two", "gan", 1, 4)
    two = torch.load(tmp_path / "two" / "G_flat.pt", weights_only=True)

    cfg = tiny_config("gan", steps=1, dropout=0.0)
    cfg.train.batch_size = 8
    cfg.train.precision = "fp32"  # as in ddp_worker.py
    one = Trainer(cfg, tmp_path / "one", data=tiny_images(), progress=False, tensorboard=False)
    before = torch.cat([p.detach().reshape(-1) for p in one.recipe.G.parameters()]).clone()
    one.fit()
    after = torch.cat([p.detach().reshape(-1) for p in one.recipe.G.parameters()])
    assert not torch.equal(before, after)  # the step changed the weights
    assert torch.allclose(two, after, atol=1e-6, rtol=1e-5)


def test_global_batch_splits_over_processes(tmp_path):
    cfg = tiny_config(steps=1)
    cfg.train.global_batch = 16
    trainer = Trainer(cfg, tmp_path / "r", data=tiny_images(), progress=False, tensorboard=False)
    assert trainer.batch_size == 16 and trainer.global_batch == 16
    assert next(trainer.stream).real.shape[0] == 16


def test_sync_batchnorm_needs_cuda(tmp_path, monkeypatch):
    from ganforge.errors import ConfigError
    from ganforge.training import distributed

    cfg = tiny_config(steps=1)
    cfg.train.sync_batchnorm = True
    monkeypatch.setattr(distributed, "init_from_env", lambda device: DistContext(0, 2, 0))
    monkeypatch.setattr("ganforge.training.trainer.dist_utils.broadcast_parameters", lambda *a: None)
    with pytest.raises(ConfigError, match="needs CUDA"):
        Trainer(cfg, tmp_path / "r", data=tiny_images(), progress=False, tensorboard=False)


def test_average_gradients_is_a_no_op_on_one_process():
    p = torch.nn.Parameter(torch.ones(3))
    p.grad = torch.tensor([1.0, 2.0, 3.0])
    average_gradients([p], DistContext())
    assert p.grad.tolist() == [1.0, 2.0, 3.0]


@pytest.mark.slow
def test_torchrun_runs_the_cli_into_one_run_directory(tmp_path):
    from PIL import Image

    data = tmp_path / "imgs"
    data.mkdir()
    for i in range(16):
        Image.new("L", (10, 10), 15 * i).save(data / f"{i}.png")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "ganforge",
        "train",
        "--data",
        str(data),
        "--size",
        "8",
        "--steps",
        "3",
        "--batch",
        "4",
        "--runs-dir",
        str(tmp_path / "runs"),
        "--set",
        "model.g_channels=4",
        "--set",
        "model.d_channels=4",
        "--no-progress",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["00000-dcgan-imgs"]
    state = ckpt.load_latest(tmp_path / "runs" / "00000-dcgan-imgs" / "checkpoints")
    assert state["step"] == 3 and state["images_seen"] == 3 * 4 * 2
