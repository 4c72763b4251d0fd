"""Image-to-image translation with a trained pix2pix or CycleGAN bundle, on images of any size.

`TranslatePipeline.from_bundle(path)` picks the generator: `G` for pix2pix (Isola et al. 2017),
`G_AB` or `G_BA` by `direction` for CycleGAN (Zhu et al. 2017). Calling it on one image
(1, C, H, W) in [-1, 1] runs the generator tile by tile with overlap blending
(`ganforge.pipelines.tiling.tiled_apply`), so a large photo needs no more memory than one tile;
sides that are not multiples of what the network needs (2**depth for a U-Net) are padded and
cropped back. Inputs are converted to the channels the model takes (a color photo into a
colorize model becomes its luminance); alpha channels pass through untouched (see `read_image`).
Inpainting models take a mask (1 = hole); only the holes are replaced.

`evaluate_bundle` scores a pix2pix bundle on its held-out pairs (L1, PSNR, SSIM) beside a trivial
baseline, with `ganforge.recipes.pix2pix.evaluate` (re-exported here with `baseline`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps

from ganforge.data.derived import apply_mask, box_mask, luminance
from ganforge.errors import CheckpointError, ConfigError, DataError
from ganforge.pipelines.tiling import tiled_apply
from ganforge.recipes.pix2pix import baseline, evaluate, heldout_pairs

__all__ = ["TranslateOutput", "TranslatePipeline", "baseline", "evaluate", "evaluate_bundle", "read_image"]

DEFAULT_TILE = 512  # input pixels per tile side; larger tiles see more context, use more memory
DEFAULT_OVERLAP = 64  # pixels shared by neighbouring tiles, blended (at most a quarter of the tile)


@dataclass
class TranslateOutput:
    image: torch.Tensor  # (1, C, H, W) float in [-1, 1], on the CPU
    alpha: torch.Tensor | None  # (1, 1, H, W) the input's alpha in [-1, 1], passed through, or None


class TranslatePipeline:
    """`TranslatePipeline(G, task)(image, mask=None)` -> the translated image, tile by tile.

    Args:
        G: an image-to-image generator with `in_channels` and `out_channels` (U-Net or ResNet).
        task: "paired" (any A -> B), a pix2pix derived task ("colorize", "edges2photo",
            "photo2edges") or "inpaint" (needs a mask on every call).
        tile, overlap: tile side and overlap in pixels (default: a quarter of the tile, at most 64);
            an image no larger than a tile runs whole.
    """

    def __init__(
        self,
        G: torch.nn.Module,
        task: str = "paired",
        device: torch.device | str = "cpu",
        tile: int = DEFAULT_TILE,
        overlap: int | None = None,
        precision: str = "fp32",
    ):
        from ganforge.training.speed import inference_runner

        overlap = min(DEFAULT_OVERLAP, tile // 4) if overlap is None else overlap
        if tile < 8 or not 0 <= overlap < tile:
            raise ConfigError(f"--tile {tile} --overlap {overlap}: need tile >= 8 and 0 <= overlap < tile")
        self.device = torch.device(device)
        self.G = G.to(self.device).eval()
        # called as progress(tiles_done, tiles_total) during one image; may raise to cancel
        self.progress: Callable[[int, int], None] | None = None
        self.run = inference_runner(self.G, self.device, precision)  # bf16: ~1.5-2x on native CPUs
        self.task = task
        self.tile, self.overlap = tile, overlap
        self.multiple = int(getattr(G, "multiple", 4))  # U-Net: 2**depth; ResNet: two stride-2 convs
        self.image_channels = G.in_channels - (1 if task == "inpaint" else 0)
        self.config: Any = None  # the RunConfig that trained G, when loaded from a bundle
        if tile < self.multiple:
            raise ConfigError(f"--tile {tile} is smaller than the {self.multiple} px this model needs")

    @classmethod
    def from_bundle(
        cls, path: str | Path, direction: str = "AtoB", device: torch.device | str = "cpu", **kwargs
    ) -> TranslatePipeline:
        """Load a translation bundle (or a run directory holding one) and pick its generator."""
        from ganforge.bundle import capabilities_of, load_bundle
        from ganforge.registry import load_all

        load_all()
        folder = Path(path)
        if folder.is_dir() and not (folder / "model.json").is_file() and (folder / "bundle").is_dir():
            folder = folder / "bundle"
        if not folder.exists():
            raise CheckpointError(f"{path} does not exist; pass a bundle folder or a run directory")
        capabilities_of(folder).require("translate", path)  # before any weights load
        bundle = load_bundle(folder, device)
        models, recipe = bundle.models, bundle.config.recipe
        if direction not in ("AtoB", "BtoA"):
            raise ConfigError(f"--direction {direction!r} must be AtoB or BtoA")
        if "G_AB" in models or "G_BA" in models:  # CycleGAN: one generator per direction
            name = "G_AB" if direction == "AtoB" else "G_BA"
            if name not in models:
                raise CheckpointError(f"bundle {folder} has no {name} for --direction {direction}")
            pipeline = cls(models[name], "paired", device, **kwargs)
            pipeline.config = bundle.config
            return pipeline
        G = models.get("G_ema", models.get("G"))
        if G is None or not hasattr(G, "in_channels") or hasattr(G, "z_dim"):
            raise CheckpointError(
                f"bundle {folder} (recipe {recipe}) holds no image-to-image generator; "
                "`ganforge translate` needs a pix2pix or CycleGAN bundle (use `ganforge sample` for this one)"
            )
        trained = getattr(bundle.config.model, "direction", "AtoB")
        if direction != "AtoB" and direction != trained:
            raise ConfigError(
                f"this {recipe} model was trained {trained} and translates only that way; drop --direction"
            )
        pipeline = cls(G, getattr(bundle.config.model, "task", "paired"), device, **kwargs)
        pipeline.config = bundle.config
        return pipeline

    def prepare(self, image: torch.Tensor) -> torch.Tensor:
        """Convert (1, C, H, W) to the channels the model reads: color -> luminance, gray -> RGB."""
        have, need = image.shape[1], self.image_channels
        if have == need:
            return image
        if have == 3 and need == 1:
            return luminance(image)
        if have == 1 and need == 3:
            return image.expand(-1, 3, -1, -1)
        raise ConfigError(f"the model takes {need}-channel images, got {have} channels")

    @torch.no_grad()
    def __call__(self, image: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Translate one image (1, C, H, W) in [-1, 1]; `mask` (1, 1, H, W), 1 = hole, for inpainting."""
        if image.dim() != 4 or image.shape[0] != 1:
            raise ValueError(f"translate one image (1, C, H, W) at a time, got {tuple(image.shape)}")
        x = self.prepare(image.float()).to(self.device)
        if self.task == "inpaint":
            if mask is None:
                raise ConfigError(
                    "this is an inpainting model: give --mask MASK.png (white = hole) or --mask-box x,y,w,h"
                )
            if mask.shape[-2:] != image.shape[-2:]:
                h, w = image.shape[-2:]
                mh, mw = mask.shape[-2:]
                raise ConfigError(f"the mask is {mw}x{mh} pixels but the image is {w}x{h}; they must match")
            holes = (mask > 0.5).float().to(self.device)
            out = tiled_apply(
                self.run,
                apply_mask(x, holes),
                self.tile,
                self.overlap,
                multiple=self.multiple,
                progress=self.progress,
            )
            out = holes * out + (1 - holes) * x  # known pixels stay exactly as they were
        else:
            if mask is not None:
                raise ConfigError("--mask and --mask-box only apply to inpainting models")
            out = tiled_apply(
                self.run, x, self.tile, self.overlap, multiple=self.multiple, progress=self.progress
            )
        return out.clamp(-1, 1).cpu()

    def translate_file(
        self,
        path: str | Path,
        mask: torch.Tensor | None = None,
        mask_box: tuple[int, int, int, int] | None = None,
    ) -> TranslateOutput:
        """Read an image file, translate it, and carry its alpha channel over. Inpainting takes a
        `mask` (1, 1, H, W) or a `mask_box` (x, y, w, h) in pixels of this image."""
        image, alpha = read_image(path)
        if mask_box is not None:
            mask = box_mask(image.shape[-2], image.shape[-1], mask_box)
        return TranslateOutput(self(image, mask), alpha)


