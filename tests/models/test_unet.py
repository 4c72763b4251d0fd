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


def test_push_pull_fill_keeps_known_pixels_and_fills_holes_from_their_surroundings():
    from ganforge.models.unet import push_pull_fill

    flat = torch.full((1, 3, 16, 16), 0.3)
    known = torch.ones(1, 1, 16, 16)
    known[..., 3:13, 2:12] = 0  # a 10x10 hole in a flat image: filled with exactly that color
    assert torch.allclose(push_pull_fill(flat * known, known), flat, atol=1e-6)
    # left half black, right half white, a hole across the border: each side's fill leans its way
    image = torch.cat([torch.full((1, 1, 16, 8), -1.0), torch.full((1, 1, 16, 8), 1.0)], dim=-1)
    known = torch.ones(1, 1, 16, 16)
    known[..., 4:12, 4:12] = 0
    filled = push_pull_fill(image * known, known)
    assert torch.equal(filled * known, image * known)  # known pixels untouched
    assert filled[0, 0, 8, 4] < -0.2 and filled[0, 0, 8, 11] > 0.2 and filled.abs().max() <= 1
    torch.manual_seed(0)
    noisy, sparse = torch.randn(2, 3, 37, 50), (torch.rand(2, 1, 37, 50) > 0.9).float()  # odd sizes
    out = push_pull_fill(noisy, sparse)
    assert out.isfinite().all() and torch.equal(out * sparse, noisy * sparse)
    assert torch.equal(push_pull_fill(noisy, torch.zeros(2, 1, 37, 50)), torch.zeros(2, 3, 37, 50))


def test_coarse_fill_unet_starts_from_the_smooth_fill_and_never_changes_known_pixels():
    from ganforge.data.derived import apply_mask

    torch.manual_seed(0)
    G = UNetGenerator(4, 3, base_channels=8, depth=3, upsample="resize", coarse_fill=True).eval()
    flat = torch.full((2, 3, 16, 16), 0.3)
    holes = torch.zeros(2, 1, 16, 16)
    holes[..., 4:12, 4:12] = 1
    out = G(apply_mask(flat, holes))
    assert out.shape == (2, 3, 16, 16)
    assert torch.equal(out * (1 - holes), flat * (1 - holes))  # known pixels are pasted back exactly
    assert (out - flat).abs().max() < 0.1  # untrained: close to the push-pull fill (here the flat color)
    with pytest.raises(ConfigError, match="in_channels = out_channels \\+ 1"):
        UNetGenerator(3, 3, coarse_fill=True)


def test_low_resolution_chroma_is_smooth_and_keeps_the_luminance():
    from ganforge.data.derived import luminance

    torch.manual_seed(0)
    G = UNetGenerator(1, 3, base_channels=8, depth=3, upsample="resize", chroma=True, chroma_scale=4).eval()
    gray = torch.rand(1, 1, 32, 32) * 1.6 - 0.8
    out = G(gray)
    assert (luminance(out) - gray).abs().max() < 1e-5
    G.chroma = False
    chroma = G(gray)  # (1, 2, 32, 32), the bilinear upsampling of an 8x8 map: no pixel-level speckle
    G.chroma = True
    assert chroma.shape == (1, 2, 32, 32)
    full = UNetGenerator(1, 3, base_channels=8, depth=3, upsample="resize", chroma=True).eval()
    full.load_state_dict(G.state_dict())  # the same weights, chroma at full resolution
    full.chroma = False
    speckle = full(gray)

    def roughness(x: torch.Tensor) -> float:
        return float((x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., 1:] - x[..., :-1]).abs().mean())

    assert roughness(chroma) < roughness(speckle) / 2, (roughness(chroma), roughness(speckle))
    low = torch.nn.functional.avg_pool2d(speckle, 4)  # it is the block means of that, upsampled
    assert torch.allclose(
        torch.nn.functional.avg_pool2d(chroma, 4)[..., 1:-1, 1:-1], low[..., 1:-1, 1:-1], atol=0.05
    )
    with pytest.raises(ConfigError, match="power of 2"):
        UNetGenerator(1, 3, depth=3, chroma=True, chroma_scale=3)
    with pytest.raises(ConfigError, match="chroma U-Net"):
        UNetGenerator(1, 3, depth=3, chroma_scale=2)
