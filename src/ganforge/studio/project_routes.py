"""`POST /api/project`: an uploaded photo projected into a generator (GAN inversion, as `ganforge
project` does; `ganforge.pipelines.project`), returned as a latent the Breed page can mix.

The latent is `z` for plain generators and `z+` (one z per layer group) for style-based ones, the
two forms breeding takes. Each optimizer step reports progress, so the studio's job API shows
steps done / total and a cancel stops between steps.
"""

from __future__ import annotations

from typing import Annotated, Any

import torch
from fastapi import APIRouter, File, Form, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from ganforge.studio.jobs import report_progress
from ganforge.studio.limits import StudioError
from ganforge.studio.media import data_url, open_upload, pil_to_tensor, png_bytes
from ganforge.studio.models import GeneratorModel

router = APIRouter(prefix="/api")
MAX_STEPS = 2000


def photo_target(picture: Any, size: int, channels: int) -> torch.Tensor:
    """The upload center-cropped to a square, resized to the generator's size: (1, C, H, W) in [-1, 1]."""
    from PIL import Image, ImageOps

    square = ImageOps.fit(picture, (size, size), Image.Resampling.LANCZOS)
    return pil_to_tensor(square, channels)


@router.post("/project", summary="Project an uploaded photo into a generator: its latent and reconstruction")
async def project(
    request: Request,
    image: Annotated[UploadFile, File(description="a PNG, JPEG, WebP, BMP or GIF photo")],
    model: Annotated[str | None, Form(description="a generator from /api/models")] = None,
    steps: Annotated[int, Form(ge=1, le=MAX_STEPS, description="optimizer steps")] = 200,
    perceptual: Annotated[bool, Form(description="add the EfficientNet-Lite0 feature loss")] = False,
    seed: Annotated[int, Form(ge=0, le=2**32 - 1)] = 0,
    class_index: Annotated[int | None, Form()] = None,
) -> dict[str, Any]:
    from ganforge.pipelines.breed import layer_groups
    from ganforge.pipelines.project import ProjectPipeline

    manager, limits, queue = request.app.state.manager, request.app.state.limits, request.app.state.queue
    chosen = manager.get(model, "breed")
    if not isinstance(chosen, GeneratorModel):
        raise StudioError(f"model {chosen.name!r} cannot take a photo in; choose a generator")
    info = chosen.info()
    if class_index is not None:
        chosen.labels(1, [class_index])  # checks the class
    picture = await run_in_threadpool(open_upload, await image.read(), limits.max_pixels, "photo")
    target = photo_target(picture, info["img_size"], info["channels"])
    space = "z+" if layer_groups(chosen.G) else "z"

    def job() -> dict[str, Any]:
        pipe = ProjectPipeline(chosen.G, next(chosen.G.parameters()).device)
        out = pipe(
            target,
            steps=steps,
            space=space,
            perceptual_weight=1.0 if perceptual else 0.0,
            class_index=class_index,
            seed=seed,
            callback=lambda step, loss: report_progress(step + 1, steps),
        )
        mse = float((out.image - target).square().mean())
        return {
            "model": chosen.name,
            "space": space,
            "z": out.latent.tolist(),
            "class_index": out.class_index,
            "png": data_url(png_bytes(out.image)),
            "target": data_url(png_bytes(target)),
            "steps": steps,
            "loss": out.loss[-1],
            "psnr_db": round(10 * torch.log10(torch.tensor(4.0 / max(mse, 1e-12))).item(), 2),
        }

    return await queue.run(job)
