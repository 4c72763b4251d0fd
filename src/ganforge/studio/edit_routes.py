"""The studio's editing API ("genes"): a model's directions, edited images, and breeding that
carries gene values from parents to children.

GET  /api/directions?model=ID  -> {"directions": [{name, method, scale, layers, label}], "classes": K | null}
POST /api/edit                 -> {"image": "data:image/png;base64,...", "genes": {...}}
POST /api/edit.png             -> the PNG
POST /api/edit/breed           -> /api/breed's answer, each child with the genes its parents passed on
                                  (mixed by share) and its image rendered with them

An image is reproduced exactly by POST /api/edit with its latent, class and genes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import torch
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from ganforge.errors import CheckpointError, ConfigError
from ganforge.studio.limits import StudioError
from ganforge.studio.media import data_url, png_bytes
from ganforge.studio.models import GeneratorModel

router = APIRouter(prefix="/api")
SEED_MAX = 2**32 - 1
MAX_GENES = 64
MAX_LATENT = 4096  # numbers per latent row; far above any generator served here
Strength = Annotated[float, Field(allow_inf_nan=False, ge=-100.0, le=100.0)]
Genes = Annotated[dict[Annotated[str, Field(max_length=64)], Strength], Field(max_length=MAX_GENES)]
Row = Annotated[
    list[Annotated[float, Field(allow_inf_nan=False)]], Field(min_length=1, max_length=MAX_LATENT)
]
LatentField = Row | Annotated[list[Row], Field(min_length=1, max_length=64)]
PNG = {"content": {"image/png": {}}, "description": "a PNG image"}


class EditRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    model: str | None = Field(None, description="model name from /api/models; default: the first generator")
    seed: Annotated[int, Field(ge=0, le=SEED_MAX)] | None = Field(None, description="the image's seed")
    latent: LatentField | None = Field(None, description="or its latent z (z_dim,), or (groups, z_dim)")
    class_index: int | None = Field(None, alias="class", description="the image's class (conditional models)")
    genes: Genes = Field(default_factory=dict, description='strength per direction, e.g. {"pca:0": 2.0}')
    layers: str | None = Field(None, max_length=32, description="style-based: coarse, middle or fine")
    truncation: float | None = Field(None, ge=0.0, le=2.0, description="psi, where the model has truncation")


class GeneParent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seed: Annotated[int, Field(ge=0, le=SEED_MAX)] | None = None
    z: LatentField | None = None
    class_index: int | None = None
    genes: Genes = Field(default_factory=dict)


class GeneBreedRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str | None = None
    parents: list[GeneParent] = Field(min_length=1, max_length=16)
    shares: list[float] | dict[str, list[float]] | None = None
    mutation: float = Field(0.3, ge=0.0, le=1.0)
    seed: Annotated[int, Field(ge=0, le=SEED_MAX)] = 0
    count: int = Field(8, ge=1)
    class_index: int | None = None
    layers: str | None = Field(None, max_length=32)
    truncation: float | None = Field(None, ge=0.0, le=2.0, description="psi, as /api/breed takes it")


# ---------------------------------------------------------------- pipelines, one per model and direction file

_PIPELINES: dict[tuple[str, str, float], Any] = {}


def _directions_stamp(source: Path) -> tuple[Path | None, float]:
    from ganforge.editing.store import INDEX_FILE, directions_folder

    try:
        folder = directions_folder(source)
    except CheckpointError:
        return None, 0.0
    index = folder / INDEX_FILE
    return folder, (index.stat().st_mtime if index.exists() else 0.0)


def edit_pipeline(model: GeneratorModel) -> Any:
    """The model's EditPipeline, rebuilt when its direction files change on disk."""
    from ganforge.editing.model import generator_facts
    from ganforge.editing.store import load_directions
    from ganforge.pipelines.edit import EditPipeline

    folder, stamp = _directions_stamp(Path(model.source))
    key = (model.name, str(model.source), stamp)
    if key not in _PIPELINES:
        for old in [k for k in _PIPELINES if k[0] == model.name]:
            del _PIPELINES[old]
        directions = load_directions(folder, generator_facts(model.G)) if folder is not None else None
        _PIPELINES[key] = EditPipeline(model.G, directions, model.class_names)
    return _PIPELINES[key]


def _model(request: Request, name: str | None) -> GeneratorModel:
    model = request.app.state.manager.get(name, "generate")
    if not isinstance(model, GeneratorModel):
        raise StudioError(f"model {name!r} does not generate images")
    return model


