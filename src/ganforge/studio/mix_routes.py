"""`POST /api/mix`: a style-mixing grid (Karras et al. 2019, figure 3), as `ganforge mix` draws it.

Each cell is its row parent with the styles of the chosen layer groups (coarse, middle, fine) taken
from its column parent. The studio mixes in the per-group latent space that breeding uses (one z per
layer group, `forward_groups`): every group's z goes through the mapping network on its own, so a
cell equals `StyleMixPipeline`'s w-space mix for seed parents, and it also works for bred children
and projected photos. Each cell comes back with its latent, so it can join the family tree.
"""

from __future__ import annotations

from typing import Any

import torch
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from ganforge.studio.limits import StudioError
from ganforge.studio.media import data_url, png_bytes
from ganforge.studio.models import GeneratorModel

router = APIRouter(prefix="/api")
MAX_SIDE = 8  # row or column parents


class MixParent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seed: int | None = Field(None, ge=0, le=2**32 - 1)
    z: list[float] | list[list[float]] | None = None


class MixRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str | None = Field(None, description="a style-based model from /api/models")
    rows: list[MixParent] = Field(min_length=1, max_length=MAX_SIDE, description="they keep the other layers")
    cols: list[MixParent] = Field(
        min_length=1, max_length=MAX_SIDE, description="they give the chosen layers"
    )
    layers: list[str] = Field(["coarse"], min_length=1, description="layer groups taken from the column")
    truncation: float | None = Field(None, ge=0.0, le=2.0)
    class_index: int | None = None


def group_latents(model: GeneratorModel, parents: list[MixParent], what: str) -> torch.Tensor:
    """(N, groups, z_dim): a seed's or plain latent's z in every group; per-group latents as they are."""
    groups = len(model.info()["layer_groups"])
    rows = []
    for i, parent in enumerate(parents):
        if (parent.seed is None) == (parent.z is None):
            raise StudioError(f"{what} parent {i + 1}: give either its seed or its latent z")
        z = model.seed_latents([parent.seed]) if parent.z is None else model.latents_from_json([parent.z])
        rows.append(z if z.dim() == 3 else z[:, None, :].expand(-1, groups, -1))
    return torch.cat(rows)


def mix_latents(rows: torch.Tensor, cols: torch.Tensor, take: list[int]) -> torch.Tensor:
    """(R, C, groups, z_dim): row latents with the groups in `take` from each column latent."""
    chosen = torch.zeros(rows.shape[1], dtype=torch.bool)
    chosen[take] = True
    return torch.where(chosen[None, None, :, None], cols[None], rows[:, None])


@router.post("/mix", summary="A style-mixing grid of row and column parents (style-based models)")
async def mix(body: MixRequest, request: Request) -> dict[str, Any]:
    manager, queue = request.app.state.manager, request.app.state.queue
    model = manager.get(body.model, "generate")
    if not isinstance(model, GeneratorModel) or not model.info()["layer_groups"]:
        raise StudioError(
            f"model {model.name!r} is not style-based; style mixing needs layer groups (StyleGAN)"
        )
    names = model.info()["layer_groups"]
    unknown = [g for g in body.layers if g not in names]
    if unknown:
        raise StudioError(f"layer group {unknown[0]!r} is not one of {', '.join(names)}")
    rows = group_latents(model, body.rows, "row")
    cols = group_latents(model, body.cols, "column")
    cells = mix_latents(rows, cols, [names.index(g) for g in body.layers])
    r, c = rows.shape[0], cols.shape[0]
    z = torch.cat([rows, cols, cells.flatten(0, 1)])
    labels = model.labels(z.shape[0], [body.class_index] * z.shape[0])

    def job() -> dict[str, Any]:
        images = model.render(z, labels, body.truncation)

        def entry(k: int) -> dict[str, Any]:
            label = int(labels[k]) if labels is not None else None
            return {"z": z[k].tolist(), "class_index": label, "png": data_url(png_bytes(images[k : k + 1]))}

        return {
            "model": model.name,
            "layers": body.layers,
            "rows": [entry(i) for i in range(r)],
            "cols": [entry(r + j) for j in range(c)],
            "cells": [[entry(r + c + i * c + j) for j in range(c)] for i in range(r)],
        }

    return await queue.run(job)
