"""Style-mixing grids, truncation and W-space interpolation, in Python and on the command line."""

from __future__ import annotations

import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from conftest import tiny_config, tiny_images
from ganforge.cli.app import app
from ganforge.config import DataConfig, RunConfig, TrainConfig
from ganforge.errors import ConfigError
from ganforge.models.dcgan import DCGANGenerator
from ganforge.models.stylegan import StyleGANGenerator
from ganforge.pipelines import GeneratePipeline, InterpolatePipeline, load_generator
from ganforge.pipelines.generate import latents
from ganforge.pipelines.mix import StyleMixPipeline
from ganforge.recipes.stylegan import StyleGANConfig
from ganforge.training.trainer import Trainer

runner = CliRunner()


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def G() -> StyleGANGenerator:
    torch.manual_seed(0)
    G = StyleGANGenerator(z_dim=8, w_dim=8, img_channels=3, img_size=16, channel_base=64, max_channels=8)
    with torch.no_grad():
        G.w_avg.copy_(torch.randn(8))
        for layer in G.convs:
            layer.noise.strength.fill_(0.2)
    return G.eval()


def test_mixing_grid_takes_the_chosen_layers_from_the_column_seed(G):
    out = StyleMixPipeline(G)([1, 2], [3, 4, 5], layers="coarse")
    assert out.mixes.shape == (2, 3, 3, 16, 16) and out.grid.shape == (12, 3, 16, 16) and out.nrow == 4
    assert out.layers == G.layer_indices("coarse") == [0]
    ws = {s: G.mapping(latents(1, 8, s)) for s in (1, 2, 3, 4, 5)}
    for i, row in enumerate([1, 2]):
        for j, col in enumerate([3, 4, 5]):
            expected = ws[row].clone()
            expected[:, out.layers] = ws[col][:, out.layers]
            assert torch.allclose(out.mixes[i, j], G.synthesis(expected).clamp(-1, 1)[0], atol=1e-6)
    assert torch.allclose(out.rows[0], G(latents(1, 8, 1))[0], atol=1e-6)  # parents are plain samples
    assert torch.equal(out.grid[0], torch.ones(3, 16, 16))  # blank corner
    assert torch.equal(out.grid[1:4], out.cols) and torch.equal(out.grid[4], out.rows[0])
    everything = StyleMixPipeline(G)([1, 2], [3, 4, 5], layers="coarse,middle,fine")
    assert torch.allclose(everything.mixes[1], everything.cols, atol=1e-6)  # all layers: the column's image
    fine = StyleMixPipeline(G)([1, 2], [3, 4, 5], layers="fine")
    assert fine.layers == [3, 4, 5] and not torch.allclose(fine.mixes, out.mixes)


def test_mixing_errors(G):
    with pytest.raises(ConfigError, match="unknown layer group 'huge'"):
        StyleMixPipeline(G)([1], [2], layers="huge")
    with pytest.raises(ConfigError, match="at least one row seed"):
        StyleMixPipeline(G)([], [2])
    with pytest.raises(ConfigError, match="style mixing needs a style-based generator"):
        StyleMixPipeline(DCGANGenerator(z_dim=8, img_channels=1, img_size=8, base_channels=4))


def test_truncation_in_the_generate_pipeline(G):
    pipe = GeneratePipeline(G)
    average = pipe(5, seed=0, truncation_psi=0.0).images
    assert all(torch.equal(image, average[0]) for image in average)
    plain = pipe(5, seed=0).images
    assert torch.equal(plain, pipe(5, seed=0, truncation_psi=1.0).images)
    assert not torch.allclose(plain[0], plain[1])
    dcgan = GeneratePipeline(DCGANGenerator(z_dim=8, img_channels=1, img_size=8, base_channels=4))
    with pytest.raises(ConfigError, match="--truncation needs a style-based generator"):
        dcgan(2, truncation_psi=0.7)


