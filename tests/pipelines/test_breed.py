import math

import pytest
import torch
from studio.style_stub import TinyStyleG

from ganforge.errors import ConfigError
from ganforge.pipelines.breed import (
    BreedPipeline,
    layer_groups,
    mix_latents,
    mutate,
    mutation_noise,
    normalize_shares,
    supports_truncation,
    synthesize,
)
from ganforge.pipelines.generate import GeneratePipeline, latents
from ganforge.registry import create_model, load_all


@pytest.fixture(scope="module")
def G():
    load_all()
    torch.manual_seed(0)
    return create_model(
        "dcgan.G", z_dim=16, img_channels=1, img_size=8, base_channels=4, num_classes=3
    ).eval()


@pytest.fixture(scope="module")
def style_G():
    torch.manual_seed(1)
    return TinyStyleG(z_dim=8).eval()


def test_mixing_keeps_identical_parents_and_the_norm():
    a, b = latents(1, 64, 1)[0], latents(1, 64, 2)[0]
    same = mix_latents(torch.stack([a, a, a]), normalize_shares([1, 2, 3], 3))
    assert torch.allclose(same, a, atol=1e-6)
    half = mix_latents(torch.stack([a, b]), normalize_shares([1, 1], 2))
    assert math.isclose(half.norm().item(), (a.norm().item() + b.norm().item()) / 2, rel_tol=1e-5)
    # a plain average would shrink towards the origin: about 1/sqrt(2) of the norm for independent draws
    assert ((a + b) / 2).norm() < 0.8 * half.norm()
    # equal shares lie on the bisector: the same angle to both parents
    cos_a = torch.nn.functional.cosine_similarity(half, a, dim=0)
    cos_b = torch.nn.functional.cosine_similarity(half, b, dim=0)
    assert torch.allclose(cos_a, cos_b, atol=1e-5)
    only_b = mix_latents(torch.stack([a, b]), normalize_shares([0, 5], 2))
    assert torch.allclose(only_b, b, atol=1e-6)


def test_shares_are_checked():
    assert normalize_shares([3, 1], 2).tolist() == [0.75, 0.25]
    with pytest.raises(ConfigError, match="got 1 shares for 2 parents"):
        normalize_shares([1], 2)
    with pytest.raises(ConfigError, match="must be finite and >= 0"):
        normalize_shares([1, -1], 2)
    with pytest.raises(ConfigError, match="all 0"):
        normalize_shares([0, 0], 2)


def test_mutation_strength_blends_towards_fresh_noise():
    mixed = latents(1, 32, 5)[0]
    noise = mutation_noise(4, 32, seed=9)
    assert torch.equal(mutate(mixed, noise, 0.0), mixed.expand(4, -1))
    assert torch.equal(mutate(mixed, noise, 1.0), noise)
    half = mutate(mixed, noise, 0.6)
    assert torch.allclose(half, 0.8 * mixed + 0.6 * noise, atol=1e-6)  # sqrt(1 - 0.36) = 0.8
    with pytest.raises(ConfigError, match=r"must lie in \[0, 1\]"):
        mutate(mixed, noise, 1.5)
    # child i's noise does not depend on how many children there are
    assert torch.equal(mutation_noise(3, 32, 9), noise[:3])


def test_breeding_is_deterministic_and_matches_the_generator(G):
    pipe = BreedPipeline(G)
    parents = torch.cat([latents(1, 16, 1), latents(1, 16, 2)])
    out = pipe(parents, [3, 1], n=5, mutation=0.3, seed=7, parent_labels=[2, 0])
    again = pipe(parents, [3, 1], n=5, mutation=0.3, seed=7, parent_labels=[2, 0])
    assert out.images.shape == (5, 1, 8, 8) and out.z.shape == (5, 16)
    assert torch.equal(out.z, again.z) and torch.equal(out.images, again.images)
    assert out.shares == {"all": [0.75, 0.25]}
    assert out.labels.tolist() == [2] * 5  # the class of the parent with the largest share
    other = pipe(parents, [3, 1], n=5, mutation=0.3, seed=8, parent_labels=[2, 0])
    assert not torch.equal(out.z, other.z)
    expected_z = mutate(mix_latents(parents, torch.tensor([0.75, 0.25])), mutation_noise(5, 16, 7), 0.3)
    assert torch.equal(out.z, expected_z)
    direct = GeneratePipeline(G)(5, z=out.z, labels=out.labels).images
    assert torch.allclose(out.images, direct, atol=1e-6)
    first_two = pipe(parents, [3, 1], n=2, mutation=0.3, seed=7, parent_labels=[2, 0])
    assert torch.equal(first_two.z, out.z[:2])
    # keep breeding: a child and a parent make grandchildren
    grand = pipe(torch.stack([out.z[0], parents[1]]), [1, 1], n=3, mutation=0.1, seed=0, class_index=1)
    assert grand.images.shape == (3, 1, 8, 8) and grand.labels.tolist() == [1, 1, 1]


