"""One rank of test_distributed.py, started by torchrun: trains a tiny DCGAN, then checks that
every rank ended with identical generator weights."""

import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import tiny_config, tiny_images  # noqa: E402
from ganforge.training.trainer import Trainer  # noqa: E402

run_dir = Path(sys.argv[1])
trainer = Trainer(tiny_config(steps=6), run_dir, data=tiny_images(), progress=False, tensorboard=False)
trainer.fit()
flat = torch.cat([p.detach().reshape(-1) for p in trainer.recipe.G.parameters()])
gathered = [torch.zeros_like(flat) for _ in range(trainer.dist.world_size)]
dist.all_gather(gathered, flat)
if trainer.dist.is_main:
    same = all(torch.equal(gathered[0], g) for g in gathered[1:])
    print(json.dumps({"world_size": trainer.dist.world_size, "same_weights": same, "step": trainer.step}))
dist.destroy_process_group()
