"""The HTTP API under /api/: JSON in, JSON or PNG/GIF out. Every model call goes through pipelines
on the inference queue; uploads are checked by `media.open_upload` before any model sees them."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import torch
from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt
from starlette.concurrency import run_in_threadpool

from ganforge.studio.limits import StudioError, StudioLimits
from ganforge.studio.media import data_url, gif_bytes, mask_to_tensor, open_upload, pil_to_tensor, png_bytes
from ganforge.studio.models import GeneratorModel, ImageModel, ModelManager
from ganforge.studio.queue import InferenceQueue

router = APIRouter(prefix="/api")
SEED_MAX = 2**32 - 1  # seeds stay exact in JavaScript numbers
# Strict: `true` is not the seed 1, nor 2.0 a count (pydantic would coerce both)
Seed = Annotated[StrictInt, Field(ge=0, le=SEED_MAX)]
Count = Annotated[StrictInt, Field(ge=1, le=SEED_MAX)]
ClassIndex = Annotated[StrictInt, Field(ge=0, le=SEED_MAX)]
# a share's scale is free (they are normalized), but 1e308 + 1e308 overflows to inf and every share to 0
Share = Annotated[float, Field(ge=0.0, le=1e6, allow_inf_nan=False)]
Latent = list[float] | list[list[float]]  # (z_dim,), or (groups, z_dim) for style-based models
MAX_NROW = 4096  # a bound for the query parameter; the grid's real width is checked against the limits
PNG = {"content": {"image/png": {}}, "description": "a PNG image"}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GenerateRequest(Strict):
    model: str | None = Field(None, description="model name from /api/models; default: the first generator")
    seed: Seed = Field(0, description="image i uses seed + i")
    count: Count = Field(1, description="how many images")
    seeds: list[Seed] | None = Field(
        None, description="explicit seeds, one per image (instead of seed/count)"
    )
    z: list[Latent] | None = Field(
        None, description="explicit latents, one per image (re-rendering a lineage)"
    )
    class_index: ClassIndex | None = Field(None, description="class of every image (conditional models)")
    classes: list[ClassIndex] | None = Field(None, description="class of each image (conditional models)")
    truncation: float | None = Field(None, ge=0.0, le=2.0, description="psi, where the model has truncation")


class Parent(Strict):
    seed: Seed | None = None
    z: Latent | None = None
    class_index: ClassIndex | None = None


class BreedRequest(Strict):
    model: str | None = None
    parents: list[Parent] = Field(min_length=1, max_length=16)
    shares: list[Share] | dict[str, list[Share]] | None = Field(
        None,
        description="one per parent (normalized), or per layer group for style-based models; default equal",
    )
    mutation: float = Field(0.3, ge=0.0, le=1.0, description="0 keeps the mixture, 1 gives a stranger")
    seed: Seed = Field(0, description="seeds the mutation noise")
    count: Count = Field(8, description="children to make")
    class_index: ClassIndex | None = Field(
        None, description="the children's class; default the main parent's"
    )
    truncation: float | None = Field(None, ge=0.0, le=2.0)


class InterpolateRequest(Strict):
    model: str | None = None
    seeds: list[Seed] | None = Field(None, description="key images by seed (at least two)")
    z: list[Latent] | None = Field(None, description="key images by latent (at least two)")
    frames: Count = Field(8, description="frames from one key to the next")
    class_index: ClassIndex | None = None
    truncation: float | None = Field(None, ge=0.0, le=2.0)
    format: Literal["gif", "png"] = Field("gif", description="gif: an animation; png: a strip")
    fps: StrictInt = Field(12, ge=1, le=60)
    scale: StrictInt = Field(1, ge=1, le=16, description="upscale each frame by this integer factor")


def _state(request: Request) -> tuple[ModelManager, StudioLimits, InferenceQueue]:
    s = request.app.state
    return s.manager, s.limits, s.queue


def _generator(manager: ModelManager, name: str | None, capability: str) -> GeneratorModel:
    model = manager.get(name, capability)
    assert isinstance(model, GeneratorModel)
    return model


def _check_output(
    model: GeneratorModel, limits: StudioLimits, images: int, scale: int, nrow: int | None = None
) -> None:
    """Refuse a PNG grid or GIF that would be too large, before anything is drawn. The size is that of
    the grid `imaging.make_grid` draws (`nrow` images per row, 2 pixels of padding when several), so a
    wide `nrow` with few images counts its empty columns too."""
    _refuse_large_output(grid_pixels(int(model.info()["img_size"]), images, nrow, scale), limits)


def _refuse_large_output(pixels: int, limits: StudioLimits) -> None:
    if pixels > limits.max_output_pixels:
        raise StudioError(
            f"that image would have about {pixels:,} pixels, over the limit of {limits.max_output_pixels:,}; "
            "use fewer images or frames, or a smaller scale",
            status=413,
        )


def grid_pixels(side: int, images: int, nrow: int | None, scale: int) -> int:
    """Pixels of `imaging.make_grid`'s grid of `images` squares of `side`, upscaled `scale` times."""
    padding = 2 if images > 1 else 0
    columns = nrow or max(1, math.ceil(math.sqrt(images)))
    rows = math.ceil(images / columns)
    return (rows * (side + padding) + padding) * (columns * (side + padding) + padding) * scale * scale


