"""U-Net generator of pix2pix: shapes at several sizes, skip connections, dropout, errors."""

import pytest
import torch

from ganforge.errors import ConfigError
from ganforge.models.unet import UNetGenerator
from ganforge.registry import MODELS, create_model


@pytest.mark.parametrize(
    "c_in, c_out, depth, h, w",
    [
        (1, 3, 3, 8, 8),
        (3, 3, 4, 16, 16),
        (4, 3, 5, 64, 32),
        (3, 1, 2, 12, 20),
        (1, 1, 1, 6, 2),
        (3, 3, 6, 64, 64),
    ],
)
def test_shapes_and_range(c_in, c_out, depth, h, w):
    torch.manual_seed(0)
    G = UNetGenerator(in_channels=c_in, out_channels=c_out, base_channels=4, depth=depth)
    out = G(torch.randn(2, c_in, h, w))
    assert out.shape == (2, c_out, h, w)
    assert out.min() >= -1 and out.max() <= 1
    assert G.multiple == 2**depth


def test_paper_architecture_parameter_count():
    """The 256x256 U-Net of the paper (depth 8, C64, batch norm) and its decoder widths with skips."""
    G = create_model("unet.G", in_channels=3, out_channels=3)
    assert sum(p.numel() for p in G.parameters()) == 54_414_531
    decoder_inputs = [m.in_channels for m in G.up.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert decoder_inputs == [512, 1024, 1024, 1024, 1024, 512, 256, 128]  # CD512-CD1024-CD1024-C1024-...
    dropouts = [m.p for m in G.up.modules() if isinstance(m, torch.nn.Dropout)]
    assert dropouts == [0.5, 0.5, 0.5]


def test_skip_connections_carry_the_input_to_the_output():
    """Every input pixel reaches its own output pixel through the outermost skip even with a 1x1 bottleneck:
    zeroing everything the bottleneck contributes still leaves an input-dependent output."""
    torch.manual_seed(0)
    G = UNetGenerator(in_channels=1, out_channels=1, base_channels=4, depth=3, dropout=0).eval()
    x = torch.randn(1, 1, 8, 8, requires_grad=True)
    G(x)[0, 0, 3, 5].backward()
    assert x.grad[0, 0, 3, 5] != 0
    assert x.grad.abs().sum() > x.grad[0, 0, 3, 5].abs()  # and the rest of the image too


def test_dropout_is_noise_in_training_only():
    G = UNetGenerator(in_channels=1, out_channels=3, base_channels=4, depth=3)
    x = torch.randn(4, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(1)
    a = G(x)
    torch.manual_seed(2)
    b = G(x)
    assert not torch.equal(a, b)
    G.eval()
    assert torch.equal(G(x), G(x))


def test_errors_name_the_fix():
    G = UNetGenerator(in_channels=1, out_channels=3, base_channels=4, depth=3)
    with pytest.raises(ValueError, match="multiples of 8, got 12x16; pad the image"):
        G(torch.zeros(1, 1, 12, 16))
    with pytest.raises(ValueError, match=r"expects \(B, 1, H, W\)"):
        G(torch.zeros(1, 3, 16, 16))
    with pytest.raises(ConfigError, match="norm must be 'batch' or 'instance'"):
        UNetGenerator(norm="group")
    with pytest.raises(ConfigError, match="depth must be 1..12"):
        UNetGenerator(depth=0)


def test_instance_norm_backward_and_registry_example():
    entry = MODELS.entry("unet.G")
    G = create_model("unet.G", **{**entry.meta["tiny"], "norm": "instance"})
    (x,) = G.example_inputs(2, torch.Generator().manual_seed(0))
    assert x.shape == (2, 1, 8, 8)
    G(x).mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in G.parameters())


@pytest.mark.parametrize("upsample", ["transpose", "resize"])
def test_chroma_unet_keeps_the_input_luminance_exactly(upsample):
    from ganforge.data.derived import luminance

    torch.manual_seed(0)
    G = UNetGenerator(1, 3, base_channels=8, depth=3, upsample=upsample, chroma=True).eval()
    G.up[-1][-2].weight.data *= 50  # strong chroma: much of it leaves the RGB cube and is scaled back
    gray = torch.rand(2, 1, 16, 24) * 2 - 1
    gray[:, :, 0] = 1.0  # pure white and black rows can carry no color at all
    gray[:, :, 1] = -1.0
    out = G(gray)
    assert out.shape == (2, 3, 16, 24) and out.min() >= -1 and out.max() <= 1
    assert (luminance(out) - gray).abs().max() < 1e-5
    assert (out[..., :2, :] - gray[..., :2, :]).abs().max() < 1e-5  # white stays white, black black
    assert (out.max(1).values - out.min(1).values).mean() > 0.1  # and it does add color elsewhere
    uint8 = ((out + 1) * 127.5).round()  # saved as 8-bit PNG: luma within rounding of the input's
    assert (luminance(uint8) - (gray + 1) * 127.5).abs().max() <= 0.5 + 1e-3


def test_resize_upsampling_has_no_transposed_convolutions_and_bad_options_are_errors():
    G = UNetGenerator(3, 3, base_channels=4, depth=3, upsample="resize")
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in G.modules())
    assert G(torch.zeros(1, 3, 16, 16)).shape == (1, 3, 16, 16)
    with pytest.raises(ConfigError, match="upsample"):
        UNetGenerator(3, 3, upsample="pixelshuffle")
    with pytest.raises(ConfigError, match="gray to RGB"):
        UNetGenerator(3, 3, chroma=True)


def test_chroma_gain_is_fitted_by_least_squares_and_used_only_in_eval_mode():
    torch.manual_seed(0)
    G = UNetGenerator(1, 3, base_channels=4, depth=2, dropout=0.0, chroma=True)
    images = torch.rand(4, 3, 8, 8) * 1.6 - 0.8
    gain = G.calibrate_chroma_gain(images)
    assert 0.0 <= gain <= 1.0 and float(G.chroma_gain) == pytest.approx(gain)
    G.chroma_gain.fill_(0.0)
    gray = torch.rand(2, 1, 8, 8) * 2 - 1
    assert torch.allclose(G.eval()(gray), gray.expand(-1, 3, -1, -1), atol=1e-6)  # no chroma left
    assert not torch.allclose(G.train()(gray), gray.expand(-1, 3, -1, -1), atol=1e-3)  # training: gain 1
    state = {k: v for k, v in G.state_dict().items() if k != "chroma_gain"}  # saved before the gain
    G.load_state_dict(state)
    assert float(G.chroma_gain) == 1.0
