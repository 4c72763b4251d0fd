"""Walks through latent space: spherical interpolation between the latents of given seeds.

For style-based generators (StyleGAN) the walk is linear in W, the mapping network's output, where
the paper finds paths perceptually smoother than in Z (Karras et al. 2019, section 4.2).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ganforge.errors import ConfigError
from ganforge.pipelines.generate import (
    GeneratePipeline,
    class_labels,
    is_style_based,
    latents,
    truncation_kwargs,
)


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
    z: torch.Tensor  # (F, z_dim) the walk in Z; for a walk in W, each frame's nearest key latent
    w: torch.Tensor | None = None  # (F, w_dim) the walk in W, for style-based generators
    space: str = "z"  # "z" (slerp of latents) or "w" (lerp of styles)


class InterpolatePipeline:
    def __init__(self, G: torch.nn.Module, device: torch.device | str = "cpu"):
        self.generate = GeneratePipeline(G, device)

    def __call__(
        self,
        seeds: list[int],
        frames_between: int = 8,
        class_index: int | None = None,
        loop: bool = False,
        truncation_psi: float | None = None,
        space: str = "auto",
    ) -> InterpolateOutput:
        """`space`: "auto" (W for style-based generators, else Z), "w" or "z"."""
        if space not in ("auto", "w", "z"):
            raise ConfigError(f"interpolation space {space!r} is unknown; use auto, w or z")
        if len(seeds) < 2:
            raise ConfigError("--seeds needs at least two seeds, e.g. --seeds 1,2,3")
        if frames_between < 1:
            raise ConfigError("--frames must be at least 1")
        G = self.generate.G
        keys = torch.cat([latents(1, G.z_dim, s) for s in seeds])
        if loop:
            keys = torch.cat([keys, keys[:1]])
        t = torch.arange(frames_between) / frames_between
        if space == "w" and not is_style_based(G):
            raise ConfigError(
                "interpolation in W needs a style-based generator (stylegan); this one has no W"
            )
        if space == "w" or (space == "auto" and is_style_based(G)):
            return self._walk_w(keys, t, loop, class_index, truncation_psi)
        path = [
            slerp(keys[i].expand(frames_between, -1), keys[i + 1].expand(frames_between, -1), t)
            for i in range(len(keys) - 1)
        ]
        if not loop:
            path.append(keys[-1:])
        z = torch.cat(path)
        labels = class_labels(G, z.shape[0], class_index)
        out = self.generate(z.shape[0], z=z, labels=labels, truncation_psi=truncation_psi)
        return InterpolateOutput(out.images, z)

    @torch.no_grad()
    def _walk_w(
        self, keys: torch.Tensor, t: torch.Tensor, loop: bool, class_index: int | None, psi: float | None
    ) -> InterpolateOutput:
        G, device = self.generate.G, self.generate.device
        truncation_kwargs(G, psi)  # checks psi
        key_labels = class_labels(G, keys.shape[0], class_index)
        lb = key_labels.to(device) if key_labels is not None else None
        ws = G.mapping(keys.to(device), lb, truncation_psi=1.0 if psi is None else psi)  # (K, num_ws, w_dim)
        w_keys = ws[:, 0].cpu()  # (K, w_dim): one w per key (truncation applies to all layers)
        n = t.shape[0]
        path, z_path = [], []
        for i in range(len(keys) - 1):
            path.append(torch.lerp(w_keys[i].expand(n, -1), w_keys[i + 1].expand(n, -1), t[:, None]))
            z_path.append(torch.where(t[:, None] < 0.5, keys[i], keys[i + 1]))
        if not loop:
            path.append(w_keys[-1:])
            z_path.append(keys[-1:])
        w = torch.cat(path)  # (F, w_dim)
        frames = []
        for start in range(0, w.shape[0], 64):
            wb = w[start : start + 64].to(device)
            wb = wb[:, None, :].repeat(1, G.num_ws, 1)  # (B, num_ws, w_dim)
            frames.append(G.synthesis(wb).clamp(-1, 1).float().cpu())
        return InterpolateOutput(torch.cat(frames), torch.cat(z_path), w, "w")
