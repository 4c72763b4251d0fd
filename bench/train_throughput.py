"""Training throughput of the classic 64x64 DCGAN: ganforge's trainer vs a plain eager PyTorch loop.

Radford et al. 2015's setup: z 100, 64 filters in G and D, batch 64, Adam 2e-4 with beta1 0.5,
non-saturating loss. Both sides train the same architecture on the same in-memory uint8 data; the
plain loop below is written here, independently of ganforge's models. Prints images/s of each
and their ratio; this is the yardstick for speed work.

    python bench/train_throughput.py --steps 20 --warmup 3 [--threads 2] [--device cpu]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from ganforge.config import DataConfig, RunConfig, TrainConfig
from ganforge.data.dataset import ImageData
from ganforge.recipes.gan import DCGANConfig
from ganforge.training.trainer import Trainer


def plain_generator(nz: int = 100, ngf: int = 64, nc: int = 3) -> nn.Module:
    def up(i: int, o: int) -> list[nn.Module]:
        return [nn.ConvTranspose2d(i, o, 4, 2, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(True)]

    return nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
        nn.BatchNorm2d(ngf * 8),
        nn.ReLU(True),
        *up(ngf * 8, ngf * 4),
        *up(ngf * 4, ngf * 2),
        *up(ngf * 2, ngf),
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
        nn.Tanh(),
    )


def plain_discriminator(ndf: int = 64, nc: int = 3) -> nn.Module:
    def down(i: int, o: int) -> list[nn.Module]:
        return [nn.Conv2d(i, o, 4, 2, 1, bias=False), nn.BatchNorm2d(o), nn.LeakyReLU(0.2, True)]

    return nn.Sequential(
        nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
        nn.LeakyReLU(0.2, True),
        *down(ndf, ndf * 2),
        *down(ndf * 2, ndf * 4),
        *down(ndf * 4, ndf * 8),
        nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),
        nn.Flatten(0),
    )


def plain_loop(data: torch.Tensor, steps: int, warmup: int, batch: int, device: torch.device) -> float:
    torch.manual_seed(0)
    G, D = plain_generator().to(device), plain_discriminator().to(device)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    images = data.to(device)
    gen = torch.Generator().manual_seed(0)
    start = 0.0
    for step in range(warmup + steps):
        if step == warmup:
            sync(device)
            start = time.perf_counter()
        index = torch.randint(0, images.shape[0], (batch,), generator=gen).to(device)
        real = images[index].float() / 127.5 - 1
        fake = G(torch.randn(batch, 100, 1, 1, device=device))
        loss_d = F.softplus(-D(real)).mean() + F.softplus(D(fake.detach())).mean()
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        loss_g = F.softplus(-D(fake)).mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
    sync(device)
    return steps * batch / (time.perf_counter() - start)


def ganforge_loop(data: torch.Tensor, steps: int, warmup: int, batch: int, device: torch.device) -> float:
    cfg = RunConfig(
        name="bench",
        recipe="dcgan",
        data=DataConfig(source="bench", size=64, channels=3),
        train=TrainConfig(
            steps=warmup + steps,
            batch_size=batch,
            device=str(device),
            log_every=10**9,
            sample_every=10**9,
            checkpoint_every=10**9,
        ),
        model=DCGANConfig(z_dim=100, g_channels=64, d_channels=64, loss="ns"),
    )
    images = ImageData(images=data, labels=None, class_names=None, source="bench")
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(cfg, Path(tmp), data=images, progress=False, tensorboard=False)
        start = 0.0
        for step in range(warmup + steps):
            if step == warmup:
                sync(device)
                start = time.perf_counter()
            trainer.train_step()
        sync(device)
    return steps * batch / (time.perf_counter() - start)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    data = torch.randint(
        0, 256, (2048, 3, 64, 64), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )
    plain = plain_loop(data, args.steps, args.warmup, args.batch, device)
    ours = ganforge_loop(data, args.steps, args.warmup, args.batch, device)
    print(
        f"device {device}, threads {torch.get_num_threads()}, torch {torch.__version__}, batch {args.batch}, "
        f"{args.steps} timed steps after {args.warmup} warmup"
    )
    print(f"plain eager PyTorch : {plain:8.1f} images/s")
    print(f"ganforge trainer    : {ours:8.1f} images/s")
    print(f"ratio ganforge/plain: {ours / plain:8.3f}")


if __name__ == "__main__":
    main()
