"""Super-resolution inference: make an image `scale` times larger with a trained SRResNet/SRGAN.

Images of any size go through the generator tile by tile with overlap blending
(`ganforge.pipelines.tiling.tiled_apply`), so memory stays bounded whatever the input size. An
alpha channel is upscaled with plain bicubic and put back; grayscale in gives grayscale out (a
color model sees the gray image as R=G=B and its output is turned back into luma; a gray model
upscales each channel of a color image on its own).

A PIL image goes through in horizontal strips of `STRIP_TILES` tiles' height, each with `overlap`
rows of context above and below that are cut away again, and each strip's output is rounded to
8 bits at once: a 12-megapixel photo upscaled x4 is 192 megapixels, 2.3 GB as float but 0.58 GB
as uint8, and only one strip is ever held as float.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganforge.errors import ConfigError
from ganforge.pipelines.tiling import _starts, tiled_apply

DEFAULT_TILE = 128  # LR pixels per tile side: a 128x128 tile of a x4 64-wide model needs ~0.5 GB
DEFAULT_OVERLAP = 32  # LR pixels shared by neighbouring tiles; about the generator's receptive radius
STRIP_TILES = 2  # strip height in tiles: the float working set is ~2 tiles of output rows high
GRAY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F")
ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


def pil_to_tensor(image: Image.Image) -> torch.Tensor:
    """An L or RGB PIL image -> (1, C, H, W) float in [-1, 1]."""
    array = np.asarray(image, dtype=np.uint8)
    if array.ndim == 2:
        array = array[..., None]
    return torch.from_numpy(array.copy()).permute(2, 0, 1)[None].float() / 127.5 - 1.0  # (1, C, H, W)


def tensor_to_pil(image: torch.Tensor) -> Image.Image:
    """(1, C, H, W) float in [-1, 1] -> an L or RGB PIL image (rounded to 8 bits)."""
    array = ((image[0].clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
    return Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array)


def _to_8bit_gray(image: Image.Image) -> Image.Image:
    """L from any gray mode; 16-bit and float images are rescaled (not clipped) to 8 bits."""
    if image.mode in ("1", "L"):
        return image.convert("L")
    if image.mode == "LA":
        return image.getchannel("L")
    array = np.asarray(image).astype(np.float64)
    top = 1.0 if image.mode == "F" and array.max() <= 1.0 else (255.0 if array.max() <= 255 else 65535.0)
    return Image.fromarray(np.clip(np.round(array / top * 255.0), 0, 255).astype(np.uint8))


class UpscalePipeline:
    """`UpscalePipeline.from_bundle(path)(image)` -> the PIL image `scale` times larger.

    `G` maps (B, C, h, w) in [-1, 1] to (B, C, scale h, scale w). `tile` and `overlap` are in input
    pixels; an image that fits in one tile goes through whole.
    """

    def __init__(
        self,
        G: torch.nn.Module,
        scale: int | None = None,
        device: torch.device | str = "cpu",
        tile: int = DEFAULT_TILE,
        overlap: int = DEFAULT_OVERLAP,
        precision: str = "fp32",
    ):
        from ganforge.training.speed import inference_runner

        self.device = torch.device(device)
        self.G = G.to(self.device).eval()
        # called as progress(tiles_done, tiles_total) during one image; may raise to cancel
        self.progress: Callable[[int, int], None] | None = None
        self.run = inference_runner(self.G, self.device, precision)  # bf16: ~1.4-2x on native CPUs
        self.scale = int(scale if scale is not None else getattr(G, "scale", 0))
        if self.scale < 2:
            raise ConfigError("this model is not a super-resolution generator (it has no scale)")
        self.channels = int(getattr(G, "img_channels", 3))
        if tile < 8:
            raise ConfigError(f"--tile {tile} is too small; use at least 8 (e.g. {DEFAULT_TILE})")
        if not 0 <= overlap < tile:
            raise ConfigError(f"--overlap {overlap} must lie in [0, tile) = [0, {tile})")
        self.tile, self.overlap = tile, overlap
        self.source, self.step, self.config = None, None, None  # set by from_bundle

    @classmethod
    def from_bundle(
        cls,
        path: str | Path,
        device: torch.device | str = "cpu",
        tile: int = DEFAULT_TILE,
        overlap: int = DEFAULT_OVERLAP,
        precision: str = "fp32",
    ) -> UpscalePipeline:
        """From a bundle folder, a run directory (its bundle, or its newest checkpoint) or a checkpoint."""
        from ganforge.pipelines.loading import load_generator

        loaded = load_generator(path, device, verb="upscale")  # names the verb that fits otherwise
        if not hasattr(loaded.G, "scale"):
            raise ConfigError(
                f"{path} holds no super-resolution generator; "
                "train one with: ganforge train --preset srgan-x4"
            )
        pipe = cls(loaded.G, loaded.G.scale, device, tile, overlap, precision)
        pipe.source, pipe.step, pipe.config = loaded.source, loaded.step, loaded.config
        return pipe

    @torch.no_grad()
    def upscale_batch(self, lr: torch.Tensor) -> torch.Tensor:
        """Whole small images (B, C, h, w) in [-1, 1] at once -> (B, C, scale h, scale w), on the CPU."""
        return self.run(lr.to(self.device)).clamp(-1, 1).float().cpu()

    @torch.no_grad()
    def upscale_tensor(self, image: torch.Tensor) -> torch.Tensor:
        """One image (1, C, h, w) in [-1, 1] of any size, tile by tile -> (1, C, scale h, scale w)."""
        if image.dim() != 4 or image.shape[0] != 1 or image.shape[1] != self.channels:
            raise ConfigError(f"expected one image (1, {self.channels}, H, W), got {tuple(image.shape)}")
        out = tiled_apply(
            self.run, image.to(self.device), self.tile, self.overlap, scale=self.scale, progress=self.progress
        )
        return out.clamp(-1, 1).float().cpu()

    def _color(self, image: torch.Tensor) -> torch.Tensor:
        """Upscale (1, C, h, w) whatever C is against the model's channels."""
        c = image.shape[1]
        if c == self.channels:
            return self.upscale_tensor(image)
        if c == 1:  # gray image, color model: R=G=B in, BT.601 luma out
            rgb = self.upscale_tensor(image.expand(-1, 3, -1, -1))
            weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
            return (rgb * weights).sum(1, keepdim=True)  # (1, 1, H, W)
        return torch.cat([self.upscale_tensor(image[:, k : k + 1]) for k in range(c)], 1)  # gray model

    def _tiles(self, height: int, width: int, passes: int) -> int:
        """How many tiles `tiled_apply` runs on an image of that size, times `passes`."""
        if height <= self.tile and width <= self.tile:
            return passes
        step = self.tile - self.overlap
        return len(_starts(height, self.tile, step)) * len(_starts(width, self.tile, step)) * passes

    @torch.no_grad()
    def upscale_uint8(self, image: torch.Tensor) -> np.ndarray:
        """One image (1, C, h, w) in [-1, 1] -> (scale h, scale w, C) uint8, strip by strip (see the
        module docstring), so that the float working set stays a few tiles high whatever h is."""
        h, w = image.shape[-2:]
        c, s = image.shape[1], self.scale
        out = np.empty((h * s, w * s, c), dtype=np.uint8)
        rows = STRIP_TILES * self.tile
        strips = [(y, min(h, y + rows)) for y in range(0, h, rows)]
        spans = [(max(0, y0 - self.overlap), min(h, y1 + self.overlap)) for y0, y1 in strips]
        passes = c if c != self.channels and c != 1 else 1
        totals = [self._tiles(b - a, w, passes) for a, b in spans]
        user_progress, done_before = self.progress, 0
        try:
            if user_progress is not None:
                user_progress(0, sum(totals))
            for (y0, y1), (a, b), total in zip(strips, spans, totals, strict=True):
                if user_progress is not None:
                    offset = done_before
                    self.progress = lambda done, _total, offset=offset: (
                        user_progress(offset + done, sum(totals)) if done else None
                    )
                result = self._color(image[..., a:b, :])  # (1, C, (b - a) s, w s) float
                result = result[0, :, (y0 - a) * s : (y1 - a) * s]  # drop the context rows
                out[y0 * s : y1 * s] = (
                    ((result.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0)
                )
                done_before += total
        finally:
            self.progress = user_progress
        return out

    def __call__(self, image: Image.Image) -> Image.Image:
        """Upscale a PIL image of any size and mode. Gray stays gray, alpha is kept (bicubic)."""
        alpha = None
        mode = image.mode
        if mode in ALPHA_MODES or (mode == "P" and "transparency" in image.info):
            if mode in ("LA", "La"):
                alpha = image.getchannel("A")
            else:
                alpha = image.convert("RGBA").getchannel("A")
        gray = mode in GRAY_MODES
        color = (
            _to_8bit_gray(image)
            if gray
            else image.convert("RGBA" if alpha is not None else "RGB").convert("RGB")
        )
        array = self.upscale_uint8(pil_to_tensor(color))
        out = Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array)
        if alpha is not None:
            out.putalpha(alpha.resize(out.size, Image.BICUBIC))  # L -> LA, RGB -> RGBA
        return out
