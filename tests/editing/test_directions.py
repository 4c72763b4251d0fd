"""Direction finding: PCA (GANSpace), SeFa, class genes and InterFaceGAN boundaries."""

from __future__ import annotations

import pytest
import torch

from ganforge.editing import directions as find
from ganforge.errors import ConfigError
from ganforge.models.dcgan import DCGANGenerator
from ganforge.models.gan_mlp import MLPGenerator
from ganforge.models.stylegan import StyleGANGenerator


def orthonormal(vectors: torch.Tensor) -> torch.Tensor:
    return (
        (vectors.double() @ vectors.double().T - torch.eye(vectors.shape[0], dtype=torch.float64)).abs().max()
    )


def tiny_style() -> StyleGANGenerator:
    torch.manual_seed(0)
    return StyleGANGenerator(
        z_dim=8, w_dim=8, img_channels=3, img_size=16, channel_base=64, max_channels=8, mapping_layers=2
    ).eval()


def test_principal_directions_recover_planted_axes_in_variance_order():
    g = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(6, 6, generator=g))
    spread = torch.tensor([5.0, 3.0, 2.0, 1.0, 0.5, 0.2])
    samples = (torch.randn(20000, 6, generator=g) * spread) @ q.T + 3.0  # axis i is q[:, i]
    axes, variances = find.principal_directions(samples, 4)
    assert orthonormal(axes) < 1e-5
    assert torch.all(variances[:-1] > variances[1:])
    assert torch.allclose(variances, spread[:4] ** 2, rtol=0.05)
    cosines = (axes.double() @ q[:, :4].double()).diagonal().abs()
    assert torch.all(cosines > 0.99)


def test_pca_on_a_style_based_generator_is_orthonormal_and_ordered():
    G = tiny_style()
    dirs = find.pca(G, k=5, n=500, seed=0)
    assert [d.name for d in dirs] == [f"pca:{i}" for i in range(5)]
    assert {d.space for d in dirs} == {"w"}
    vectors = torch.stack([d.vector for d in dirs])
    assert vectors.shape == (5, 8) and orthonormal(vectors) < 1e-5
    scales = [d.scale for d in dirs]
    assert scales == sorted(scales, reverse=True)
    # the scale is the spread of sampled w along the direction
    w = find.sample_w(G, 500, 0)
    assert abs((w @ dirs[0].vector).std().item() - dirs[0].scale) < 1e-3 * max(1.0, dirs[0].scale)
    assert find.pca(G, k=5, n=500, seed=0)[2].vector.equal(dirs[2].vector)  # deterministic


def test_pca_on_a_dcgan_maps_early_activations_back_to_z():
    torch.manual_seed(0)
    G = DCGANGenerator(z_dim=8, img_channels=1, img_size=16, base_channels=4, num_classes=3).eval()
    dirs = find.pca(G, k=4, n=400)
    vectors = torch.stack([d.vector for d in dirs])
    assert vectors.shape == (4, 8) and orthonormal(vectors) < 1e-5
    variances = [d.variance for d in dirs]
    assert variances == sorted(variances, reverse=True)
    assert all(0.8 < d.scale < 1.2 for d in dirs)  # z is isotropic: about one along any direction
    first, early = find.latent_layer(G)
    assert first is G.net[0] and early is G.net[2]  # the z-reading conv, then its ReLU (not the embedding)


def test_sefa_on_a_constructed_weight_returns_its_top_eigenvectors():
    g = torch.Generator().manual_seed(1)
    u, _ = torch.linalg.qr(torch.randn(12, 12, generator=g))
    v, _ = torch.linalg.qr(torch.randn(6, 6, generator=g))
    s = torch.tensor([6.0, 4.0, 3.0, 2.0, 1.0, 0.5])
    W = u[:, :6] @ torch.diag(s) @ v.T  # (12, 6): right singular vectors are v's columns
    vectors, values = find.top_eigenvectors(W, 3)
    assert torch.allclose(values, s[:3] ** 2, rtol=1e-4)
    assert torch.all((vectors.double() @ v[:, :3].double()).diagonal().abs() > 1 - 1e-5)


def test_sefa_reads_the_first_latent_weight_of_a_generator():
    torch.manual_seed(0)
    G = MLPGenerator(z_dim=6, img_channels=1, img_size=8, hidden=12, layers=2).eval()
    g = torch.Generator().manual_seed(2)
    v, _ = torch.linalg.qr(torch.randn(6, 6, generator=g))
    u, _ = torch.linalg.qr(torch.randn(12, 12, generator=g))
    s = torch.tensor([9.0, 5.0, 2.0, 1.0, 0.5, 0.1])
    with torch.no_grad():
        G.net[0].weight.copy_(u[:, :6] @ torch.diag(s) @ v.T)
    dirs = find.sefa(G, k=2)
    assert [d.name for d in dirs] == ["sefa:0", "sefa:1"]
    for i, d in enumerate(dirs):
        assert abs(float(d.vector.double() @ v[:, i].double())) > 1 - 1e-4
        assert d.variance == pytest.approx(float(s[i] ** 2), rel=1e-4)