def read_image(path: str | Path) -> tuple[torch.Tensor, torch.Tensor | None]:
    """An image file as ((1, C, H, W) in [-1, 1], alpha (1, 1, H, W) or None), upright by EXIF.

    Color is composited on white, as the training images were; the alpha is returned apart.
    """
    from ganforge.data.images import BadImage, open_image

    try:
        color = open_image(path)
    except BadImage as err:
        raise DataError(f"cannot translate {path}: {err}") from None
    array = np.asarray(color)
    tensor = torch.from_numpy(
        array[None, None].copy() if array.ndim == 2 else array.transpose(2, 0, 1)[None].copy()
    )
    alpha = None
    with Image.open(path) as raw:
        if raw.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in raw.info:
            upright = ImageOps.exif_transpose(raw)
            a = np.asarray(upright.convert("RGBA").getchannel("A"))
            alpha = torch.from_numpy(a.copy())[None, None].float() / 127.5 - 1
    return tensor.float() / 127.5 - 1, alpha


def read_mask(path: str | Path) -> torch.Tensor:
    """A mask file as (1, 1, H, W) float, 1 where the pixel is bright (white = hole), else 0."""
    image, alpha = read_image(path)
    holes = (luminance(image) > 0).float()
    if alpha is not None:  # a transparent area counts as no hole
        holes = holes * (alpha > 0).float()
    return holes