def _edit(
    pipe: Any,
    seed: int | None,
    latent: Any,
    class_index: int | None,
    genes: dict,
    layers: str | None,
    truncation: float | None = None,
):
    """One edited image (1, C, H, W) and its checked genes; bad input is a 422."""
    try:
        genes = pipe.check_genes(genes)
        pipe.check_layers(layers)
        z = None
        if latent is not None:
            z = torch.tensor(latent, dtype=torch.float32)
        out = pipe(
            seed=None if z is not None else seed,
            latent=z,
            class_index=class_index,
            genes=genes,
            layers=layers,
            truncation_psi=truncation,
        )
    except ConfigError as err:
        raise StudioError(str(err), status=422) from None
    except (TypeError, ValueError) as err:
        raise StudioError(f"invalid latent: {str(err)[:120]}", status=422) from None
    return out.images, out.genes[0]


def _check_one_of(seed: int | None, latent: Any) -> None:
    if seed is not None and latent is not None:
        raise StudioError("give the image either as a seed or as a latent, not both", status=422)


# ---------------------------------------------------------------- routes


@router.get("/directions", summary="A model's directions (genes) and its number of classes")
async def list_directions(request: Request, model: str | None = None) -> dict[str, Any]:
    chosen = _model(request, model)
    pipe = edit_pipeline(chosen)
    return {
        "directions": [
            {"name": d.name, "method": d.method, "scale": d.scale, "layers": d.layers, "label": d.label}
            for d in pipe.available()
            if d.space != "class"
        ],
        "classes": pipe.facts.num_classes or None,
    }


async def _run_edit(body: EditRequest, request: Request, finish: Callable[[torch.Tensor, dict], Any]) -> Any:
    """The edit as one queued work item that also builds the answer (`finish(images, genes)`), so that
    `POST /api/jobs/edit` (whose result is what the work returns) answers like `POST /api/edit`."""
    _check_one_of(body.seed, body.latent)
    model = _model(request, body.model)
    pipe = edit_pipeline(model)
    seed = 0 if body.seed is None and body.latent is None else body.seed
    queue = request.app.state.queue
    return await queue.run(
        lambda: finish(
            *_edit(pipe, seed, body.latent, body.class_index, body.genes, body.layers, body.truncation)
        )
    )


@router.post("/edit", summary="An image edited by gene values (JSON with a PNG data URL)")
async def edit(body: EditRequest, request: Request) -> dict[str, Any]:
    return await _run_edit(
        body, request, lambda images, genes: {"image": data_url(png_bytes(images)), "genes": genes}
    )


@router.post("/edit.png", summary="An image edited by gene values (PNG)", responses={200: PNG})
async def edit_png(body: EditRequest, request: Request) -> Response:
    png = await _run_edit(body, request, lambda images, _genes: png_bytes(images))
    return Response(png, media_type="image/png")


def mix_genes(parent_genes: list[dict[str, float]], shares: list[float]) -> dict[str, float]:
    """A child's genes: each gene its parents' values weighted by share (a missing gene counts 0)."""
    names = sorted({n for g in parent_genes for n in g})
    return {
        n: float(sum(s * g.get(n, 0.0) for s, g in zip(shares, parent_genes, strict=True))) for n in names
    }


@router.post("/edit/breed", summary="Breed children that inherit their parents' gene values by share")
async def breed_with_genes(body: GeneBreedRequest, request: Request) -> dict[str, Any]:
    from ganforge.pipelines.breed import normalize_shares
    from ganforge.studio import routes

    model = _model(request, body.model)
    pipe = edit_pipeline(model)
    n = len(body.parents)
    try:
        for p in body.parents:
            pipe.check_genes(p.genes)
        if isinstance(body.shares, dict):  # per layer group: a gene follows the parent's mean share
            groups = [normalize_shares(s, n) for s in body.shares.values()]
            fractions = (sum(groups) / len(groups)).tolist() if groups else [1.0 / n] * n
        else:
            fractions = normalize_shares(body.shares if body.shares is not None else [1.0] * n, n).tolist()
    except ConfigError as err:
        raise StudioError(str(err), status=422) from None
    plain = routes.BreedRequest(
        **body.model_dump(exclude={"parents", "layers"}),
        parents=[routes.Parent(**p.model_dump(exclude={"genes"})) for p in body.parents],
    )
    bred = await routes.breed(plain, request)
    genes = mix_genes([p.genes for p in body.parents], fractions)

    def job() -> dict[str, Any]:
        for child in bred["children"]:
            image, child["genes"] = _edit(
                pipe, None, child["z"], child["class_index"], genes, body.layers, body.truncation
            )
            child["png"] = data_url(png_bytes(image))
        return bred

    return await request.app.state.queue.run(job)
