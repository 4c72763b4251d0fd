"""The srgan recipe: both stages on tiny data, init_from, exact resume across the lr decay, the
perceptual losses, and a short SRResNet training that beats bicubic on held-out offline images."""

import json
import sys

import pytest
import torch
from PIL import Image

from conftest import tiny_config
from ganforge import console
from ganforge.config import DataConfig
from ganforge.data.dataset import ImageData
from ganforge.errors import ConfigError, DataError
from ganforge.nn import perceptual
from ganforge.recipes.srgan import SRGANConfig
from ganforge.training.trainer import Trainer

SMALL = dict(scale=2, crop=16, channels=4, blocks=1, d_channels=4, d_dense=8, holdout=0)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models gain nothing from more threads and lose a lot on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def photos(n=32, c=3, size=16, seed=0):
    """Smooth random color fields: something with structure to upscale."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, c, size // 4, size // 4, generator=g) * 255
    images = torch.nn.functional.interpolate(low, size=(size, size), mode="bilinear")
    return ImageData(images.round().to(torch.uint8), None, None, "photos")


def make(run_dir, steps=6, data=None, **model):
    cfg = tiny_config("srgan", steps=steps, **{**SMALL, **model})
    return Trainer(cfg, run_dir, data=data or photos(), progress=False, tensorboard=False)


@pytest.fixture(scope="module")
def psnr_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("sr") / "psnr"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    make(run).fit()
    torch.set_num_threads(threads)
    return run


def test_psnr_stage_logs_pixel_psnr_and_writes_a_g_only_bundle(psnr_run):
    lines = [json.loads(line) for line in (psnr_run / "log.jsonl").read_text().splitlines()]
    logged = [line for line in lines if "G_mse" in line]
    assert [line["step"] for line in logged] == [2, 4, 6]
    for line in logged:
        assert line["psnr"] == pytest.approx(
            10 * torch.log10(torch.tensor(4 / line["G_mse"])).item(), abs=1.5
        )
        assert 10 < line["psnr_bicubic"] < 60
    meta = json.loads((psnr_run / "bundle" / "model.json").read_text())
    assert list(meta["models"]) == ["G"] and meta["models"]["G"]["registry_name"] == "srresnet.G"
    assert meta["models"]["G"]["kwargs"]["scale"] == 2
    assert "| loss | pixel MSE (SRResNet) |" in (psnr_run / "bundle" / "README.md").read_text()
    with Image.open(psnr_run / "bundle" / "samples.png") as grid:  # 8 rows of bicubic | SR | HR, 16 px
        assert grid.size == (3 * 18 + 2, 8 * 18 + 2)


def test_gan_stage_starts_from_the_psnr_generator_and_resolves_auto(psnr_run, tmp_path, monkeypatch):
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path / "cache"))  # no cached VGG19
    monkeypatch.setenv(perceptual.OFFLINE_ENV, "1")
    warnings = []
    monkeypatch.setattr(console, "warn", warnings.append)
    monkeypatch.setattr("ganforge.recipes.srgan.warn", warnings.append)
    run = tmp_path / "gan"
    trainer = make(run, stage="gan", init_from=str(psnr_run), perceptual="auto")
    from safetensors.torch import load_file

    start = load_file(str(psnr_run / "bundle" / "G.safetensors"))
    assert all(torch.equal(v, start[k]) for k, v in trainer.recipe.G.state_dict().items())
    assert [p.name for p in trainer.phases] == ["D_main", "G_main"]
    assert any("VGG19 weights unavailable" in w and "effnet-lite0" in w for w in warnings)
    trainer.fit()
    saved = json.loads((run / "config.json").read_text())["model"]
    assert saved["perceptual"] == "effnet-lite0"  # what "auto" resolved to is what the run records
    card = (run / "bundle" / "README.md").read_text()
    assert "EffNet-Lite0 blocks 2,4,7,10 perceptual x0.006 + ns adversarial x0.001" in card
    logged = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert {"D_loss", "G_content", "G_adv", "psnr"} <= set(logged[-2])
    assert logged[-2]["G_content"] > 0


def test_init_from_is_checked(psnr_run, tmp_path):
    with pytest.raises(ConfigError, match="does not exist; give a psnr-stage run directory or bundle"):
        make(tmp_path / "a", init_from=str(tmp_path / "nowhere"))
    (tmp_path / "unfinished").mkdir()
    with pytest.raises(ConfigError, match="holds no bundle .* ganforge train --resume"):
        make(tmp_path / "b", init_from=str(tmp_path / "unfinished"))
    with pytest.raises(ConfigError, match="blocks=1 there, 2 here"):
        make(tmp_path / "c", init_from=str(psnr_run), blocks=2)
    other = tmp_path / "dcgan"
    other.mkdir()
    (other / "model.json").write_text(
        json.dumps({"recipe": "dcgan", "models": {"G": {"registry_name": "dcgan.G"}}})
    )
    with pytest.raises(ConfigError, match="is not an srgan run"):
        make(tmp_path / "d", init_from=str(other))


def test_bad_settings_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="model.crop=32 does not fit in the 16x16 training images"):
        make(tmp_path / "a", crop=32)
    cases = [
        (dict(scale=3), "model.scale=3 is not supported; use 2 or 4"),
        (dict(scale=4, crop=18), "model.crop=18 must be a multiple of model.scale=4"),
        (dict(stage="gan", crop=24), "needs a multiple of 16"),
        (dict(lr_decay_step=-1), "model.lr_decay_step=-1 must be >= 0"),
    ]
    for fields, message in cases:
        with pytest.raises(ConfigError, match=message):
            SRGANConfig(**{**SMALL, **fields}).validate()


def state_tensors(trainer):
    state = trainer.state_dict()
    out = {f"models.{n}.{k}": v for n, sd in state["models"].items() for k, v in sd.items()}
    for name, sd in state["optimizers"].items():
        out |= {f"opt.{name}.{i}.{k}": v for i, s in sd["state"].items() for k, v in s.items()}
    return out


@pytest.mark.parametrize("split", [3, 6])  # before and after the learning-rate drop at step 4
def test_gan_stage_resumes_bit_exactly_across_the_lr_decay(tmp_path, split):
    kw = dict(stage="gan", content_loss="mse", lr_decay_step=4)
    whole = make(tmp_path / "whole", steps=8, **kw)
    whole.fit()
    make(tmp_path / "split", steps=split, **kw).fit()
    second = make(tmp_path / "split", steps=8, **kw)
    assert second.fit().step == 8
    a, b = state_tensors(whole), state_tensors(second)
    assert a.keys() == b.keys()
    assert [k for k in a if not torch.equal(a[k], b[k])] == []
    for trainer in (whole, second):
        assert [o.param_groups[0]["lr"] for o in trainer.recipe.optimizers.values()] == pytest.approx(
            [1e-5, 1e-5]
        )


def test_vgg19_perceptual_loss_with_random_weights():
    loss = perceptual.perceptual_loss("vgg19", random_init=True)
    assert loss.network == "vgg19" and loss.name == "vgg19 relu5_4 (random init, not ImageNet)"
    real = torch.rand(2, 3, 32, 32) * 2 - 1
    fake = (real + 0.3 * torch.randn(2, 3, 32, 32)).requires_grad_(True)
    maps = loss.extract(real)
    assert len(maps) == 1 and maps[0].shape == (2, 512, 2, 2)  # relu5_4: stride 16, after a ReLU
    assert (maps[0] >= 0).all()
    assert loss(real, real).item() == 0.0
    value = loss(fake, real)
    value.backward()
    assert value.item() > 0 and fake.grad.abs().sum() > 0
    gray = loss(real[:, :1], real[:, :1])
    assert gray.item() == 0.0  # gray images are repeated to RGB


def torchvision_style_state(net, path):
    """A file laid out like torchvision's vgg19 weights: features.N.* plus classifier.* keys."""
    state = {f"features.{k}": v for k, v in net.state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(2, 2)
    torch.save(state, path)


def test_vgg19_weights_load_from_a_torchvision_file_and_download_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(perceptual, "VGG19_LAYER", 4)  # conv1_1, relu, conv1_2, relu: a small file
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(perceptual.OFFLINE_ENV, raising=False)
    source = perceptual.vgg19_features(random_init=True)
    for p in source.parameters():
        p.data.add_(1.0)  # not the random init, so loading is visible
    torchvision_style_state(source, tmp_path / "local.pth")
    local = perceptual.vgg19_features(weights=tmp_path / "local.pth")
    x = torch.rand(1, 3, 8, 8)
    assert torch.equal(local(x), source(x)) and not any(p.requires_grad for p in local.parameters())

    calls = []

    def fake_download(url, dest, sha256, timeout=60.0):
        calls.append((url, dest, sha256))
        dest.parent.mkdir(parents=True, exist_ok=True)
        torchvision_style_state(source, dest)
        return dest

    monkeypatch.setattr(sys.modules["ganforge.data.download"], "download", fake_download)
    downloaded = perceptual.vgg19_features()
    expected = tmp_path / "cache" / "weights" / "vgg19-dcbb9e9d.pth"
    assert calls == [(perceptual.VGG19_URL, expected, perceptual.VGG19_SHA256)]
    assert len(perceptual.VGG19_SHA256) == 64 and perceptual.VGG19_SHA256.startswith("dcbb9e9d")
    assert torch.equal(downloaded(x), source(x))
    perceptual.vgg19_features()
    assert len(calls) == 1  # the second time it comes from the cache

    named = perceptual.vgg19_loss(weights=str(tmp_path / "local.pth"))
    assert named.name.startswith("vgg19 relu5_4 (local weights local.pth, sha256 ")  # not called ImageNet

    (tmp_path / "bad.pth").write_bytes(b"not a state dict")
    with pytest.raises(DataError, match="is not torchvision's VGG19 state dict"):
        perceptual.vgg19_features(weights=tmp_path / "bad.pth")
    with pytest.raises(DataError, match="do not exist"):
        perceptual.vgg19_features(weights=tmp_path / "missing.pth")


def test_short_srresnet_training_beats_bicubic_on_heldout_offline_images(tmp_path):
    """x2 on the offline lfw-mini faces (25x25, 20 held out); the trainer's held-out evaluation."""
    cfg = tiny_config("srgan", steps=120, scale=2, crop=16, channels=16, blocks=2, norm="none")
    cfg.model.bicubic_skip, cfg.model.lr_g, cfg.model.holdout = True, 1e-3, 20
    cfg.data = DataConfig(source="lfw-mini", size=25)
    cfg.train.batch_size, cfg.train.log_every, cfg.train.checkpoint_every = 16, 40, 1000
    result = Trainer(cfg, tmp_path / "run", progress=False, tensorboard=False).fit()
    m = result.metrics
    assert m["heldout_images"] == 20 and m["border_px"] == 2
    assert m["psnr_y"] > m["bicubic_psnr_y"] + 0.3
    assert m["psnr_rgb"] > m["bicubic_psnr_rgb"] + 0.3
    assert m["ssim_y"] > m["bicubic_ssim_y"]
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["psnr_y"] == pytest.approx(m["psnr_y"])
