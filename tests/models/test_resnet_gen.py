"""CycleGAN's ResNet generator (`resnet.G`)."""

import pytest
import torch
from torch import nn

from ganforge.errors import ConfigError
from ganforge.models.resnet_gen import ResnetBlock, ResnetGenerator
from ganforge.registry import MODELS, create_model


@pytest.fixture(autouse=True)
def one_thread():
    """Small tensors: intra-op threads only add overhead (a lot of it on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_paper_sizes_have_the_published_parameter_counts():
    # The authors' code prints 11.378 M parameters for resnet_9blocks with ngf=64 (3 -> 3 channels).
    nine = ResnetGenerator(3, 3, base_channels=64, n_blocks=9)
    six = ResnetGenerator(3, 3, base_channels=64, n_blocks=6)
    assert sum(p.numel() for p in nine.parameters()) == 11_378_179
    # the three extra blocks are 2 x (256*256*3*3 weights + 256 biases) each
    assert sum(p.numel() for p in nine.parameters()) - sum(p.numel() for p in six.parameters()) == 3 * 2 * (
        256 * 256 * 9 + 256
    )
    assert sum(isinstance(m, ResnetBlock) for m in nine.modules()) == 9
    assert sum(isinstance(m, ResnetBlock) for m in six.modules()) == 6
    assert (
        sum(isinstance(m, nn.InstanceNorm2d) for m in six.modules()) == 5 + 2 * 6
    )  # c7s1, two downs, two ups, two per block


@pytest.mark.parametrize("shape", [(2, 3, 16, 16), (1, 3, 16, 24), (2, 1, 8, 12)])
def test_output_keeps_the_size_and_lies_in_range(shape):
    torch.manual_seed(0)
    G = ResnetGenerator(in_channels=shape[1], out_channels=3, base_channels=4, n_blocks=2)
    out = G(torch.rand(shape) * 2 - 1)
    assert out.shape == (shape[0], 3, *shape[2:])
    assert out.min() >= -1 and out.max() <= 1 and out.std() > 0


def test_fully_convolutional_translation_is_local():
    """A change in one corner of a large input leaves the far corner's output alone."""
    torch.manual_seed(0)
    G = ResnetGenerator(3, 3, base_channels=4, n_blocks=1).eval()
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    y = x.clone()
    y[..., :8, :8] = -y[..., :8, :8]
    with torch.no_grad():
        a, b = G(x), G(y)
    # instance norm couples every pixel a little, so compare with a tolerance: near pixels change a lot
    assert (a[..., :8, :8] - b[..., :8, :8]).abs().mean() > 10 * (
        a[..., -8:, -8:] - b[..., -8:, -8:]
    ).abs().mean()


def test_bad_inputs_and_arguments_raise_clear_errors():
    G = create_model("resnet.G", **MODELS.entry("resnet.G").meta["tiny"])
    with pytest.raises(ValueError, match="multiples of 4"):
        G(torch.zeros(1, 3, 18, 16))
    with pytest.raises(ValueError, match="at least 8"):
        G(torch.zeros(1, 3, 4, 4))
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        G(torch.zeros(1, 1, 16, 16))
    with pytest.raises(ConfigError, match="norm must be one of"):
        ResnetGenerator(norm="layer")
    with pytest.raises(ConfigError, match="n_blocks must be >= 0"):
        ResnetGenerator(n_blocks=-1)
    assert MODELS.entry("resnet.G").meta["kind"] == "image-to-image"
