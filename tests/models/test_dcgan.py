"""DCGAN (Radford et al. 2015): layer sizes, shapes, conditional paths, options and errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from ganforge.errors import ConfigError
from ganforge.models.dcgan import DCGANDiscriminator, DCGANGenerator


def _n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("size", [8, 32, 64])
@pytest.mark.parametrize("num_classes", [0, 5])
def test_shapes(size, num_classes):
    G = DCGANGenerator(z_dim=16, img_channels=3, img_size=size, base_channels=8, num_classes=num_classes)
    D = DCGANDiscriminator(img_channels=3, img_size=size, base_channels=8, num_classes=num_classes)
    z = torch.randn(3, 16)
    labels = torch.tensor([0, 1, 4]) if num_classes else None
    images = G(z, labels)
    assert images.shape == (3, 3, size, size)
    assert images.abs().max() <= 1
    assert D(images, labels).shape == (3,)


HINTS = [(28, "use --size 16 or 32"), (48, "use --size 32 or 64"), (4, "use --size 8 or larger")]


@pytest.mark.parametrize(("size", "hint"), HINTS)
def test_bad_img_size_says_how_to_fix(size, hint):
    for cls in (DCGANGenerator, DCGANDiscriminator):
        with pytest.raises(ConfigError, match=rf"power of two >= 8 .*got {size}; {hint}"):
            cls(img_size=size)
    assert issubclass(ConfigError, ValueError)


def test_bad_norm_raises():
    with pytest.raises(ConfigError, match="'batch' or 'none'"):
        DCGANDiscriminator(norm="layer")


def test_classic_64x64_generator_matches_the_paper():
    """z 100 -> 4x4x512 -> 8x8x256 -> 16x16x128 -> 32x32x64 -> 64x64x3 (kernel 4 throughout)."""
    G = DCGANGenerator(z_dim=100, img_channels=3, img_size=64, base_channels=64)
    widths = [100, 512, 256, 128, 64, 3]
    convs = sum(c_in * c_out * 4 * 4 for c_in, c_out in zip(widths[:-1], widths[1:], strict=True))
    batch_norms = sum(2 * c for c in widths[1:-1])  # weight and bias of each BatchNorm
    final_bias = 3  # convs followed by BatchNorm have no bias; the last one, before tanh, has
    assert _n_params(G) == convs + batch_norms + final_bias == 3_576_707
    transposed = [m for m in G.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [(m.in_channels, m.out_channels) for m in transposed] == list(
        zip(widths[:-1], widths[1:], strict=True)
    )
    x = torch.randn(2, 100)[:, :, None, None]
    sizes = []
    for layer in G.net:
        x = layer(x)
        if isinstance(layer, nn.ConvTranspose2d):
            sizes.append(tuple(x.shape[1:]))
    assert sizes == [(512, 4, 4), (256, 8, 8), (128, 16, 16), (64, 32, 32), (3, 64, 64)]


def test_classic_64x64_discriminator_matches_the_paper():
    D = DCGANDiscriminator(img_channels=3, img_size=64, base_channels=64)
    widths = [3, 64, 128, 256, 512]
    convs = sum(c_in * c_out * 4 * 4 for c_in, c_out in zip(widths[:-1], widths[1:], strict=True))
    first_bias = 64  # the first conv has no BatchNorm after it, so it keeps its bias
    batch_norms = sum(2 * c for c in widths[2:])
    head = 512 * 4 * 4 + 1
    assert _n_params(D) == convs + first_bias + batch_norms + head
    assert sum(isinstance(m, nn.BatchNorm2d) for m in D.modules()) == 3


def test_channel_width_is_capped_for_large_images():
    G = DCGANGenerator(z_dim=8, img_size=256, base_channels=2)
    D = DCGANDiscriminator(img_size=256, base_channels=2)
    widest = max(m.out_channels for m in G.modules() if isinstance(m, nn.ConvTranspose2d))
    assert widest == 2 * 8
    assert max(m.out_channels for m in D.modules() if isinstance(m, nn.Conv2d)) == 2 * 8


def test_norm_none_has_no_batchnorm():
    D = DCGANDiscriminator(img_size=32, base_channels=4, norm="none")
    assert not any(isinstance(m, nn.BatchNorm2d) for m in D.modules())
    assert all(m.bias is not None for m in D.modules() if isinstance(m, nn.Conv2d))


def test_spectral_norm_wraps_every_conv_and_the_projection():
    D = DCGANDiscriminator(img_size=16, base_channels=4, num_classes=3, spectral_norm=True, norm="none")
    layers = [m for m in D.modules() if isinstance(m, nn.Conv2d | nn.Embedding)]
    assert len(layers) == 4  # two stride-2 convs, the head, the projection embedding
    assert all(parametrize.is_parametrized(m, "weight") for m in layers)
    plain = DCGANDiscriminator(img_size=16, base_channels=4, num_classes=3)
    assert not any(parametrize.is_parametrized(m) for m in plain.modules())
    # After enough power iterations in train mode each effective conv weight has spectral norm ~1.
    x = torch.randn(2, 1, 16, 16)
    for _ in range(30):
        D(x, torch.tensor([0, 1]))
    head_weight = D.head.weight.flatten(1)
    assert torch.linalg.matrix_norm(head_weight, ord=2).item() == pytest.approx(1.0, abs=1e-3)


def test_dcgan_init_statistics():
    G = DCGANGenerator(z_dim=100, img_channels=3, img_size=32, base_channels=32)
    conv = G.net[0].weight
    assert abs(conv.mean().item()) < 2e-3 and conv.std().item() == pytest.approx(0.02, rel=0.05)
    bn = G.net[1]
    assert bn.weight.mean().item() == pytest.approx(1.0, abs=0.01) and bn.bias.abs().max() == 0


def test_conditional_generator_depends_on_labels():
    G = DCGANGenerator(z_dim=16, img_size=16, base_channels=8, num_classes=4).eval()
    z = torch.randn(1, 16).expand(4, 16)
    images = G(z, torch.arange(4))
    assert not torch.allclose(images[0], images[1], atol=1e-4)
    assert not torch.allclose(images[2], images[3], atol=1e-4)


def test_projection_discriminator_depends_on_labels():
    D = DCGANDiscriminator(img_size=16, base_channels=8, num_classes=4).eval()
    x = torch.randn(1, 1, 16, 16).expand(4, 1, 16, 16)
    logits = D(x, torch.arange(4))
    assert logits.unique().numel() == 4
    # The class term is exactly <embed(y), h> on the flattened 4x4 features.
    h = D.features(x).flatten(1)
    unconditional = D.head(D.features(x)).flatten()
    torch.testing.assert_close(logits - unconditional, (D.class_embed.weight[:4] * h).sum(1))


def test_codes_are_read_off_z_and_replace_its_first_entries():
    torch.manual_seed(0)
    G = DCGANGenerator(z_dim=16, img_channels=1, img_size=8, base_channels=4, codes=4).eval()
    z = torch.randn(5, 16)
    assert torch.equal(G.code_of(z), z[:, :4].argmax(1))
    # the same argmax with other values in the code entries: the same image (only the code counts)
    same = z.clone()
    same[:, :4] = torch.where(same[:, :4] == same[:, :4].max(1, keepdim=True).values, 9.0, -9.0)
    assert torch.equal(G.code_of(same), G.code_of(z))
    torch.testing.assert_close(G(same), G(z))
    # another code: another image
    other = z.clone()
    other[:, :4] = 0.0
    other[torch.arange(5), (G.code_of(z) + 1) % 4] = 5.0
    assert (G(other) - G(z)).abs().amax(dim=(1, 2, 3)).min() > 1e-4


def test_code_head_gives_k_logits_beside_the_real_fake_logit():
    D = DCGANDiscriminator(img_channels=1, img_size=8, base_channels=4, codes=6)
    images = torch.randn(3, 1, 8, 8)
    logits, code_logits = D(images, codes=True)
    assert logits.shape == (3,) and code_logits.shape == (3, 6)
    torch.testing.assert_close(D(images), logits)  # without codes=True the plain logits alone
    with pytest.raises(ValueError, match="without a code head"):
        DCGANDiscriminator(img_channels=1, img_size=8, base_channels=4)(images, codes=True)


@pytest.mark.parametrize("codes", [1, 16, -1])
def test_codes_out_of_range_are_refused(codes):
    with pytest.raises(ConfigError, match="codes must be"):
        DCGANGenerator(z_dim=16, img_size=8, base_channels=4, codes=codes)
