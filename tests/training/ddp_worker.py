"""One rank of test_distributed.py, started by torchrun: trains a tiny model, then reports whether
every rank ended with identical generator weights and saves rank 0's weights for comparison.

usage: ddp_worker.py RUN_DIR RECIPE STEPS BATCH_PER_PROCESS
"""

import json
import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import tiny_config, tiny_images  # noqa: E402
from ganforge.training.trainer import Trainer  # noqa: E402

run_dir, recipe, steps, batch = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
overrides = {"dropout": 0.0} if recipe == "gan" else {}
cfg = tiny_config(recipe, steps=steps, **overrides)
cfg.train.batch_size = batch
cfg.train.precision = (
    "fp32"  # the 1-process comparison is exact only in float32 (bf16 rounds per batch split)
)
trainer = Trainer(cfg, run_dir, data=tiny_images(), progress=False, tensorboard=False)
trainer.fit()
flat = torch.cat([p.detach().reshape(-1) for p in trainer.recipe.G.parameters()])
gathered = [torch.zeros_like(flat) for _ in range(trainer.dist.world_size)]
dist.all_gather(gathered, flat)
if trainer.dist.is_main:
    torch.save(flat, run_dir / "G_flat.pt")
    same = all(torch.equal(gathered[0], g) for g in gathered[1:])
    print(json.dumps({"world_size": trainer.dist.world_size, "same_weights": same, "step": trainer.step}))
dist.barrier()  # nobody tears down the group while another rank still uses it
dist.destroy_process_group()
# Skip interpreter teardown: under heavy load gloo's background threads can still be unwinding when
# C++ static destructors run, which aborts the process ("terminate called without an active exception")
# after all the work is done and reported.
sys.stdout.flush()
os._exit(0)