def _image_entries(
    images: torch.Tensor, z: torch.Tensor, labels: torch.Tensor | None, seeds: list[int | None]
) -> list[dict[str, Any]]:
    return [
        {
            "seed": seeds[i],
            "class_index": int(labels[i]) if labels is not None else None,
            "z": z[i].tolist(),
            "png": data_url(png_bytes(images[i : i + 1])),
        }
        for i in range(images.shape[0])
    ]


@router.get("/models", summary="The loaded models and what each can do")
async def list_models(request: Request) -> dict[str, Any]:
    manager, limits, queue = _state(request)
    return {
        "models": manager.infos(),
        "limits": {
            "max_upload_bytes": limits.max_upload_bytes,
            "max_pixels": limits.max_pixels,
            "max_images": limits.max_images,
            "max_frames": limits.max_frames,
        },
    }


@router.post("/generate", summary="Images from seeds or latents, with their latents (JSON)")
async def generate(body: GenerateRequest, request: Request) -> dict[str, Any]:
    manager, limits, queue = _state(request)
    model = _generator(manager, body.model, "generate")
    if body.z is not None and len(body.z) > limits.max_images:
        raise StudioError(f"ask for 1..{limits.max_images} images, not {len(body.z)}")
    if body.z is not None:
        z, seeds = model.latents_from_json(body.z), [None] * len(body.z)
    else:
        seeds = body.seeds if body.seeds is not None else [body.seed + i for i in range(body.count)]
        if any(s > SEED_MAX for s in seeds):
            raise StudioError(f"seed + count must stay below {SEED_MAX + 1}")
        z = None
    n = len(seeds)
    if n < 1 or n > limits.max_images:
        raise StudioError(f"ask for 1..{limits.max_images} images, not {n}")
    if body.classes is not None and len(body.classes) != n:
        raise StudioError(f"classes has {len(body.classes)} entries for {n} images")
    classes = body.classes or [body.class_index] * n
    labels = model.labels(n, classes)

    def job() -> dict[str, Any]:
        latent = z if z is not None else model.seed_latents(seeds)
        images = model.render(latent, labels, body.truncation)
        return {"model": model.name, "images": _image_entries(images, latent, labels, seeds)}

    return await queue.run(job)


@router.get(
    "/generate.png", summary="A PNG of seeds seed..seed+count-1 (a grid when count > 1)", responses={200: PNG}
)
async def generate_png(
    request: Request,
    model: str | None = None,
    seed: Annotated[int, Query(ge=0, le=SEED_MAX)] = 0,
    count: Annotated[int, Query(ge=1, le=SEED_MAX)] = 1,
    class_index: Annotated[int | None, Query(ge=0, le=SEED_MAX)] = None,
    truncation: Annotated[float | None, Query(ge=0.0, le=2.0)] = None,
    scale: Annotated[int, Query(ge=1, le=16)] = 1,
    nrow: Annotated[int | None, Query(ge=1, le=MAX_NROW)] = None,
) -> Response:
    manager, limits, queue = _state(request)
    chosen = _generator(manager, model, "generate")
    if count > limits.max_images or seed + count - 1 > SEED_MAX:
        raise StudioError(f"ask for 1..{limits.max_images} images with seeds below {SEED_MAX + 1}")
    _check_output(chosen, limits, count, scale, nrow)
    seeds = [seed + i for i in range(count)]
    labels = chosen.labels(count, [class_index] * count)

    def job() -> bytes:
        images = chosen.render(chosen.seed_latents(seeds), labels, truncation)
        return png_bytes(images, nrow=nrow, scale=scale)

    png = await queue.run(job)
    name = f"{chosen.name}-seed{seed}" + (f"-{count}" if count > 1 else "") + ".png"
    return Response(
        png, media_type="image/png", headers={"Content-Disposition": f'inline; filename="{name}"'}
    )


@router.post("/breed", summary="Children mixing the parents' latents by share, mutated (JSON)")
async def breed(body: BreedRequest, request: Request) -> dict[str, Any]:
    manager, limits, queue = _state(request)
    model = _generator(manager, body.model, "breed")
    if body.count > limits.max_images:
        raise StudioError(f"ask for 1..{limits.max_images} children, not {body.count}")
    rows = []
    for i, parent in enumerate(body.parents):
        if (parent.seed is None) == (parent.z is None):
            raise StudioError(f"parent {i + 1}: give either its seed or its latent z")
        rows.append(
            model.seed_latents([parent.seed]) if parent.z is None else model.latents_from_json([parent.z])
        )
    shapes = {tuple(r.shape[1:]) for r in rows}
    if len(shapes) > 1:  # plain latents next to per-group genomes: give each plain one to every group
        groups = len(model.info()["layer_groups"])
        rows = [r if r.dim() == 3 else r[:, None, :].expand(-1, groups, -1) for r in rows]
    parents = torch.cat(rows)
    shares = body.shares if body.shares is not None else [1.0] * len(rows)
    parent_labels = [p.class_index for p in body.parents]
    known = None if any(c is None for c in parent_labels) else parent_labels
    pipe = model.breeder()

    def job() -> dict[str, Any]:
        out = pipe(
            parents, shares, body.count, body.mutation, body.seed, known, body.class_index, body.truncation
        )
        children = _image_entries(out.images, out.z, out.labels, [None] * body.count)
        return {"model": model.name, "shares": out.shares, "children": children}

    return await queue.run(job)


