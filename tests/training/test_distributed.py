import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import tiny_config, tiny_images
from ganforge.training import checkpoint as ckpt
from ganforge.training.distributed import DistContext, average_gradients
from ganforge.training.trainer import Trainer


@pytest.mark.slow
def test_two_processes_train_in_lockstep_and_resume_on_one(tmp_path):
    worker = Path(__file__).with_name("ddp_worker.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
            str(worker),
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads([line for line in out.stdout.splitlines() if line.startswith("{")][-1])
    assert result == {"world_size": 2, "same_weights": True, "step": 6}
    state = ckpt.load_latest(tmp_path / "run" / "checkpoints")
    assert state["step"] == 6 and state["images_seen"] == 6 * 8 * 2
    # a checkpoint written by two processes continues in one
    resumed = Trainer(
        tiny_config(steps=8), tmp_path / "run", data=tiny_images(), progress=False, tensorboard=False
    )
    assert resumed.fit().step == 8


def test_average_gradients_is_a_no_op_on_one_process():
    p = torch.nn.Parameter(torch.ones(3))
    p.grad = torch.tensor([1.0, 2.0, 3.0])
    average_gradients([p], DistContext())
    assert p.grad.tolist() == [1.0, 2.0, 3.0]
