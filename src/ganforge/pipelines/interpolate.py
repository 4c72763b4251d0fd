"""Walks through latent space: spherical interpolation between the latents of given seeds."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ganforge.errors import ConfigError
from ganforge.pipelines.generate import GeneratePipeline, class_labels, latents


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation (White 2016, "Sampling Generative Networks") of rows a, b at fractions t."""
    a_n, b_n = a / a.norm(dim=-1, keepdim=True), b / b.norm(dim=-1, keepdim=True)
    omega = torch.acos((a_n * b_n).sum(-1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7))
    so = torch.sin(omega)
    t = t.view(-1, 1)
    return (torch.sin((1 - t) * omega) / so) * a + (torch.sin(t * omega) / so) * b


@dataclass
class InterpolateOutput:
    frames: torch.Tensor  # (F, C, H, W) in [-1, 1]
    z: torch.Tensor  # (F, z_dim)


class InterpolatePipeline:
    def __init__(self, G: torch.nn.Module, device: torch.device | str = "cpu"):
        self.generate = GeneratePipeline(G, device)

    def __call__(
        self, seeds: list[int], frames_between: int = 8, class_index: int | None = None, loop: bool = False
    ) -> InterpolateOutput:
        if len(seeds) < 2:
            raise ConfigError("--seeds needs at least two seeds, e.g. --seeds 1,2,3")
        if frames_between < 1:
            raise ConfigError("--frames must be at least 1")
        G = self.generate.G
        keys = torch.cat([latents(1, G.z_dim, s) for s in seeds])
        if loop:
            keys = torch.cat([keys, keys[:1]])
        t = torch.arange(frames_between) / frames_between
        path = [
            slerp(keys[i].expand(frames_between, -1), keys[i + 1].expand(frames_between, -1), t)
            for i in range(len(keys) - 1)
        ]
        if not loop:
            path.append(keys[-1:])
        z = torch.cat(path)
        labels = class_labels(G, z.shape[0], class_index)
        out = self.generate(z.shape[0], z=z, labels=labels)
        return InterpolateOutput(out.images, z)