@router.post("/interpolate", summary="A GIF or PNG strip walking between key images", responses={200: PNG})
async def interpolate(body: InterpolateRequest, request: Request) -> Response:
    manager, limits, queue = _state(request)
    model = _generator(manager, body.model, "interpolate")
    if (body.seeds is None) == (body.z is None):
        raise StudioError("give the key images either as seeds or as latents z")
    keys = model.seed_latents(body.seeds) if body.seeds is not None else model.latents_from_json(body.z)
    if keys.shape[0] < 2:
        raise StudioError("interpolation needs at least two key images")
    total = (keys.shape[0] - 1) * body.frames + 1
    if total > limits.max_frames:
        raise StudioError(f"{total} frames is over the limit of {limits.max_frames}; use fewer frames")
    side = int(model.info()["img_size"])
    # a GIF holds `total` single frames; a PNG strip is one row of them
    gif = body.format == "gif"
    pixels = (
        total * grid_pixels(side, 1, None, body.scale) if gif else grid_pixels(side, total, total, body.scale)
    )
    _refuse_large_output(pixels, limits)
    labels = model.labels(total, [body.class_index] * total) if body.class_index is not None else None
    if labels is None and model.info()["num_classes"]:
        labels = model.labels(total, [0] * total)

    def job() -> bytes:
        frames = model.render(model.interpolate(keys, body.frames), labels, body.truncation)
        if body.format == "gif":
            return gif_bytes(frames, body.fps, body.scale)
        return png_bytes(frames, nrow=frames.shape[0], scale=body.scale)

    data = await queue.run(job)
    return Response(data, media_type=f"image/{body.format}")


async def _run_image_task(
    request: Request,
    task: str,
    model_name: str | None,
    image: UploadFile,
    mask: UploadFile | None = None,
    direction: str | None = None,
) -> Response:
    manager, limits, queue = _state(request)
    model = manager.get(model_name, task)
    assert isinstance(model, ImageModel)
    if model.directions and direction not in model.directions and direction is not None:
        raise StudioError(
            f"direction {direction!r}: model {model.name!r} translates {', '.join(model.directions)}"
        )
    if not model.directions and direction is not None:
        raise StudioError(f"model {model.name!r} translates one way only; leave out the direction")
    chosen = direction or (model.directions[0] if model.directions else None)
    data = await image.read()
    picture = await run_in_threadpool(open_upload, data, limits.max_pixels, "image")
    hole = None
    if task == "inpaint":
        if mask is None:
            raise StudioError("inpainting needs a mask: white where the image should be filled in")
        mask_picture = await run_in_threadpool(open_upload, await mask.read(), limits.max_pixels, "mask")
        hole = mask_to_tensor(mask_picture, picture.size)

    def job() -> bytes:
        result = model.run(pil_to_tensor(picture, model.in_channels), hole, chosen)
        return png_bytes(result)

    png = await queue.run(job)
    return Response(png, media_type="image/png", headers={"X-Model": model.name})


ImageFile = Annotated[UploadFile, File(description="a PNG, JPEG, WebP, BMP or GIF image")]
ModelField = Annotated[str | None, Form(description="model name from /api/models")]


@router.post("/translate", summary="Translate an uploaded image (pix2pix, CycleGAN)", responses={200: PNG})
async def translate(
    request: Request,
    image: ImageFile,
    model: ModelField = None,
    direction: Annotated[str | None, Form(description="AtoB or BtoA for two-way models (CycleGAN)")] = None,
) -> Response:
    return await _run_image_task(request, "translate", model, image, direction=direction)


@router.post("/colorize", summary="Colorize an uploaded gray image (pix2pix colorize)", responses={200: PNG})
async def colorize(request: Request, image: ImageFile, model: ModelField = None) -> Response:
    return await _run_image_task(request, "colorize", model, image)


@router.post("/upscale", summary="Upscale an uploaded image (SRGAN)", responses={200: PNG})
async def upscale(request: Request, image: ImageFile, model: ModelField = None) -> Response:
    return await _run_image_task(request, "upscale", model, image)


@router.post("/inpaint", summary="Fill the masked part of an uploaded image", responses={200: PNG})
async def inpaint(
    request: Request,
    image: ImageFile,
    mask: Annotated[UploadFile, File(description="same size as the image; white = fill in")],
    model: ModelField = None,
) -> Response:
    return await _run_image_task(request, "inpaint", model, image, mask=mask)
