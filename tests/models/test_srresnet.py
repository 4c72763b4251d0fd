"""SRResNet generator and SRGAN discriminator: sizes, the bicubic start, ICNR, errors."""

import pytest
import torch
from torch.nn import functional as F

from ganforge.errors import ConfigError
from ganforge.models.srresnet import SRGANDiscriminator, SRResNet, icnr_
from ganforge.registry import create_model


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models gain nothing from more threads and lose a lot on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_g(**kw):
    torch.manual_seed(0)
    return SRResNet(**{"img_channels": 3, "channels": 8, "blocks": 2, "scale": 4, **kw})


@pytest.mark.parametrize("scale", [2, 4])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size", [(7, 9), (13, 5), (1, 3)])
def test_output_is_scale_times_the_input_for_odd_sizes(scale, channels, size):
    G = tiny_g(scale=scale, img_channels=channels).eval()
    out = G(torch.rand(2, channels, *size) * 2 - 1)
    assert out.shape == (2, channels, size[0] * scale, size[1] * scale)
    assert torch.isfinite(out).all()


def test_registry_builds_both_networks_from_json_kwargs():
    G = create_model("srresnet.G", img_channels=1, channels=4, blocks=1, scale=2)
    D = create_model("srresnet.D", img_channels=1, img_size=32, channels=4, dense=8)
    assert G(torch.zeros(1, 1, 5, 5)).shape == (1, 1, 10, 10)
    assert D(torch.zeros(3, 1, 32, 32)).shape == (3,)


def test_bicubic_skip_starts_as_exact_bicubic_and_then_learns():
    G = tiny_g(bicubic_skip=True)
    lr = torch.rand(2, 3, 6, 7) * 2 - 1
    expected = F.interpolate(lr, scale_factor=4, mode="bicubic", align_corners=False)
    assert torch.equal(G(lr), expected)
    G(lr).square().mean().backward()
    assert G.tail.weight.grad.abs().sum() > 0  # the zero-initialized tail is trained


def test_icnr_init_makes_pixel_shuffle_nearest_neighbour_upsampling():
    conv = torch.nn.Conv2d(4, 3 * 4, 3, padding=1)
    icnr_(conv, 2)
    out = torch.nn.PixelShuffle(2)(conv(torch.randn(1, 4, 5, 5)))  # (1, 3, 10, 10)
    blocks = out.unfold(2, 2, 2).unfold(3, 2, 2)  # (1, 3, 5, 5, 2, 2): every 2x2 block
    assert torch.allclose(blocks, blocks[..., :1, :1].expand_as(blocks))
    assert torch.equal(conv.bias, torch.zeros(12))


def test_generator_trains_on_pixel_mse():
    G = tiny_g(scale=2, norm="none")
    lr, hr = torch.rand(4, 3, 6, 6) * 2 - 1, torch.rand(4, 3, 12, 12) * 2 - 1
    opt = torch.optim.Adam(G.parameters(), 1e-2)
    losses = []
    for _ in range(15):
        loss = F.mse_loss(G(lr), hr)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in G.parameters())


def test_eval_mode_output_does_not_depend_on_the_batch():
    """BatchNorm uses running statistics at inference, so an image upscales the same alone or in a
    batch (what tiled upscaling relies on)."""
    G = tiny_g().eval()
    lr = torch.rand(3, 3, 8, 8) * 2 - 1
    assert torch.allclose(G(lr)[1:2], G(lr[1:2]), atol=1e-6)


def test_discriminator_shapes_and_errors():
    torch.manual_seed(0)
    D = SRGANDiscriminator(img_channels=3, img_size=32, channels=4, dense=16)
    logits = D(torch.rand(5, 3, 32, 32))
    assert logits.shape == (5,)
    # four stride-2 convolutions: 32 -> 2, so the dense layer reads 8C * 2 * 2 values
    assert D.classifier[1].in_features == 32 * 2 * 2
    with pytest.raises(ValueError, match=r"expects \(B, 3, 32, 32\), got \(2, 3, 48, 48\)"):
        D(torch.rand(2, 3, 48, 48))
    with pytest.raises(ConfigError, match="multiple of 16"):
        SRGANDiscriminator(img_size=40)


def test_bad_generator_arguments_raise_config_errors():
    with pytest.raises(ConfigError, match="scale must be one of 2, 4, 8, got 3"):
        SRResNet(scale=3)
    with pytest.raises(ConfigError, match="img_channels must be 1 or 3"):
        SRResNet(img_channels=4)
    with pytest.raises(ConfigError, match="norm must be 'batch' or 'none'"):
        SRResNet(norm="instance")
    G = tiny_g()
    with pytest.raises(ValueError, match=r"expects images \(B, 3, H, W\), got \(1, 1, 4, 4\)"):
        G(torch.zeros(1, 1, 4, 4))
