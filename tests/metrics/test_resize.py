"""The resize in front of the extractors equals PIL's antialiased bicubic (float mode)."""

import pytest
import torch

from ganforge.metrics.resize import resize_pil, resize_uint8


@pytest.mark.parametrize("size_in,size_out", [(28, 299), (32, 224), (64, 28), (100, 37), (17, 17)])
def test_resize_matches_pil_bicubic(size_in, size_out):
    g = torch.Generator().manual_seed(size_in)
    images = torch.randint(0, 256, (2, 3, size_in, size_in), generator=g, dtype=torch.uint8)
    ours, ref = resize_uint8(images, size_out), resize_pil(images, size_out)
    assert ours.shape == ref.shape == (2, 3, size_out, size_out)
    assert (ours - ref).abs().max() < 2e-3  # grey levels out of 255


def test_resize_keeps_float_precision_and_refuses_float_input():
    images = torch.full((1, 1, 8, 8), 200, dtype=torch.uint8)
    out = resize_uint8(images, 16)
    assert out.dtype == torch.float32 and torch.allclose(out, torch.full_like(out, 200.0))
    with pytest.raises(TypeError, match="uint8"):
        resize_uint8(images.float(), 16)
