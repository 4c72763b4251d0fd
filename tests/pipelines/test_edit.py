"""EditPipeline: exact unedited images, linear moves, class genes, layer groups, latent inputs, and
an attribute direction fitted on real digits (InterFaceGAN) that raises the classifier's score."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from conftest import StrokeG
from ganforge.editing.directions import pca
from ganforge.editing.store import DirectionSet
from ganforge.errors import ConfigError
from ganforge.models.dcgan import DCGANGenerator
from ganforge.models.stylegan import StyleGANGenerator
from ganforge.pipelines import GeneratePipeline
from ganforge.pipelines.edit import EditPipeline, parse_genes, parse_range


def dcgan(num_classes: int = 0) -> DCGANGenerator:
    torch.manual_seed(0)
    return DCGANGenerator(
        z_dim=8, img_channels=1, img_size=16, base_channels=4, num_classes=num_classes
    ).eval()


def style() -> StyleGANGenerator:
    torch.manual_seed(0)
    G = StyleGANGenerator(
        z_dim=8, w_dim=8, img_channels=3, img_size=16, channel_base=64, max_channels=8, mapping_layers=2
    ).eval()
    G.w_avg.normal_()  # so that truncation does something
    return G


def pipe_with_pca(G: nn.Module, k: int = 3) -> EditPipeline:
    return EditPipeline(G, DirectionSet({d.name: d for d in pca(G, k=k, n=200)}))


@pytest.mark.parametrize("make", [dcgan, lambda: dcgan(3), style])
def test_strength_zero_is_the_unedited_image_exactly(make):
    G = make()
    pipe = pipe_with_pca(G)
    for seed in (0, 3):
        unedited = GeneratePipeline(G)(1, seed=seed).images
        assert pipe(seed=seed, genes={"pca:0": 0.0, "pca:2": 0.0}).images.equal(unedited)
        assert pipe(seed=seed).images.equal(unedited)
        strip = pipe.strip("pca:1", [-1.0, 0.0, 1.0], seed=seed).images
        assert strip[1:2].equal(unedited) and not strip[0].equal(strip[1])


def test_an_edit_moves_z_by_strength_times_scale():
    G = dcgan()
    pipe = pipe_with_pca(G)
    d = pipe.directions["pca:1"]
    z = torch.randn(1, 8, generator=torch.Generator().manual_seed(5))
    expected = G(z + 2.5 * d.scale * d.vector)
    assert torch.allclose(pipe(seed=5, genes={"pca:1": 2.5}).images, expected, atol=1e-6)
    out = pipe(seed=5, genes={"pca:0": 1.0, "pca:1": -1.0})
    assert out.genes == [{"pca:0": 1.0, "pca:1": -1.0}]


def test_a_class_gene_of_one_is_the_conditional_sample_of_that_class():
    G = dcgan(3)
    pipe = EditPipeline(G)
    assert [d.name for d in pipe.available()] == ["class:0", "class:1", "class:2"]  # without saving them
    for k in range(3):
        sample = GeneratePipeline(G)(1, seed=4, class_index=k).images
        assert pipe(seed=4, class_index=0, genes={f"class:{k}": 1.0}).images.equal(sample)
    # a 60/40 mixture is the generator with the mixed embedding in place of the class's own
    mixed = pipe(seed=4, class_index=1, genes={"class:2": 0.6}).images
    embed = G.label_embed.weight.detach()
    with torch.no_grad():
        G.label_embed.weight[1] = 0.4 * embed[1] + 0.6 * embed[2]
    by_hand = GeneratePipeline(G)(1, seed=4, class_index=1).images
    assert torch.allclose(mixed, by_hand, atol=1e-6)
    with torch.no_grad():
        G.label_embed.weight.copy_(embed)
    # over 100% in all: the genes are normalized and the image's own class gets nothing
    assert torch.allclose(
        pipe(seed=4, class_index=0, genes={"class:1": 1.0, "class:2": 1.0}).images,
        pipe(seed=4, class_index=2, genes={"class:1": 0.5}).images,
        atol=1e-6,
    )
    with pytest.raises(ConfigError, match=r"class gene 'class:1': 1.5 must lie in \[0, 1\]"):
        pipe(seed=4, genes={"class:1": 1.5})
    with pytest.raises(ConfigError, match="class genes need a class-conditional model"):
        EditPipeline(dcgan())(genes={"class:1": 0.5})


def test_layer_groups_limit_a_style_edit():
    G = style()
    pipe = pipe_with_pca(G)
    base = pipe(seed=1).images
    coarse = pipe(seed=1, genes={"pca:0": 3.0}, layers="coarse").images
    fine = pipe(seed=1, genes={"pca:0": 3.0}, layers="fine").images
    every = pipe(seed=1, genes={"pca:0": 3.0}).images
    assert len({tuple(x.flatten()[:50].tolist()) for x in (base, coarse, fine, every)}) == 4
    d = pipe.directions["pca:0"]
    ws = G.mapping(torch.randn(1, 8, generator=torch.Generator().manual_seed(1)))
    index = G.layer_indices("fine")
    ws[:, index] += 3.0 * d.scale * d.vector
    assert torch.allclose(fine, G.synthesis(ws).clamp(-1, 1), atol=1e-6)
    with pytest.raises(ConfigError, match="--layers 'top'"):
        pipe(seed=1, genes={"pca:0": 1.0}, layers="top")
    with pytest.raises(ConfigError, match="--layers needs a style-based generator"):
        pipe_with_pca(dcgan())(genes={"pca:0": 1.0}, layers="coarse")


def test_latents_of_every_space_render_unedited_exactly():
    G = style()
    pipe = pipe_with_pca(G)
    z = torch.randn(8, generator=torch.Generator().manual_seed(2))
    assert pipe(latent=z, space="z").images.equal(G(z[None]))
    zz = torch.randn(3, 8, generator=torch.Generator().manual_seed(3))
    assert pipe(latent=zz, space="z+").images.equal(G.forward_groups(zz[None]))
    ws = G.mapping(z[None])
    assert pipe(latent=ws[0], space="w+").images.equal(G.synthesis(ws).clamp(-1, 1))
    assert pipe(latent=ws[0, 0], space="w").images.equal(G.synthesis(ws).clamp(-1, 1))
    assert pipe(seed=2, truncation_psi=0.5).images.equal(
        GeneratePipeline(G)(1, seed=2, truncation_psi=0.5).images
    )
    with pytest.raises(ConfigError, match=r"a w\+ latent of this generator has shape \(6, 8\), got \(8,\)"):
        pipe(latent=z, space="w+")
    with pytest.raises(ConfigError, match="this generator edits z latents of 8 values"):
        pipe_with_pca(dcgan())(latent=torch.zeros(5))


def test_gene_and_range_errors():
    pipe = pipe_with_pca(dcgan())
    with pytest.raises(ConfigError, match="unknown direction 'smile'; this model has: pca:0, pca:1, pca:2"):
        pipe(genes={"smile": 1.0})
    with pytest.raises(ConfigError, match="must be a finite number within"):
        pipe(genes={"pca:0": float("nan")})
    with pytest.raises(ConfigError, match="none yet; run `ganforge directions RUN --method pca` first"):
        EditPipeline(dcgan())(genes={"pca:0": 1.0})
    assert parse_genes("pca:0=2, class:7=0.6,thick=-1.5") == {"pca:0": 2.0, "class:7": 0.6, "thick": -1.5}
    for bad in ("pca:0", "=2", "pca:0=two", ","):
        with pytest.raises(ConfigError, match="--apply"):
            parse_genes(bad)
    assert parse_range("-3,3") == (-3.0, 3.0)
    for bad in ("3,-3", "1", "a,b", "-inf,2", "0,1000"):
        with pytest.raises(ConfigError, match="--range"):
            parse_range(bad)


def test_a_thickness_direction_fitted_on_digits_raises_the_score_along_the_slider():
    from ganforge.editing.attributes import label_directions

    torch.set_num_threads(1)
    G = StrokeG()
    dirs, classifier = label_directions(G, "thickness", n=400)  # classifier trained on real MNIST strokes
    assert [d.name for d in dirs] == ["thin", "thick"]
    assert classifier.held_out_accuracy > 0.85
    thick = dirs[1].vector
    assert float(thick[0]) > 0.8  # mostly the width coordinate
    pipe = EditPipeline(G, DirectionSet({d.name: d for d in dirs}))
    rising = 0
    for seed in range(40):
        scores = classifier.scores(pipe.strip("thick", [-2, -1, 0, 1, 2], seed=seed).images)[:, 1]
        rising += bool((scores[1:] > scores[:-1]).all())
    assert rising >= 24  # most seeds (measured: ~78%)
