"""DTN's networks: the encoder f (`dtn.F`), G = g o f (`dtn.G`) and the three-way D (`dtn.D`)."""

import pytest
import torch
from torch.nn import functional as F

from ganforge.data.transforms import LUMA
from ganforge.errors import ConfigError
from ganforge.models.dtn import CLASSES, DTNDiscriminator, DTNEncoder, DTNGenerator, match_channels


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: intra-op threads only add overhead (a lot of it on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_encoder_features_and_class_head():
    torch.manual_seed(0)
    f = DTNEncoder(in_channels=3, img_size=32, feature_dim=16, base_channels=4, head_classes=10)
    x = torch.rand(5, 3, 32, 32) * 2 - 1
    h = f(x)
    assert h.shape == (5, 16) and h.abs().max() < 1  # tanh features
    assert f.classify(x).shape == (5, 10)
    assert torch.allclose(f.classify(x), f.head(h))
    # blocks halve 32 -> 16 -> 8 -> 4, then a 4x4 conv gives one position
    assert sum(isinstance(m, torch.nn.MaxPool2d) for m in f.modules()) == 3


def test_generator_translates_between_channel_counts_and_keeps_f_in_eval_mode():
    torch.manual_seed(0)
    G = DTNGenerator(in_channels=3, out_channels=1, img_size=16, feature_dim=8, f_channels=4, g_channels=4)
    x = torch.rand(4, 3, 16, 16) * 2 - 1
    y = G(x)
    assert y.shape == (4, 1, 16, 16) and y.min() >= -1 and y.max() <= 1
    assert torch.equal(G(x), G.decode(G.encode(x)))
    # f reads the target domain too (gray images become RGB), as L_TID and L_CONST need
    assert G.encode(y).shape == (4, 8)
    G.train()
    assert G.training and G.decoder.training and not G.encoder.training
    running = G.encoder.body[1].running_mean.clone()
    G(x)
    assert torch.equal(G.encoder.body[1].running_mean, running)  # f's BatchNorm statistics stay fixed


def test_generator_takes_any_size_through_resizing():
    """f and g are fixed-size: other sizes are resized to img_size and the output back."""
    torch.manual_seed(0)
    G = DTNGenerator(
        in_channels=3, out_channels=3, img_size=8, feature_dim=8, f_channels=4, g_channels=4
    ).eval()
    big = torch.rand(2, 3, 24, 16) * 2 - 1
    out = G(big)
    assert out.shape == (2, 3, 24, 16) and G.multiple == 1
    small = F.interpolate(big, size=(8, 8), mode="bilinear", antialias=True, align_corners=False)
    expected = F.interpolate(G(small), size=(24, 16), mode="bilinear", align_corners=False)
    assert torch.allclose(out, expected.clamp(-1, 1))
    assert not torch.allclose(G(big.flip(-1)), out)  # the content matters, not only the size


def test_discriminator_has_three_logits():
    torch.manual_seed(0)
    D = DTNDiscriminator(in_channels=1, img_size=16, base_channels=4)
    assert D(torch.zeros(2, 1, 16, 16)).shape == (2, len(CLASSES))
    assert CLASSES == ("fake_source", "fake_target", "real_target")
    with pytest.raises(ValueError, match=r"\(B, 1, 16, 16\)"):
        D(torch.zeros(2, 3, 16, 16))


def test_match_channels_repeats_gray_and_takes_luma_of_rgb():
    gray = torch.rand(2, 1, 4, 4)
    assert torch.equal(match_channels(gray, 3), gray.expand(-1, 3, -1, -1))
    rgb = torch.rand(2, 3, 4, 4)
    expected = LUMA[0] * rgb[:, :1] + LUMA[1] * rgb[:, 1:2] + LUMA[2] * rgb[:, 2:]
    assert torch.allclose(match_channels(rgb, 1), expected)
    assert match_channels(rgb, 3) is rgb


@pytest.mark.parametrize("size", [12, 4])
def test_sizes_must_be_powers_of_two(size):
    with pytest.raises(ConfigError, match="power of two >= 8"):
        DTNEncoder(img_size=size)
    with pytest.raises(ConfigError, match="power of two >= 8"):
        DTNDiscriminator(img_size=size)
