"""ONNX (run through onnxruntime) and TorchScript exports give PyTorch's outputs on random inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from conftest import tiny_config, tiny_images
from ganforge.bundle import load_bundle, write_bundle
from ganforge.config import DataConfig, RunConfig
from ganforge.errors import CheckpointError, ConfigError
from ganforge.export import ExportError, export_bundle, export_model
from ganforge.recipes.base import ModelSpec
from ganforge.registry import create_model, load_all
from ganforge.training.trainer import Trainer

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def generator_bundle(tmp_path_factory):
    """A class-conditional tiny DCGAN trained 3 steps: its generator takes z and labels."""
    run = tmp_path_factory.mktemp("export") / "run"
    cfg = tiny_config(steps=3, conditional=True)
    Trainer(cfg, run, data=tiny_images(classes=3), progress=False, tensorboard=False).fit()
    return run / "bundle"


@pytest.fixture(scope="module")
def translation_bundle(tmp_path_factory):
    """A two-way translation bundle like CycleGAN's: G_AB a U-Net, G_BA a ResNet generator."""
    load_all()
    torch.manual_seed(0)
    specs = {
        "G_AB": ModelSpec("unet.G", dict(in_channels=3, out_channels=3, base_channels=4, depth=3)),
        "G_BA": ModelSpec("resnet.G", dict(in_channels=3, out_channels=3, base_channels=4, n_blocks=1)),
    }
    models = {name: spec.build().eval() for name, spec in specs.items()}
    for m in models.values():  # move BatchNorm statistics off their defaults so they matter
        with torch.no_grad():
            m.train()(torch.rand(4, 3, 16, 16) * 2 - 1)
        m.eval()
    cfg = RunConfig(
        name="tiny-cyclegan", recipe="cyclegan", data=DataConfig(source="tiny", size=16, channels=3)
    )
    folder = tmp_path_factory.mktemp("export-i2i") / "bundle"
    return write_bundle(folder, cfg, models, specs, None, step=1, images_seen=1)


def onnx_run(path, feeds):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return torch.from_numpy(session.run(None, {k: v.numpy() for k, v in feeds.items()})[0])


def test_generator_exports_match_pytorch(generator_bundle, tmp_path):
    G = load_bundle(generator_bundle).models["G_ema"]
    g = torch.Generator().manual_seed(123)
    z = torch.randn(5, G.z_dim, generator=g)  # a batch size the export never saw
    labels = torch.tensor([0, 2, 1, 1, 0])
    expected = G(z, labels)

    results = {
        r.format: r for fmt in ("onnx", "torchscript") for r in export_bundle(generator_bundle, tmp_path, fmt)
    }
    onnx, ts = results["onnx"], results["torchscript"]
    assert onnx.path == tmp_path / "G_ema.onnx" and ts.path == tmp_path / "G_ema.torchscript.pt"
    assert onnx.ok and ts.ok and onnx.max_abs_diff < 1e-5 and ts.max_abs_diff < 1e-5
    assert onnx.checks == ["z (3, 8), labels (3,)"]

    got = onnx_run(onnx.path, {"z": z, "labels": labels})
    assert got.shape == (5, 1, 8, 8)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)
    scripted = torch.jit.load(str(ts.path))
    torch.testing.assert_close(scripted(z, labels), expected, atol=1e-6, rtol=0)

    described = json.loads((tmp_path / "G_ema.onnx.json").read_text())
    assert described["kind"] == "generator" and described["registry_name"] == "dcgan.G"
    assert described["inputs"] == [
        {"name": "z", "shape": ["batch", 8], "dtype": "float32"},
        {"name": "labels", "shape": ["batch"], "dtype": "int64"},
    ]
    assert described["outputs"][0]["shape"] == ["batch", 1, 8, 8]
    assert described["parity"]["max_abs_diff"] == pytest.approx(onnx.max_abs_diff)
    assert described["file"] == "G_ema.onnx" and described["parity"]["inputs"] == onnx.checks
    assert json.loads((tmp_path / "G_ema.torchscript.json").read_text())["file"] == "G_ema.torchscript.pt"


def test_a_generator_with_infogan_codes_exports_its_argmax_and_one_hot(tmp_path):
    """The default preset's G reads a code off z (argmax, one-hot): both formats must keep it."""
    torch.manual_seed(0)
    G = create_model("dcgan.G", z_dim=16, img_channels=1, img_size=16, base_channels=4, codes=10).eval()
    z = torch.randn(6, 16, generator=torch.Generator().manual_seed(5))
    z[:, :10] = torch.eye(10)[[0, 3, 9, 3, 7, 1]] * 3  # six chosen codes
    for fmt in ("onnx", "torchscript"):
        result = export_model(G, "G", tmp_path, fmt, registry_name="dcgan.G")
        assert result.ok and result.max_abs_diff < 1e-5, fmt
    got = onnx_run(tmp_path / "G.onnx", {"z": z})
    assert float((got - G(z).detach()).abs().max()) < 1e-5