def test_interpolation_runs_linearly_in_w_for_style_based_generators(G):
    out = InterpolatePipeline(G)([1, 2, 3], frames_between=4)
    assert out.space == "w" and out.frames.shape == (9, 3, 16, 16) and out.w.shape == (9, 8)
    keys = GeneratePipeline(G)(1, seed=1).images, GeneratePipeline(G)(1, seed=2).images
    assert torch.allclose(out.frames[0], keys[0][0], atol=1e-6) and torch.allclose(
        out.frames[4], keys[1][0], atol=1e-6
    )
    w1, w2 = G.mapping(latents(1, 8, 1))[0, 0], G.mapping(latents(1, 8, 2))[0, 0]
    assert torch.allclose(out.w[2], (w1 + w2) / 2, atol=1e-6)  # half-way in W, not in Z
    truncated = InterpolatePipeline(G)([1, 2], frames_between=2, truncation_psi=0.0)
    assert torch.allclose(truncated.frames[0], truncated.frames[-1])
    z_walk = InterpolatePipeline(G)([1, 2], frames_between=2, space="z")
    assert z_walk.space == "z" and z_walk.w is None and z_walk.frames.shape == (3, 3, 16, 16)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny trained stylegan run and a tiny dcgan run."""
    root = tmp_path_factory.mktemp("runs")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    cfg = RunConfig(
        name="tiny-stylegan",
        recipe="stylegan",
        data=DataConfig(source="tiny", size=16),
        train=TrainConfig(
            steps=2, batch_size=4, sample_every=2, checkpoint_every=2, n_samples=4, device="cpu"
        ),
        model=StyleGANConfig(z_dim=8, w_dim=8, mapping_layers=2, channel_base=64, max_channels=8),
    ).validate()
    Trainer(
        cfg, root / "style", data=tiny_images(size=16, channels=3), progress=False, tensorboard=False
    ).fit()
    dcgan = tiny_config("dcgan", steps=2)
    Trainer(dcgan, root / "dcgan", data=tiny_images(), progress=False, tensorboard=False).fit()
    torch.set_num_threads(threads)
    return root


def test_cli_mix_sample_and_interpolate_with_truncation(runs, tmp_path):
    style = runs / "style"
    result = runner.invoke(
        app,
        [
            "mix",
            str(style),
            "--rows",
            "1,2",
            "--cols",
            "3",
            "--layers",
            "fine",
            "--out",
            str(tmp_path / "m.png"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "m.png").size == (
        2 * 18 + 2,
        3 * 18 + 2,
    )  # (cols + 1) x (rows + 1), 16 px + 2
    result = runner.invoke(
        app,
        ["sample", str(style), "--n", "3", "--truncation", "0", "--separate", "--out", str(tmp_path / "s")],
    )
    assert result.exit_code == 0, result.output
    files = sorted((tmp_path / "s").iterdir())
    assert len(files) == 3 and len({f.read_bytes() for f in files}) == 1  # psi = 0: the same average image
    result = runner.invoke(
        app, ["interpolate", str(style), "--seeds", "1,2", "--frames", "2", "--truncation", "0.7",
              "--out", str(tmp_path / "w.gif")]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "w.gif").n_frames == 3
    G = load_generator(style).G
    assert hasattr(G, "w_avg") and G.w_avg.abs().sum() > 0  # the bundle carries the tracked average


def test_cli_refuses_truncation_and_mixing_on_other_models(runs, tmp_path):
    dcgan = str(runs / "dcgan")
    result = runner.invoke(app, ["sample", dcgan, "--truncation", "0.5", "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 1 and "--truncation needs a style-based generator" in str(result.exception)
    result = runner.invoke(app, ["mix", dcgan, "--out", str(tmp_path / "x.png")])
    assert result.exit_code == 1 and "style mixing needs a style-based generator" in str(result.exception)
    result = runner.invoke(app, ["mix", str(runs / "style"), "--rows", "a,b"])
    assert result.exit_code == 1 and "--rows 'a,b' must be comma-separated integers" in str(result.exception)
    assert not (tmp_path / "x.png").exists()