def test_sefa_on_a_conditional_dcgan_ignores_the_label_part():
    torch.manual_seed(0)
    G = DCGANGenerator(z_dim=8, img_channels=1, img_size=16, base_channels=4, num_classes=3).eval()
    weight = G.net[0].weight.detach()[:8].reshape(8, -1).T  # z is concatenated first, then the label
    expected, _ = find.top_eigenvectors(weight, 3)
    dirs = find.sefa(G, k=3)
    for d, e in zip(dirs, expected, strict=True):
        assert abs(float(d.vector @ e)) > 1 - 1e-4


def test_directions_leave_the_infogan_code_entries_of_z_alone():
    """A code is the argmax of z's first entries: a step along them jumps between digits, so pca and
    sefa directions keep those entries at 0 and the rest orthonormal (sefa: W's other columns)."""
    torch.manual_seed(0)
    G = DCGANGenerator(z_dim=8, img_channels=1, img_size=16, base_channels=4, codes=3).eval()
    assert find.generator_facts(G).codes == 3
    for dirs in (find.pca(G, k=4, n=400), find.sefa(G, k=4)):
        vectors = torch.stack([d.vector for d in dirs])
        assert vectors.shape == (4, 8) and orthonormal(vectors) < 1e-5
        assert vectors[:, :3].abs().max() < 1e-6
    weight = G.net[0].weight.detach()[3:].reshape(5, -1).T  # the continuous entries' columns
    expected, _ = find.top_eigenvectors(weight, 4)
    for d, e in zip(find.sefa(G, k=4), expected, strict=True):
        assert abs(float(d.vector[3:] @ e)) > 1 - 1e-4
    assert len(find.sefa(G, k=10)) == 5  # only as many as there are continuous entries


def test_sefa_on_style_layers_and_its_errors():
    G = tiny_style()
    coarse = find.sefa(G, k=3, layers="coarse", n=100)
    assert {d.layers for d in coarse} == {"coarse"} and orthonormal(
        torch.stack([d.vector for d in coarse])
    ) < 1e-5
    all_layers = find.sefa(G, k=3, n=100)
    assert not torch.allclose(coarse[0].vector.abs(), all_layers[0].vector.abs())
    mlp = MLPGenerator(z_dim=6, img_channels=1, img_size=8, hidden=12, layers=2)
    with pytest.raises(ConfigError, match="--layers needs a style-based generator"):
        find.sefa(mlp, layers="coarse")
    with pytest.raises(ConfigError, match="--k 0"):
        find.pca(mlp, k=0)


def test_class_genes_need_a_conditional_model():
    G = DCGANGenerator(z_dim=8, img_channels=1, img_size=16, base_channels=4, num_classes=3)
    genes = find.classes(G, ["a", "b", "c"])
    assert [d.name for d in genes] == ["class:0", "class:1", "class:2"]
    assert genes[1].vector.tolist() == [0.0, 1.0, 0.0] and genes[1].label == "class b"
    with pytest.raises(ConfigError, match="needs a class-conditional model"):
        find.classes(DCGANGenerator(z_dim=8, img_channels=1, img_size=16, base_channels=4))


def test_labels_boundary_recovers_a_planted_attribute():
    g = torch.Generator().manual_seed(3)
    latents = torch.randn(1000, 10, generator=g)
    attribute = torch.nn.functional.normalize(torch.randn(10, generator=g), dim=0)
    scores = latents @ attribute + 0.1 * torch.randn(1000, generator=g)
    normal = find.labels_boundary(latents, scores)
    assert abs(float(normal.norm()) - 1) < 1e-5
    assert float(normal @ attribute) > 0.95  # points toward high scores
    dirs = find.attribute_directions(latents, torch.stack([scores, -scores], 1), ["more", "less"], "z")
    assert float(dirs[0].vector @ dirs[1].vector) < -0.99 and dirs[0].scale == pytest.approx(1.0, abs=0.1)
    with pytest.raises(ConfigError, match="at least 2 samples"):
        find.labels_boundary(latents[:5], scores[:5])


class LabelFirstG(torch.nn.Module):
    """A conditional generator that transforms its label with a dense layer before it reads z."""

    def __init__(self):
        super().__init__()
        self.z_dim, self.num_classes, self.img_size, self.img_channels = 4, 3, 4, 1
        self.label_embed = torch.nn.Embedding(3, 4)
        self.label_proj = torch.nn.Linear(4, 4)
        self.read_z = torch.nn.Linear(4, 16, bias=False)
        self.act = torch.nn.ReLU()

    def forward(self, z, labels):
        h = self.act(self.read_z(z) + self.label_proj(self.label_embed(labels)).repeat(1, 4))
        return torch.tanh(h).view(-1, 1, 4, 4)


def test_the_z_reading_layer_is_found_past_layers_that_only_see_the_label():
    torch.manual_seed(0)
    G = LabelFirstG().eval()
    first, early = find.latent_layer(G)
    assert first is G.read_z and early is G.act
    expected, _ = find.top_eigenvectors(G.read_z.weight.detach(), 2)
    for d, e in zip(find.sefa(G, k=2, n=20), expected, strict=True):
        assert abs(float(d.vector @ e)) > 1 - 1e-4
