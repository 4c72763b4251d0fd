"""Modulated / demodulated convolution and noise injection (Karras et al. 2020)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ganforge.nn.modulated import ModulatedConv2d, NoiseInjection, modulated_conv2d


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny layers run faster on one thread than on two contended ones."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_demodulation_keeps_unit_output_variance_for_unit_variance_inputs():
    torch.manual_seed(0)
    x = torch.randn(16, 256, 10, 10)
    weight = torch.randn(64, 256, 3, 3) * 3.0
    styles = torch.exp(torch.randn(16, 256))  # very uneven styles, per image
    out = modulated_conv2d(x, weight, styles, demodulate=True)[:, :, 1:-1, 1:-1]  # interior pixels
    assert out.var().item() == pytest.approx(1.0, rel=0.05)
    per_channel = out.transpose(0, 1).flatten(1).var(dim=1)  # every output channel, not just on average
    assert per_channel.min() > 0.75 and per_channel.max() < 1.25
    raw = modulated_conv2d(x, weight, styles, demodulate=False)[:, :, 1:-1, 1:-1]
    assert raw.var().item() > 100  # without demodulation the styles' scale goes straight through


@pytest.mark.parametrize("demodulate", [True, False])
def test_fused_and_non_fused_forms_agree_with_a_per_image_reference(demodulate):
    torch.manual_seed(1)
    x, weight, styles = torch.randn(3, 5, 6, 6), torch.randn(4, 5, 3, 3), torch.randn(3, 5)
    reference = []
    for b in range(3):
        w = weight * styles[b][None, :, None, None]
        if demodulate:
            w = w / (w.square().sum(dim=(1, 2, 3), keepdim=True) + 1e-8).sqrt()
        reference.append(F.conv2d(x[b : b + 1], w, padding=1))
    reference = torch.cat(reference)
    for fused in (True, False):
        out = modulated_conv2d(x, weight, styles, demodulate, fused=fused)
        assert torch.allclose(out, reference, atol=1e-5), fused


def test_modulated_conv_module_shapes_and_style_affine():
    torch.manual_seed(0)
    conv = ModulatedConv2d(6, 4, 3, w_dim=8, upsample=True)
    assert torch.allclose(conv.affine(torch.zeros(1, 8)), torch.ones(1, 6))  # styles start at 1
    out = conv(torch.randn(2, 6, 5, 5), torch.randn(2, 8))
    assert out.shape == (2, 4, 10, 10)
    to_rgb = ModulatedConv2d(6, 3, 1, w_dim=8, demodulate=False)
    x, w = torch.randn(2, 6, 4, 4), torch.randn(2, 8)
    styles = to_rgb.affine(w) * to_rgb.weight_scale  # without demodulation the He scale is kept
    assert torch.allclose(to_rgb(x, w), modulated_conv2d(x, to_rgb.weight, styles, False), atol=1e-6)
    with pytest.raises(ValueError, match="do not fit"):
        modulated_conv2d(torch.randn(2, 6, 4, 4), torch.randn(3, 5, 3, 3), torch.randn(2, 6))


def test_noise_injection_modes():
    torch.manual_seed(0)
    noise = NoiseInjection(4)
    x = torch.randn(2, 3, 4, 4)
    assert torch.equal(noise(x, "random", torch.Generator().manual_seed(0)), x)  # strength starts at 0
    with torch.no_grad():
        noise.strength.fill_(0.5)
    assert torch.equal(noise(x, "none"), x)
    assert torch.allclose(noise(x, "const"), x + 0.5 * noise.const_noise)
    a = noise(x, "random", torch.Generator().manual_seed(3))
    b = noise(x, "random", torch.Generator().manual_seed(3))
    c = noise(x, "random", torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)
    delta = a - x  # one noise map per image, shared by its channels
    assert torch.allclose(delta[:, 0], delta[:, 2]) and not torch.allclose(delta[0], delta[1])
    with pytest.raises(ValueError, match="noise mode"):
        noise(x, "loud")