def save_image_file(output: TranslateOutput, path: str | Path) -> Path:
    """Write a translated image; the alpha goes back in when the format keeps it (PNG, WebP, TIFF)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = ((output.image[0].clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)  # (C, H, W)
    keeps_alpha = path.suffix.lower() in (".png", ".webp", ".tif", ".tiff")
    if output.alpha is not None and keeps_alpha:
        alpha = ((output.alpha[0] + 1) * 127.5).round().to(torch.uint8)
        pixels = torch.cat([pixels, alpha])  # (C + 1, H, W): LA or RGBA
    array = pixels.permute(1, 2, 0).numpy()
    image = Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array)
    if image.mode in ("RGBA", "LA") and not keeps_alpha:
        image = image.convert(image.mode[:-1])
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise ConfigError(
            f"cannot write {path}: unknown image format {path.suffix!r}; use .png, .jpg or .webp"
        )
    partial = path.with_name(f".{path.name}.partial")  # never leave a half-written image behind
    try:
        image.save(partial, format=fmt)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


# ---------------------------------------------------------------- held-out evaluation


def evaluate_bundle(
    path: str | Path, seed: int = 0, device: torch.device | str = "cpu", features: str | None = None
) -> dict[str, float]:
    """`evaluate` a pix2pix bundle (or run directory) on its config's held-out pairs; what
    `ganforge eval` runs for translation models. Returns {} when the data holds nothing out."""
    pipeline = TranslatePipeline.from_bundle(path, device=device)
    if pipeline.config is None or not hasattr(pipeline.config.model, "pairs"):
        raise ConfigError(f"{path} was not trained on pairs; held-out pairs exist only for paired models")
    pairs = heldout_pairs(pipeline.config, seed)
    if pairs is None:
        return {}
    return evaluate(pipeline.G, *pairs, pipeline.task, features=features)
