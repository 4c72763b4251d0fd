"""One rank of bench/ddp_scaling.py (started by torchrun)."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from ganforge.config import DataConfig, RunConfig, TrainConfig
from ganforge.data.dataset import ImageData
from ganforge.recipes.gan import DCGANConfig
from ganforge.training.trainer import Trainer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int)
    parser.add_argument("--steps", type=int)
    parser.add_argument("--warmup", type=int)
    parser.add_argument("--batch", type=int)
    parser.add_argument("--device")
    args = parser.parse_args()
    data = torch.randint(
        0, 256, (1024, 3, args.size, args.size), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )
    cfg = RunConfig(
        name="ddp",
        recipe="dcgan",
        data=DataConfig(source="bench", size=args.size, channels=3),
        train=TrainConfig(steps=args.steps + args.warmup, batch_size=args.batch, device=args.device),
        model=DCGANConfig(g_channels=64, d_channels=64),
    )
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(
            cfg, Path(tmp), data=ImageData(data, None, None, "bench"), progress=False, tensorboard=False
        )
        start = 0.0
        for step in range(args.warmup + args.steps):
            if step == args.warmup:
                torch.distributed.barrier() if trainer.dist.enabled else None
                start = time.perf_counter()
            trainer.train_step()
        if trainer.dist.enabled:
            torch.distributed.barrier()
        elapsed = time.perf_counter() - start
    if trainer.dist.is_main:
        ips = args.steps * args.batch * trainer.dist.world_size / elapsed
        print(
            json.dumps(
                {
                    "images_per_second": ips,
                    "world_size": trainer.dist.world_size,
                    "threads": torch.get_num_threads(),
                }
            )
        )


if __name__ == "__main__":
    main()
