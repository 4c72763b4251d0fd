"""PatchGAN / PixelGAN discriminator: map shapes, receptive field, norms, and the losses on maps."""

import pytest
import torch
import torch.nn.functional as F

from ganforge.errors import ConfigError
from ganforge.losses import ADVERSARIAL_LOSSES, get_adversarial_loss
from ganforge.models.patchgan import PatchGANDiscriminator, receptive_field
from ganforge.registry import MODELS, create_model


@pytest.mark.parametrize(
    "n_layers, size, side",
    [(3, 256, 30), (3, 64, 6), (3, 24, 1), (2, 16, 2), (1, 32, 14), (0, 16, 16), (0, 5, 5)],
)
def test_logits_map_shape(n_layers, size, side):
    torch.manual_seed(0)
    D = PatchGANDiscriminator(in_channels=6, base_channels=4, n_layers=n_layers)
    out = D(torch.randn(2, 6, size, size))
    assert out.shape == (2, 1, side, side)
    assert D.output_size(size) == side


def test_non_square_input():
    D = PatchGANDiscriminator(in_channels=3, base_channels=4, n_layers=2, norm="instance")
    assert D(torch.randn(1, 3, 40, 72)).shape == (1, 1, 8, 16)


def test_receptive_field_is_70_pixels_for_three_layers():
    """The gradient of one logit reaches exactly a 70x70 square of the input (1x1 for the PixelGAN)."""
    assert receptive_field(3) == 70 and receptive_field(1) == 16 and receptive_field(0) == 1
    for n_layers, field in ((3, 70), (1, 16), (0, 1)):
        torch.manual_seed(0)
        D = PatchGANDiscriminator(in_channels=2, base_channels=4, n_layers=n_layers).eval()
        x = torch.randn(1, 2, 128, 128, requires_grad=True)
        out = D(x)
        i = out.shape[-1] // 2
        out[0, 0, i, i].backward()
        touched = x.grad.abs().sum((0, 1)) > 0  # (H, W)
        rows = touched.any(1).nonzero().flatten()
        cols = touched.any(0).nonzero().flatten()
        assert rows.max() - rows.min() + 1 == field
        assert cols.max() - cols.min() + 1 == field


def test_paper_size_and_parameter_count():
    # C64-C128-C256-C512 then a 1-channel conv; instance norm keeps every conv bias (CycleGAN's D)
    D = create_model("patchgan.D", in_channels=3, norm="instance")
    assert sum(p.numel() for p in D.parameters()) == 2_764_737
    conv_widths = [m.out_channels for m in D.modules() if isinstance(m, torch.nn.Conv2d)]
    assert conv_widths == [64, 128, 256, 512, 1]


@pytest.mark.parametrize("norm", ["batch", "instance", "none"])
def test_norms_and_backward(norm):
    torch.manual_seed(0)
    D = PatchGANDiscriminator(
        in_channels=4, base_channels=4, n_layers=2, norm=norm, spectral_norm=norm == "none"
    )
    out = D(torch.randn(3, 4, 24, 24))
    out.mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in D.parameters())
    kinds = {type(m).__name__ for m in D.modules()}
    assert ("BatchNorm2d" in kinds) == (norm == "batch") and ("InstanceNorm2d" in kinds) == (
        norm == "instance"
    )


def test_bad_arguments_are_clear():
    with pytest.raises(ConfigError, match="norm must be one of batch, instance, none"):
        PatchGANDiscriminator(norm="layer")
    with pytest.raises(ConfigError, match="n_layers must be 0"):
        PatchGANDiscriminator(n_layers=-1)
    D = PatchGANDiscriminator(in_channels=6, base_channels=4, n_layers=3)
    with pytest.raises(ValueError, match="at least 24x24"):
        D(torch.randn(1, 6, 16, 16))
    with pytest.raises(ValueError, match=r"expects \(B, 6, H, W\)"):
        D(torch.randn(1, 3, 32, 32))


def test_registry_entry_and_example_inputs():
    entry = MODELS.entry("patchgan.D")
    D = create_model("patchgan.D", **entry.meta["tiny"])
    (x,) = D.example_inputs(2, torch.Generator().manual_seed(0))
    assert D(x).shape == (2, 1, 2, 2)


@pytest.mark.parametrize("name", sorted(ADVERSARIAL_LOSSES))
def test_adversarial_losses_work_on_logit_maps(name):
    """Every loss reduces with .mean(), so a (B, 1, h, w) map is scored as B*h*w patch logits."""
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(4, 1, 5, 5, generator=g), torch.randn(4, 1, 5, 5, generator=g)
    loss = get_adversarial_loss(name)
    assert torch.allclose(loss.d_loss(real, fake), loss.d_loss(real.flatten(), fake.flatten()))
    assert torch.allclose(loss.g_loss(fake), loss.g_loss(fake.flatten()))
    if name == "ns":
        expected = F.softplus(-real).mean() + F.softplus(fake).mean()
        assert torch.allclose(loss.d_loss(real, fake), expected)
