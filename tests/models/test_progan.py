"""Progressive GAN networks: growth buffers, fade-in blending, equalized lr throughout."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganforge.models.progan import ProGANDiscriminator, ProGANGenerator, downsample_reals
from ganforge.nn.equalized import EqualizedConv2d, EqualizedLinear


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny layers run faster on one thread than on two contended ones."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


TINY = dict(channel_base=64, max_channels=8)


def make(size: int = 16) -> tuple[ProGANGenerator, ProGANDiscriminator]:
    torch.manual_seed(0)
    return ProGANGenerator(z_dim=8, img_channels=3, img_size=size, **TINY), ProGANDiscriminator(
        img_channels=3, img_size=size, **TINY
    )


def test_built_at_full_size_and_fully_grown_by_default():
    G, D = make(16)
    assert G.num_stages == 3 and int(G.stage) == 2 and float(G.alpha) == 1.0 and G.resolution == 16
    out = G(torch.randn(4, 8))
    assert out.shape == (4, 3, 16, 16) and out.min() >= -1 and out.max() <= 1
    assert D(out).shape == (4,)
    for model in (G, D):
        layers = [m for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear | nn.BatchNorm2d)]
        assert layers == []  # every weight layer has an equalized learning rate; no batch norm
        assert any(isinstance(m, EqualizedConv2d) for m in model.modules())
        assert any(isinstance(m, EqualizedLinear) for m in model.modules())
    assert {"stage", "alpha"} <= set(dict(G.named_buffers()))


def test_early_stage_outputs_are_upsampled_low_resolution_images():
    G, _ = make(16)
    G.set_growth(0, 1.0)
    out = G(torch.randn(2, 8))
    assert out.shape == (2, 3, 16, 16)
    blocks = out.unfold(2, 4, 4).unfold(3, 4, 4)  # (B, C, 4, 4, 4, 4): every 4x4 block is one pixel
    assert torch.equal(blocks, blocks[..., :1, :1].expand_as(blocks))


@pytest.mark.parametrize("stage", [1, 2])
def test_fade_in_starts_exactly_at_the_previous_stage_and_blends_linearly(stage):
    G, D = make(16)
    z, x = torch.randn(3, 8), torch.rand(3, 3, 16, 16) * 2 - 1
    G.set_growth(stage - 1, 1.0)
    D.set_growth(stage - 1, 1.0)
    g_prev, d_prev = G(z, clamp=False), D(x)
    G.set_growth(stage, 1.0)
    D.set_growth(stage, 1.0)
    g_new, d_new = G(z, clamp=False), D(x)
    G.set_growth(stage, 0.0)
    D.set_growth(stage, 0.0)
    assert torch.allclose(G(z, clamp=False), g_prev, atol=1e-6)
    assert torch.allclose(D(x), d_prev, atol=1e-5)
    G.set_growth(stage, 0.25)
    assert torch.allclose(G(z, clamp=False), 0.75 * g_prev + 0.25 * g_new, atol=1e-5)
    assert not torch.allclose(g_prev, g_new)
    assert not torch.allclose(d_prev, d_new)


def test_set_growth_checks_its_range():
    G, _ = make(8)
    with pytest.raises(ValueError, match="out of range"):
        G.set_growth(2, 1.0)
    with pytest.raises(ValueError, match="out of range"):
        G.set_growth(1, 1.5)


def test_downsample_reals_matches_the_stage():
    real = torch.rand(2, 1, 16, 16) * 2 - 1
    assert torch.equal(downsample_reals(real, 2, 1.0, 16), real)
    low = downsample_reals(real, 0, 1.0, 16)
    assert torch.allclose(
        low[:, :, :4, :4], real[:, :, :4, :4].mean(dim=(2, 3), keepdim=True).expand(2, 1, 4, 4)
    )
    mid = downsample_reals(real, 1, 1.0, 16)
    blended = downsample_reals(real, 1, 0.25, 16)
    assert torch.allclose(blended, 0.75 * low + 0.25 * mid, atol=1e-6)
