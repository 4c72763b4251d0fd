"""Images from noise, deterministic for a seed (diffusers-style pipeline: one task, one call)."""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any

import torch

from ganforge.errors import ConfigError
from ganforge.sampling import check_class, class_labels, latents  # noqa: F401  (part of this module's API)


@dataclass
class GenerateOutput:
    images: torch.Tensor  # (N, C, H, W) float in [-1, 1], on the CPU
    z: torch.Tensor  # (N, z_dim) the latents used
    labels: torch.Tensor | None  # (N,) the classes used, for conditional generators


def is_style_based(G: torch.nn.Module) -> bool:
    """Whether G maps z to styles and synthesizes from them (StyleGAN: `mapping` and `synthesis`)."""
    return callable(getattr(G, "mapping", None)) and callable(getattr(G, "synthesis", None))


def truncation_kwargs(G: torch.nn.Module, truncation_psi: float | None) -> dict[str, Any]:
    """``{"truncation_psi": psi}`` for a G whose forward takes it; {} for None; an error otherwise."""
    if truncation_psi is None:
        return {}
    if "truncation_psi" not in inspect.signature(G.forward).parameters:
        raise ConfigError(
            "--truncation needs a style-based generator (e.g. --preset stylegan-emoji64); this model has none"
        )
    if not math.isfinite(truncation_psi):
        raise ConfigError(f"--truncation {truncation_psi} must be a finite number, e.g. 0.7")
    return {"truncation_psi": float(truncation_psi)}


class GeneratePipeline:
    """`GeneratePipeline(G)(n=64, seed=0)` -> `GenerateOutput`, batched to bound memory."""

    def __init__(self, G: torch.nn.Module, device: torch.device | str = "cpu", precision: str = "fp32"):
        """`precision`: "fp32" (the default: the same pixels on every machine), "bf16" (about 2x
        faster on CPUs with native bf16 and on GPUs; a few pixel values move by one level) or
        "auto" (bf16 where native)."""
        from ganforge.training.speed import inference_mode

        self.device = torch.device(device)
        self.amp_dtype, channels_last = inference_mode(precision, self.device)
        self.G = G.to(device).eval()
        if channels_last:
            self.G.to(memory_format=torch.channels_last)

    @torch.no_grad()
    def __call__(
        self,
        n: int,
        seed: int = 0,
        class_index: int | None = None,
        batch_size: int = 64,
        z: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        truncation_psi: float | None = None,
    ) -> GenerateOutput:
        """`truncation_psi` (style-based generators only) pulls every w toward the average w:
        1 is no truncation, 0 gives the average image for every seed."""
        if n < 1:
            raise ConfigError(f"--n {n}: ask for at least one image")
        kwargs = truncation_kwargs(self.G, truncation_psi)
        z = latents(n, self.G.z_dim, seed) if z is None else z
        labels = class_labels(self.G, n, class_index) if labels is None else labels
        from ganforge.training.speed import autocast

        chunks = []
        for start in range(0, n, batch_size):
            zb = z[start : start + batch_size].to(self.device)
            lb = labels[start : start + batch_size].to(self.device) if labels is not None else None
            with autocast(self.device, self.amp_dtype):
                chunks.append(self.G(zb, lb, **kwargs).float().cpu())
        return GenerateOutput(torch.cat(chunks), z, labels)
