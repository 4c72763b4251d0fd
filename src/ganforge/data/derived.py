"""Derived pairs: training pairs for image-to-image models made from single images, on the fly.

Every task turns a batch of target images B (float in [-1, 1], (N, C, H, W)) into the model's
input A, so that pix2pix (Isola et al. 2017) can learn A -> B from any folder of photos:

- `colorize`: A is the luminance of B (ITU-R BT.601, as Pillow's "L"), 1 channel.
- `edges2photo`: A is a line drawing of B made with the extended difference of Gaussians
  (XDoG, Winnemoeller et al. 2012): dark lines on white, 1 channel.
- `photo2edges`: the reverse: A is B and the target is its line drawing.
- `inpaint`: A is B with holes (random free-form strokes and boxes, after the free-form masks
  of Yu et al. 2019) filled with 0 (mid gray), plus the mask as an extra channel (+1 hole, -1 known).

Colorize and edges are plain functions of B; inpainting masks come from a `torch.Generator`, so
a pair is deterministic for a seed.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F

from ganforge.data.transforms import LUMA
from ganforge.errors import ConfigError

Task = Literal["colorize", "edges2photo", "photo2edges", "inpaint"]
TASKS: tuple[str, ...] = ("colorize", "edges2photo", "photo2edges", "inpaint")


def task_channels(task: str, channels: int) -> tuple[int, int]:
    """(input channels, output channels) of a model for `task` on images with `channels` channels."""
    if task == "colorize":
        if channels != 3:
            raise ConfigError(
                "task colorize needs color images (3 channels); this data is grayscale: "
                "use a color source (e.g. emoji or a folder of photos) and leave data.channels unset"
            )
        return 1, 3
    if task == "edges2photo":
        return 1, channels
    if task == "photo2edges":
        return channels, 1
    if task == "inpaint":
        return channels + 1, channels
    raise ConfigError(f"unknown derived task {task!r}; use one of {', '.join(TASKS)}")


def luminance(images: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) -> (N, 1, H, W) BT.601 luma; works on [-1, 1] or [0, 255] alike (weights sum to 1)."""
    if images.shape[1] == 1:
        return images
    weights = torch.tensor(LUMA, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    return (images * weights).sum(1, keepdim=True)


def _gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (N, 1, H, W) with reflect padding."""
    radius = max(1, math.ceil(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    kernel = kernel / kernel.sum()
    pad = min(radius, images.shape[-1] - 1, images.shape[-2] - 1)
    mode = "reflect" if pad == radius else "replicate"
    out = F.pad(images, (radius, radius, 0, 0), mode=mode)
    out = F.conv2d(out, kernel.view(1, 1, 1, -1))  # (N, 1, H, W) blurred along W
    out = F.pad(out, (0, 0, radius, radius), mode=mode)
    return F.conv2d(out, kernel.view(1, 1, -1, 1))


def line_drawing(
    images: torch.Tensor, sigma: float | None = None, k: float = 1.6, tau: float = 0.98, phi: float = 200.0
) -> torch.Tensor:
    """A line drawing of (N, C, H, W) images in [-1, 1]: XDoG (Winnemoeller et al. 2012), (N, 1, H, W).

    D = G_sigma(gray) - tau * G_{k sigma}(gray) is near 0 on flat areas and dips negative on the dark
    side of every edge; soft-thresholding it at 0 with steepness `phi` gives dark strokes on white.
    `sigma` defaults to one pixel per 64 of image side, so lines look alike at every size.
    """
    gray = (luminance(images) + 1) / 2  # (N, 1, H, W) in [0, 1]
    if sigma is None:
        sigma = max(0.5, min(images.shape[-2:]) / 64)
    dog = _gaussian_blur(gray, sigma) - tau * _gaussian_blur(gray, k * sigma)
    # 1 where D >= 0 (paper), else a tanh ramp down to 0 (black) for strongly negative D
    lines = torch.where(dog >= 0, torch.ones_like(dog), 1 + torch.tanh(phi * dog))
    return lines.clamp(0, 1) * 2 - 1


def random_masks(
    n: int,
    height: int,
    width: int,
    generator: torch.Generator,
    max_strokes: int = 3,
    max_boxes: int = 2,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """(n, 1, H, W) float masks, 1 = hole: 1..max_strokes free-form brush strokes and 0..max_boxes boxes.

    A stroke is a random walk of 2-5 segments drawn with a round brush 4-10% of the image side wide
    (free-form masks in the spirit of Yu et al. 2019, "Free-Form Image Inpainting with Gated
    Convolution"); a box is 15-40% of the side. All randomness comes from `generator`, drawn on its
    device, so the masks are the same for the same generator state on any device.
    """
    device = torch.device(device) if device is not None else torch.device("cpu")
    g_device = generator.device

    def uniform(*shape: int) -> torch.Tensor:
        return torch.rand(shape, generator=generator, device=g_device).to(device)

    side = min(height, width)
    ys = torch.arange(height, device=device, dtype=torch.float32).view(1, height, 1)
    xs = torch.arange(width, device=device, dtype=torch.float32).view(1, 1, width)
    masks = torch.zeros(n, height, width, device=device, dtype=torch.bool)

    # strokes: S strokes per image (fewer are drawn by giving the others zero width), V vertices each
    S, V = max_strokes, 6
    n_strokes = (uniform(n) * max_strokes).floor() + 1  # 1..max_strokes
    active = torch.arange(S, device=device).view(1, S) < n_strokes.view(n, 1)  # (n, S)
    n_segments = (uniform(n, S) * 4).floor() + 2  # 2..5 segments
    radius = (0.02 + 0.03 * uniform(n, S)) * side  # brush radius: 4-10% of the side wide
    start = uniform(n, S, 2) * torch.tensor([height, width], device=device)
    angle = uniform(n, S, V - 1) * 2 * math.pi
    length = (0.1 + 0.2 * uniform(n, S, V - 1)) * side
    steps = torch.stack([torch.sin(angle), torch.cos(angle)], dim=-1) * length[..., None]  # (n, S, V-1, 2)
    vertices = torch.cat([start[:, :, None], start[:, :, None] + steps.cumsum(2)], dim=2)  # (n, S, V, 2)
    vertices[..., 0] = vertices[..., 0].clamp(0, height - 1)
    vertices[..., 1] = vertices[..., 1].clamp(0, width - 1)
    for s in range(S):
        for v in range(V - 1):
            on = active[:, s] & (v < n_segments[:, s])  # (n,)
            if not bool(on.any()):
                continue
            a, b = vertices[:, s, v], vertices[:, s, v + 1]  # (n, 2) segment ends, (y, x)
            ab = b - a
            t = (ys - a[:, 0, None, None]) * ab[:, 0, None, None] + (xs - a[:, 1, None, None]) * ab[
                :, 1, None, None
            ]
            t = (t / ab.square().sum(-1).clamp(min=1e-6)[:, None, None]).clamp(0, 1)  # (n, H, W)
            dy = ys - (a[:, 0, None, None] + t * ab[:, 0, None, None])
            dx = xs - (a[:, 1, None, None] + t * ab[:, 1, None, None])
            near = dy.square() + dx.square() <= radius[:, s, None, None].square()
            masks |= near & on[:, None, None]

    # boxes
    n_boxes = (uniform(n) * (max_boxes + 1)).floor()  # 0..max_boxes
    for k in range(max_boxes):
        on = k < n_boxes  # (n,)
        size = (0.15 + 0.25 * uniform(n, 2)) * torch.tensor([height, width], device=device)
        corner = uniform(n, 2) * (torch.tensor([height, width], device=device) - size)
        inside = (
            (ys >= corner[:, 0, None, None])
            & (ys < (corner[:, 0] + size[:, 0])[:, None, None])
            & (xs >= corner[:, 1, None, None])
            & (xs < (corner[:, 1] + size[:, 1])[:, None, None])
        )
        masks |= inside & on[:, None, None]
    return masks[:, None].float()  # (n, 1, H, W)


def apply_mask(images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """The inpainting input: images (N, C, H, W) with holes (masks (N, 1, H, W), 1 = hole) set to 0,
    mid gray, and the mask as a last channel in the images' range: +1 in holes, -1 elsewhere."""
    holes = masks.to(images.dtype)
    return torch.cat([images * (1 - holes), holes * 2 - 1], dim=1)  # (N, C + 1, H, W); mask in {-1, 1}


def derive_pair(
    task: str, images: torch.Tensor, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(input A, target B) for `task` from images (N, C, H, W) in [-1, 1].

    Inpainting draws its masks from `generator` (required for it); the other tasks are deterministic.
    """
    if task == "colorize":
        task_channels(task, images.shape[1])
        return luminance(images), images
    if task == "edges2photo":
        return line_drawing(images), images
    if task == "photo2edges":
        return images, line_drawing(images)
    if task == "inpaint":
        if generator is None:
            raise ValueError("derive_pair('inpaint', ...) needs a generator for its random masks")
        masks = random_masks(images.shape[0], *images.shape[-2:], generator=generator, device=images.device)
        return apply_mask(images, masks), images
    raise ConfigError(f"unknown derived task {task!r}; use one of {', '.join(TASKS)}")


def box_mask(height: int, width: int, box: tuple[int, int, int, int]) -> torch.Tensor:
    """A (1, 1, H, W) mask with the box (x, y, w, h) in pixels set to 1; raises if it misses the image."""
    x, y, w, h = box
    if w < 1 or h < 1:
        raise ConfigError(f"--mask-box {x},{y},{w},{h}: width and height must be at least 1")
    if x < 0 or y < 0 or x >= width or y >= height:
        raise ConfigError(
            f"--mask-box {x},{y},{w},{h} starts outside the {width}x{height} image; "
            "give x,y,w,h in pixels from the top-left corner"
        )
    mask = torch.zeros(1, 1, height, width)
    mask[..., y : y + h, x : x + w] = 1
    return mask
