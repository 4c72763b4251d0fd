"""Derived pairs: colorize, edges, inpainting masks; exact and deterministic for a seed."""

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.data.derived import (
    apply_mask,
    box_mask,
    derive_pair,
    line_drawing,
    luminance,
    random_masks,
    task_channels,
)
from ganforge.errors import ConfigError
from ganforge.imaging import to_float


def color_batch(n=4, size=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return to_float(torch.randint(0, 256, (n, 3, size, size), generator=g, dtype=torch.uint8))


def test_colorize_input_is_exactly_the_luminance_of_its_target():
    images = color_batch()
    A, B = derive_pair("colorize", images)
    assert torch.equal(B, images)
    r, g, b = images[:, 0:1], images[:, 1:2], images[:, 2:3]
    assert A.shape == (4, 1, 16, 16)
    assert torch.allclose(A, 0.299 * r + 0.587 * g + 0.114 * b, atol=1e-6)
    # the same luma Pillow's RGB -> L conversion gives, up to its 8-bit rounding
    pixels = ((images[0] + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
    pil_gray = torch.from_numpy(np.asarray(Image.fromarray(pixels).convert("L")).astype(np.float32))
    ours = (A[0, 0] + 1) * 127.5
    assert (ours - pil_gray).abs().max() <= 1.0


def test_task_channels():
    assert task_channels("colorize", 3) == (1, 3)
    assert task_channels("edges2photo", 1) == (1, 1)
    assert task_channels("photo2edges", 3) == (3, 1)
    assert task_channels("inpaint", 3) == (4, 3)
    with pytest.raises(ConfigError, match="colorize needs color images"):
        task_channels("colorize", 1)
    with pytest.raises(ConfigError, match="unknown derived task 'sharpen'"):
        task_channels("sharpen", 3)


def test_line_drawing_marks_edges_and_leaves_flat_areas_white():
    flat = torch.full((1, 3, 32, 32), 0.3)
    assert torch.equal(line_drawing(flat), torch.ones(1, 1, 32, 32))
    step = torch.ones(1, 1, 32, 32)
    step[..., 16:] = -1  # white left half, black right half
    drawing = line_drawing(step)
    assert drawing.shape == (1, 1, 32, 32) and drawing.min() >= -1 and drawing.max() <= 1
    assert drawing[0, 0, :, 16].max() < -0.9  # a dark line on the dark side of the edge
    assert drawing[0, 0, :, :12].min() == 1.0  # nothing far from it on the white side
    assert torch.equal(drawing, line_drawing(step))  # a plain function: no randomness
    A, B = derive_pair("photo2edges", step.expand(-1, 3, -1, -1))
    assert torch.equal(B, drawing) and A.shape == (1, 3, 32, 32)


def test_masks_are_deterministic_for_a_seed_and_cover_some_of_the_image():
    a = random_masks(64, 32, 32, torch.Generator().manual_seed(0))
    b = random_masks(64, 32, 32, torch.Generator().manual_seed(0))
    c = random_masks(64, 32, 32, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == (64, 1, 32, 32) and set(a.unique().tolist()) <= {0.0, 1.0}
    coverage = a.mean((1, 2, 3))
    assert (coverage > 0).all()  # every mask has a hole (at least one stroke)
    assert 0.05 < coverage.mean() < 0.5 and (coverage < 0.9).all()
    # non-square images
    assert random_masks(2, 20, 44, torch.Generator().manual_seed(0)).shape == (2, 1, 20, 44)


def test_inpaint_pairs_hide_the_holes_and_carry_the_mask():
    images = color_batch(n=8)
    generator = torch.Generator().manual_seed(3)
    A, B = derive_pair("inpaint", images, generator)
    masks = random_masks(8, 16, 16, torch.Generator().manual_seed(3))
    assert torch.equal(B, images) and A.shape == (8, 4, 16, 16)
    assert torch.equal(A[:, 3:], masks * 2 - 1)  # mask channel: +1 hole, -1 known
    assert torch.equal(A[:, :3] * masks, torch.zeros_like(A[:, :3]))  # holes hold no information
    assert torch.equal(A[:, :3] * (1 - masks), images * (1 - masks))  # known pixels untouched
    A2, _ = derive_pair("inpaint", images, generator)  # the generator moved on: new masks
    assert not torch.equal(A, A2)
    with pytest.raises(ValueError, match="needs a generator"):
        derive_pair("inpaint", images)


def test_apply_mask_and_box_mask():
    mask = box_mask(6, 8, (2, 1, 3, 2))
    assert mask.shape == (1, 1, 6, 8) and mask.sum() == 6 and mask[0, 0, 1:3, 2:5].eq(1).all()
    assert box_mask(4, 4, (2, 2, 10, 10)).sum() == 4  # clipped to the image
    x = torch.ones(1, 3, 6, 8)
    assert torch.equal(apply_mask(x, mask)[:, :3], 1 - mask.expand(-1, 3, -1, -1))
    with pytest.raises(ConfigError, match="starts outside the 8x6 image"):
        box_mask(6, 8, (9, 0, 2, 2))
    with pytest.raises(ConfigError, match="width and height must be at least 1"):
        box_mask(6, 8, (0, 0, 0, 2))


def test_luminance_of_gray_is_itself():
    gray = color_batch()[:, :1]
    assert luminance(gray) is gray