@pytest.mark.parametrize("extra", [{}, dict(noise=True, double_at=[8])], ids=["plain", "noise"])
def test_a_spectral_norm_generator_exports_with_its_weights_folded(tmp_path, extra):
    """fastgan.G has spectral norm on every conv: the exports carry the normalized weights (ONNX has
    no op for the power iteration's aten::vdot), and the model itself is left as it was. With noise,
    the export is the sampling G: its fixed noise maps."""
    torch.manual_seed(0)
    G = create_model("fastgan.G", z_dim=8, img_size=32, channel_base=64, max_channels=8, **extra)
    with torch.no_grad():
        G.train()(torch.randn(8, 8))  # move BatchNorm statistics and the power iteration on
        for name, p in G.named_parameters():
            if name.endswith("strength"):
                p.fill_(0.5)  # noise that shows in the output
    G.eval()
    z = torch.randn(5, 8, generator=torch.Generator().manual_seed(5))
    before = G(z).detach()
    for fmt in ("onnx", "torchscript"):
        result = export_model(G, "G", tmp_path, fmt, registry_name="fastgan.G")
        assert result.ok and result.max_abs_diff < 1e-4, fmt
    got = onnx_run(tmp_path / "G.onnx", {"z": z})
    assert float((got - before).abs().max()) < 1e-4
    assert torch.equal(G(z).detach(), before)  # still spectral-normalized, still the same model
    assert hasattr(G.init, "parametrizations")


def test_image_to_image_exports_keep_height_and_width_free(translation_bundle, tmp_path):
    bundle = load_bundle(translation_bundle)
    g = torch.Generator().manual_seed(7)
    x = torch.rand(2, 3, 24, 40, generator=g) * 2 - 1  # non-square; multiples of 8 (U-Net depth 3) and 4
    for fmt, names in (("onnx", None), ("torchscript", ["G_AB"])):
        results = export_bundle(translation_bundle, tmp_path / fmt, fmt, models=names)
        assert [r.name for r in results] == (names or ["G_AB", "G_BA"])  # both directions by default
        for r in results:
            assert r.ok, (r.name, r.max_abs_diff)
            assert r.signature.free_spatial and r.signature.inputs[0]["shape"] == [
                "batch",
                3,
                "height",
                "width",
            ]
            assert len(r.checks) == 2  # another batch size, then another image shape
            expected = bundle.models[r.name](x)
            got = onnx_run(r.path, {"images": x}) if fmt == "onnx" else torch.jit.load(str(r.path))(x)
            assert got.shape == (2, 3, 24, 40)
            torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


def test_upscaler_export_reports_the_scaled_output(tmp_path):
    load_all()
    torch.manual_seed(1)
    sr = create_model("srresnet.G", img_channels=3, channels=4, blocks=1, scale=2).eval()
    result = export_model(sr, "G", tmp_path, "onnx", registry_name="srresnet.G")
    assert result.ok and result.signature.outputs[0]["shape"] == ["batch", 3, "height*2", "width*2"]
    x = torch.rand(1, 3, 9, 13) * 2 - 1
    got = onnx_run(result.path, {"images": x})
    assert got.shape == (1, 3, 18, 26)
    np.testing.assert_allclose(got.numpy(), sr(x).detach().numpy(), atol=1e-5)


def test_a_failed_parity_check_is_reported(generator_bundle, tmp_path, monkeypatch):
    import ganforge.export as export

    real = export._runner
    monkeypatch.setattr(export, "_runner", lambda *a: lambda *x: real(*a)(*x) + 0.01)  # a broken runtime
    (result,) = export_bundle(generator_bundle, tmp_path, "torchscript")
    assert not result.ok and result.max_abs_diff == pytest.approx(0.01, abs=1e-5)


def test_bad_requests_are_one_line_errors(generator_bundle, tmp_path):
    with pytest.raises(ConfigError, match="--format 'tflite' is not one of onnx, torchscript"):
        export_bundle(generator_bundle, tmp_path, "tflite")
    with pytest.raises(ConfigError, match="--model D: the bundle holds G_ema"):
        export_bundle(generator_bundle, tmp_path, "onnx", models=["D"])
    with pytest.raises(CheckpointError, match="does not exist"):
        export_bundle(tmp_path / "nowhere", tmp_path, "onnx")
    D = create_model("dcgan.D", img_channels=1, img_size=8, base_channels=4)
    with pytest.raises(ExportError, match="neither a generator nor an image-to-image model"):
        export_model(D, "D", tmp_path)
    assert not (tmp_path / "D.onnx").exists()
