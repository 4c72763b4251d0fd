"""Plain eager PyTorch training loops: the yardsticks of bench/train_throughput.py.

Each `*_plain(images, batch)` returns a zero-argument function that runs one training step of the
textbook algorithm, written here without ganforge's trainer: float32, contiguous memory, no
autocast. DCGAN uses networks written here too (Radford et al. 2015's 64x64 architecture);
pix2pix and StyleGAN train ganforge's own networks (the registry's `unet.G`, `patchgan.D`,
`stylegan.G`, `stylegan.D`), so that the comparison is the loop, not the architecture.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from ganforge.registry import create_model, load_all

Step = Callable[[], None]


def adam(module: nn.Module, lr: float = 2e-4, betas: tuple[float, float] = (0.5, 0.999)) -> torch.optim.Adam:
    return torch.optim.Adam(module.parameters(), lr=lr, betas=betas)


def draw(images: torch.Tensor, batch: int, gen: torch.Generator) -> torch.Tensor:
    index = torch.randint(0, images.shape[0], (batch,), generator=gen)
    return images[index].float() / 127.5 - 1


# ---------------------------------------------------------------- DCGAN (64x64)


def dcgan_generator(nz: int = 100, ngf: int = 64, nc: int = 3) -> nn.Module:
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


def dcgan_discriminator(ndf: int = 64, nc: int = 3) -> nn.Module:
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


def dcgan_plain(images: torch.Tensor, batch: int) -> Step:
    torch.manual_seed(0)
    G, D = dcgan_generator(), dcgan_discriminator()
    opt_g, opt_d = adam(G), adam(D)
    gen = torch.Generator().manual_seed(0)

    def step() -> None:
        real = draw(images, batch, gen)
        fake = G(torch.randn(batch, 100, 1, 1))
        loss_d = F.softplus(-D(real)).mean() + F.softplus(D(fake.detach())).mean()
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        loss_g = F.softplus(-D(fake)).mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()

    return step


# ---------------------------------------------------------------- pix2pix colorization


def pix2pix_plain(images: torch.Tensor, batch: int, g_channels: int, d_channels: int, depth: int) -> Step:
    """Isola et al. 2017: U-Net G on the gray image, 70x70 PatchGAN on (input, output), BCE + 100 L1."""
    load_all()
    torch.manual_seed(0)
    G = create_model("unet.G", in_channels=1, out_channels=3, base_channels=g_channels, depth=depth)
    D = create_model("patchgan.D", in_channels=4, base_channels=d_channels, n_layers=3)
    opt_g, opt_d = adam(G), adam(D)
    gen = torch.Generator().manual_seed(0)
    luma = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)

    def step() -> None:
        target = draw(images, batch, gen)
        gray = (target * luma).sum(dim=1, keepdim=True)
        fake = G(gray)
        real_logits = D(torch.cat([gray, target], 1))
        fake_logits = D(torch.cat([gray, fake.detach()], 1))
        loss_d = 0.5 * (F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean())
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        loss_g = F.softplus(-D(torch.cat([gray, fake], 1))).mean() + 100 * (fake - target).abs().mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()

    return step


# ---------------------------------------------------------------- StyleGAN2-style


def stylegan_plain(images: torch.Tensor, batch: int, model: object, r1_interval: int = 16) -> Step:
    """The StyleGAN2 loop (Karras et al. 2020): separate latents for D_main and G_main, style mixing
    with probability 0.9, lazy R1 every `r1_interval` steps with Adam's lr and betas scaled to match;
    `model` is a `StyleGANConfig` (widths and learning rate)."""
    load_all()
    torch.manual_seed(0)
    size, c = images.shape[-1], model
    G = create_model(
        "stylegan.G",
        z_dim=c.z_dim,
        w_dim=c.w_dim,
        img_size=size,
        img_channels=images.shape[1],
        mapping_layers=c.mapping_layers,
        channel_base=c.channel_base,
        max_channels=c.max_channels,
    )
    D = create_model(
        "stylegan.D",
        img_size=size,
        img_channels=images.shape[1],
        channel_base=c.channel_base,
        max_channels=c.max_channels,
        mbstd_group=c.mbstd_group,
    )
    ratio = r1_interval / (r1_interval + 1)
    b1, b2 = c.betas
    opt_g = torch.optim.Adam(G.parameters(), lr=c.lr_g, betas=(b1, b2), eps=1e-8)
    opt_d = torch.optim.Adam(D.parameters(), lr=c.lr_d * ratio, betas=(b1**ratio, b2**ratio), eps=1e-8)
    gamma = 0.0002 * size**2 / batch
    gen = torch.Generator().manual_seed(0)
    count = [0]

    def fake_images() -> torch.Tensor:
        ws = G.mapping(torch.randn(batch, c.z_dim))
        if torch.rand(()) < 0.9:
            other = G.mapping(torch.randn(batch, c.z_dim))
            cutoff = int(torch.randint(1, G.num_ws, ()))
            ws = torch.cat([ws[:, :cutoff], other[:, cutoff:]], dim=1)
        return G.synthesis(ws, noise_mode="random")

    def step() -> None:
        real = draw(images, batch, gen)
        with torch.no_grad():
            fake = fake_images()
        loss_d = F.softplus(D(fake)).mean() + F.softplus(-D(real)).mean()
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        if count[0] % r1_interval == 0:
            real = real.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(D(real).sum(), real, create_graph=True)
            loss_r1 = grad.square().sum(dim=(1, 2, 3)).mean() * (gamma / 2) * r1_interval
            opt_d.zero_grad(set_to_none=True)
            loss_r1.backward()
            opt_d.step()
        loss_g = F.softplus(-D(fake_images())).mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        count[0] += 1

    return step


# ---------------------------------------------------------------- what a user who knows autocast writes


def with_bf16_autocast(step: Step) -> Step:
    """`step` with its whole body under CPU bf16 autocast: the one-line change a user makes."""

    def run() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            step()

    return run