def test_breeding_errors_name_the_fix(G):
    pipe = BreedPipeline(G)
    parents = torch.cat([latents(1, 16, 1), latents(1, 16, 2)])
    with pytest.raises(ConfigError, match="each parent's class"):
        pipe(parents, [1, 1])
    with pytest.raises(ConfigError, match="classes 0..2"):
        pipe(parents, [1, 1], class_index=3)
    with pytest.raises(ConfigError, match="need a style-based generator"):
        pipe(parents, {"coarse": [1, 0]}, class_index=0)
    with pytest.raises(ConfigError, match=r"parents must be \(P, 16\)"):
        pipe(torch.zeros(2, 5), [1, 1], class_index=0)
    with pytest.raises(ConfigError, match="at least one child"):
        pipe(parents, [1, 1], n=0, class_index=0)
    assert not supports_truncation(G) and layer_groups(G) == ()
    with pytest.raises(ConfigError, match="truncation needs a style-based generator"):
        synthesize(G, parents, torch.tensor([0, 1]), truncation_psi=0.5)


def test_style_generators_breed_per_layer_group(style_G):
    pipe = BreedPipeline(style_G)
    assert pipe.groups == ("coarse", "middle", "fine")
    a, b = latents(1, 8, 11), latents(1, 8, 12)
    parents = torch.cat([a, b])
    shares = {"coarse": [1, 0], "middle": [1, 0], "fine": [0, 1]}
    out = pipe(parents, shares, n=2, mutation=0.0, seed=0)
    assert out.z.shape == (2, 3, 8)
    assert torch.allclose(out.z[0, 0], a[0], atol=1e-6) and torch.allclose(out.z[0, 2], b[0], atol=1e-6)
    image_a, image_b = synthesize(style_G, a), synthesize(style_G, b)
    # coarse and middle channels come from parent a, the fine channel from parent b
    assert torch.allclose(out.images[0, :2], image_a[0, :2], atol=1e-5)
    assert torch.allclose(out.images[0, 2], image_b[0, 2], atol=1e-5)
    # one share list for all groups is the same as plain breeding, broadcast to every group
    uniform = pipe(parents, [1, 1], n=2, mutation=0.5, seed=3)
    grouped = pipe(parents, {g: [1, 1] for g in pipe.groups}, n=2, mutation=0.5, seed=3)
    assert torch.allclose(grouped.z, uniform.z[:, None, :].expand(-1, 3, -1), atol=1e-6)
    # genomes breed on: per-group children are parents too
    grand = pipe(out.z, [1, 1], n=1, mutation=0.0, seed=0)
    assert grand.z.shape == (1, 3, 8)
    with pytest.raises(ConfigError, match="missing: middle"):
        pipe(parents, {"coarse": [1, 0], "fine": [0, 1]})
    # truncation towards the average style: psi 0 gives every seed the same image
    assert supports_truncation(style_G)
    flat = synthesize(style_G, torch.cat([a, b]), truncation_psi=0.0)
    assert torch.equal(flat[0], flat[1])


def test_huge_shares_keep_their_proportions():
    assert normalize_shares([1e308, 1e308], 2).tolist() == [0.5, 0.5]
    assert normalize_shares([3e307, 1e307], 2).tolist() == pytest.approx([0.75, 0.25])
