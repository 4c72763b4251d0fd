"""The StyleGAN-style generator and discriminator: shapes, truncation, w_avg, layer groups, mixing."""

from __future__ import annotations

import pytest
import torch

from ganforge.errors import ConfigError
from ganforge.models.stylegan import StyleGANDiscriminator, StyleGANGenerator, mix_styles


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny layers run faster on one thread than on two contended ones."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


TINY = dict(z_dim=8, w_dim=8, img_channels=3, channel_base=64, max_channels=8, mapping_layers=2)


def make_G(size: int = 16, **overrides) -> StyleGANGenerator:
    torch.manual_seed(0)
    G = StyleGANGenerator(img_size=size, **{**TINY, **overrides})
    with torch.no_grad():  # noise strengths start at 0; make the noise inputs matter
        for layer in G.convs:
            layer.noise.strength.fill_(0.3)
        G.w_avg.copy_(torch.randn(G.w_dim))
    return G.eval()


def test_shapes_num_ws_and_range():
    G = make_G(32)
    assert G.num_ws == 2 * 5 - 2  # 2 * log2(32) - 2, as in StyleGAN2
    z = torch.randn(3, 8)
    ws = G.mapping(z)
    assert ws.shape == (3, G.num_ws, 8)
    assert torch.equal(ws[:, 0], ws[:, -1])  # one w, broadcast to every layer
    raw = G.synthesis(ws)
    assert raw.shape == (3, 3, 32, 32)
    images = G(z)
    assert torch.equal(images, raw.clamp(-1, 1))
    assert D_logits_shape(32) == (3,)


def D_logits_shape(size: int) -> tuple[int, ...]:
    D = StyleGANDiscriminator(img_channels=3, img_size=size, channel_base=64, max_channels=8)
    return tuple(D(torch.randn(3, 3, size, size)).shape)


def test_truncation_psi_zero_gives_the_average_w_image_for_every_seed():
    G = make_G()
    z = torch.randn(6, 8, generator=torch.Generator().manual_seed(1))
    images = G(z, truncation_psi=0.0)
    average = G.synthesis(G.w_avg.expand(6, G.num_ws, -1)).clamp(-1, 1)  # same batch size: same kernels
    assert torch.equal(images, average)
    assert all(torch.equal(image, images[0]) for image in images)
    assert images.std() > 0.01  # a real image, not a blank
    assert not torch.allclose(G(z)[0], G(z)[1])  # without truncation the seeds differ


def test_truncation_interpolates_toward_w_avg_and_respects_the_cutoff():
    G = make_G()
    z = torch.randn(4, 8)
    w = G.mapping(z)
    half = G.mapping(z, truncation_psi=0.5)
    assert torch.allclose(half, G.w_avg + 0.5 * (w - G.w_avg), atol=1e-6)
    cut = G.mapping(z, truncation_psi=0.0, truncation_cutoff=2)
    assert torch.equal(cut[:, :2], G.w_avg.expand(4, 2, -1)) and torch.equal(cut[:, 2:], w[:, 2:])


def test_w_avg_tracks_batch_means_with_its_decay():
    G = StyleGANGenerator(img_size=16, w_avg_beta=0.9, **TINY)
    mean = torch.full((8,), 2.0)
    for _ in range(3):
        G.track_w_avg(mean)
    assert torch.allclose(G.w_avg, mean * (1 - 0.9**3))
    assert "w_avg" in dict(G.named_buffers())  # so EMA copies and bundles carry it


@pytest.mark.parametrize(
    "size, coarse, middle, fine",
    [
        (16, [0], [1, 2], [3, 4, 5]),
        (64, [0, 1, 2], [3, 4, 5, 6], [7, 8, 9]),
        (256, [0, 1, 2], [3, 4, 5, 6], list(range(7, 14))),  # the paper: 4-8, 16-32, 64-256 px
    ],
)
def test_layer_groups_split_the_ws_by_resolution(size, coarse, middle, fine):
    G = StyleGANGenerator(img_size=size, z_dim=4, w_dim=4, channel_base=16, max_channels=2, mapping_layers=1)
    assert G.layer_indices("coarse") == coarse
    assert G.layer_indices("middle") == middle
    assert G.layer_indices("fine") == fine
    assert sorted(coarse + middle + fine) == list(range(G.num_ws))
    assert G.layer_indices(["coarse", "fine"]) == coarse + fine
    with pytest.raises(ConfigError, match="unknown layer group 'huge'"):
        G.layer_indices("huge")


def test_style_mixing_takes_the_right_layers_from_each_parent():
    G = make_G()
    ws_a, ws_b = G.mapping(torch.randn(2, 8)), G.mapping(torch.randn(2, 8))
    coarse = G.layer_indices("coarse")
    mixed = mix_styles(ws_a, ws_b, coarse)
    others = [i for i in range(G.num_ws) if i not in coarse]
    assert torch.equal(mixed[:, coarse], ws_b[:, coarse]) and torch.equal(mixed[:, others], ws_a[:, others])
    # all layers from b is b's image; none is a's; a mix is neither
    assert torch.equal(G.synthesis(mix_styles(ws_a, ws_b, range(G.num_ws))), G.synthesis(ws_b))
    assert torch.equal(G.synthesis(mix_styles(ws_a, ws_b, [])), G.synthesis(ws_a))
    image = G.synthesis(mixed)
    assert not torch.allclose(image, G.synthesis(ws_a)) and not torch.allclose(image, G.synthesis(ws_b))


def test_forward_groups_with_one_latent_everywhere_is_forward():
    G = make_G()
    z = torch.randn(3, 8)
    assert torch.allclose(G.forward_groups(z[:, None].expand(-1, 3, -1)), G(z), atol=1e-6)
    z3 = torch.randn(3, 3, 8)
    expected = G.mapping(z3[:, 0])
    for k, group in enumerate(G.layer_groups):
        index = G.layer_indices(group)
        expected[:, index] = G.mapping(z3[:, k])[:, index]
    assert torch.allclose(G.forward_groups(z3), G.synthesis(expected).clamp(-1, 1), atol=1e-6)


def test_noise_is_constant_in_eval_and_seeded_in_training():
    G = make_G()
    z = torch.randn(2, 8)
    assert torch.equal(G(z), G(z))  # eval: the stored noise maps
    G.train()
    a = G(z, generator=torch.Generator().manual_seed(0))
    b = G(z, generator=torch.Generator().manual_seed(0))
    c = G(z, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(G(z, noise_mode="none"), G(z, noise_mode="none"))


def test_bad_sizes_and_inputs_raise_clear_errors():
    with pytest.raises(ConfigError, match="power of two >= 16"):
        StyleGANGenerator(img_size=48, **{k: v for k, v in TINY.items()})
    with pytest.raises(ValueError, match=r"z of shape \(B, 8\)"):
        make_G()(torch.randn(2, 5))
    with pytest.raises(ValueError, match="unconditional"):
        make_G()(torch.randn(2, 8), torch.zeros(2, dtype=torch.int64))
    with pytest.raises(ValueError, match="ws of shape"):
        make_G().synthesis(torch.randn(2, 3, 8))
