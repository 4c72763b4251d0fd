import pytest
import torch

from conftest import tiny_config, tiny_images
from ganforge.errors import CheckpointError, ConfigError
from ganforge.pipelines import GeneratePipeline, InterpolatePipeline, load_generator
from ganforge.pipelines.interpolate import slerp
from ganforge.training.trainer import Trainer


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run = tmp_path_factory.mktemp("p") / "run"
    Trainer(
        tiny_config(steps=4, conditional=True), run, data=tiny_images(), progress=False, tensorboard=False
    ).fit()
    return run


def test_load_from_run_bundle_and_checkpoint_agree(run):
    z = torch.randn(3, 8, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0, 1, 1])
    outs = []
    for source in (run, run / "bundle", run / "checkpoints" / "step-000004.pt"):
        outs.append(load_generator(source).G(z, labels))
    assert torch.equal(outs[0], outs[1]) and torch.equal(outs[0], outs[2])
    with pytest.raises(CheckpointError, match="does not exist"):
        load_generator(run / "nope")


def test_generate_is_deterministic_and_batched(run):
    pipe = GeneratePipeline(load_generator(run).G)
    a = pipe(10, seed=5, batch_size=3)
    b = pipe(10, seed=5, batch_size=64)
    assert a.images.shape == (10, 1, 8, 8)
    assert torch.allclose(a.images, b.images, atol=1e-6)
    assert not torch.equal(a.images, pipe(10, seed=6).images)
    assert a.labels.tolist() == [0, 1] * 5
    sevens = pipe(4, seed=5, class_index=1)
    assert sevens.labels.tolist() == [1, 1, 1, 1]
    with pytest.raises(ConfigError, match="out of range; this model has classes 0..1"):
        pipe(2, class_index=2)


def test_interpolation_passes_through_the_seeds(run):
    G = load_generator(run).G
    out = InterpolatePipeline(G)([1, 2, 3], frames_between=4, class_index=0)
    assert out.frames.shape == (9, 1, 8, 8)
    gen = GeneratePipeline(G)
    for index, seed in ((0, 1), (4, 2), (8, 3)):
        assert torch.allclose(out.frames[index], gen(1, seed=seed, class_index=0).images[0], atol=1e-6)
    with pytest.raises(ConfigError, match="at least two seeds"):
        InterpolatePipeline(G)([1])


def test_slerp_endpoints_and_norm():
    a, b = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 2.0]])
    t = torch.tensor([0.0, 0.5, 1.0])
    path = slerp(a.expand(3, -1), b.expand(3, -1), t)
    assert torch.allclose(path[0], a[0]) and torch.allclose(path[2], b[0], atol=1e-6)
    # halfway between orthogonal vectors: 45 degrees, each coordinate sin(pi/4) times its norm
    assert torch.allclose(path[1], torch.tensor([2**-0.5, 2 * 2**-0.5]), atol=1e-6)


def test_every_pipeline_is_importable_from_the_package():
    import ganforge.pipelines as pipelines
    from ganforge.pipelines.upscale import UpscalePipeline

    assert pipelines.UpscalePipeline is UpscalePipeline
    assert all(callable(getattr(pipelines, name)) for name in pipelines.__all__)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        pipelines.Nope  # noqa: B018


def test_bf16_sampling_is_close_to_float32(run):
    exact = GeneratePipeline(load_generator(run).G)(16, seed=3).images
    fast = GeneratePipeline(load_generator(run).G, precision="bf16")(16, seed=3).images
    assert fast.dtype == torch.float32 and fast.shape == exact.shape
    assert 0 < (fast - exact).abs().max() < 0.05  # bf16 ran, and kept about 3 significant digits
    with pytest.raises(ConfigError, match="--precision 'fp16' is not one of auto, fp32, bf16"):
        GeneratePipeline(load_generator(run).G, precision="fp16")
