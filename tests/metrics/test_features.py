"""Feature extractors: the packaged EfficientNet-Lite0 classifies a cat as a cat, the FID network's
naming is honest about its weights, and every extractor sees uint8 and float images alike."""

import copy

import pytest
import torch
from safetensors.torch import save_file
from skimage.data import chelsea

from ganforge.data.download import sha256_of
from ganforge.errors import DataError
from ganforge.imaging import to_uint8
from ganforge.metrics.features import get_extractor, list_extractors
from ganforge.metrics.features import inception as inception_module
from ganforge.metrics.features.effnet import WEIGHTS_SHA256 as EFFNET_SHA256
from ganforge.metrics.features.lenet import LeNet

IMAGENET_CATS = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat


def test_registry_lists_the_four_extractors():
    assert list_extractors() == ["digits-lenet", "effnet-lite0", "fashion-lenet", "inception"]


def test_effnet_lite0_sees_a_cat_in_chelsea():
    net = get_extractor("effnet-lite0")
    photo = torch.from_numpy(chelsea()).permute(2, 0, 1)[None]  # (1, 3, 300, 451) uint8
    logits = net.logits(torch.cat([photo[..., :, :300], photo[..., :, 75:375]]))  # two square crops
    assert logits.shape == (2, 1000)
    assert [int(k) in IMAGENET_CATS for k in logits.argmax(1)] == [True, True]
    assert net.weights_sha256 == EFFNET_SHA256 and net.fd_name == "FD-EffNetLite0"
    assert net.features(photo[..., :, 75:375]).shape == (1, 1280)


def test_effnet_perceptual_features_are_differentiable_and_frozen():
    net = get_extractor("effnet-lite0", random_init=True)
    images = (torch.rand(2, 1, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1).requires_grad_()
    maps = net.perceptual_features(images)
    assert [tuple(m.shape) for m in maps] == [(2, 24, 8, 8), (2, 40, 4, 4), (2, 80, 2, 2), (2, 112, 2, 2)]
    sum(m.square().mean() for m in maps).backward()
    assert images.grad is not None and images.grad.abs().sum() > 0
    assert not any(p.requires_grad for p in net.parameters())
    resized = net.perceptual_features(images.detach(), blocks=(2,), size=64)
    assert resized[0].shape == (2, 24, 16, 16)


def test_uint8_and_float_images_give_the_same_features_and_gray_is_repeated():
    net = get_extractor("effnet-lite0", random_init=True)
    g = torch.Generator().manual_seed(1)
    pixels = torch.randint(0, 256, (2, 1, 16, 16), generator=g, dtype=torch.uint8)
    as_float = pixels.float() / 127.5 - 1
    nudged = (as_float + 0.4 / 127.5).clamp(-1, 1)  # under half a grey level: quantized away
    assert torch.equal(to_uint8(nudged), pixels)
    gray = net.features(pixels)
    assert torch.allclose(net.features(pixels.expand(-1, 3, -1, -1)), gray, atol=1e-5)  # gray is repeated
    assert torch.equal(net.features(nudged), gray)


def test_random_inception_is_never_called_fid(tmp_path):
    net = get_extractor("inception", random_init=True)
    images = torch.randint(
        0, 256, (1, 3, 32, 32), generator=torch.Generator().manual_seed(2), dtype=torch.uint8
    )
    features, logits = net.extract([images])
    assert features.shape == (1, 2048) and logits.shape == (1, 1008)
    assert net.weights_sha256 is None and net.fd_name == "FD-InceptionV3*" and not net.official
    assert "random" in net.describe()["weights_source"]
    # the IS logits leave out the classifier bias, as the reference Inception Score code does
    assert torch.allclose(logits, features @ net.net.fc.weight.t(), atol=1e-4)

    # --weights PATH: a local file loads strictly; its sha256 is recorded; it is not called FID
    path = tmp_path / "my-inception.pth"
    torch.save(net.net.state_dict(), path)
    loaded = inception_module.build_inception(weights=str(path))
    assert loaded.weights_sha256 == sha256_of(path) and loaded.fd_name == "FD-InceptionV3*"
    for key, value in net.net.state_dict().items():
        assert torch.equal(loaded.net.state_dict()[key], value), key
    # only the pinned sha256 earns the name FID
    pinned = inception_module.InceptionExtractor(loaded.net, inception_module.WEIGHTS_SHA256, "x")
    assert pinned.official and pinned.fd_name == "FID"
    with pytest.raises(DataError, match="does not exist"):
        inception_module.build_inception(weights=str(tmp_path / "missing.pth"))
    (tmp_path / "bad.pth").write_bytes(b"not a state dict")
    with pytest.raises(DataError, match="is not the FID Inception state dict"):
        inception_module.build_inception(weights=str(tmp_path / "bad.pth"))


def test_inception_offline_without_a_cached_copy_says_where_to_put_it(monkeypatch, isolated_cache):
    monkeypatch.setattr(inception_module, "WEIGHTS_URLS", ("file:///nonexistent/pt_inception.pth",))
    with pytest.raises(DataError) as err:
        inception_module.build_inception()
    message = str(err.value)
    assert str(isolated_cache / "extractors" / inception_module.WEIGHTS_FILE) in message
    assert "--weights PATH" in message and "effnet-lite0" in message and "\n" not in message


def test_lenet_weights_file(tmp_path):
    net = LeNet(10, 16)
    path = tmp_path / "lenet.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    extractor = get_extractor("digits-lenet", weights=str(path))
    assert extractor.weights_sha256 == sha256_of(path) and extractor.fd_name == "FD-digits-lenet"
    assert extractor.class_names == [str(d) for d in range(10)]
    images = torch.randint(
        0, 256, (4, 3, 32, 32), generator=torch.Generator().manual_seed(3), dtype=torch.uint8
    )
    features, logits = extractor.extract([images])
    assert features.shape == (4, 128) and logits.shape == (4, 10)
    with pytest.raises(DataError, match="does not exist"):
        get_extractor("digits-lenet", weights=str(tmp_path / "nope.safetensors"))


def _fd_sets(n: int = 16) -> dict[str, torch.Tensor]:
    """Three fixed 16x16 image sets that differ: uniform noise, a second draw of it, smooth ramps."""
    g = torch.Generator().manual_seed(4)
    noise = torch.randint(0, 256, (2, n, 3, 16, 16), generator=g, dtype=torch.uint8)
    ramp = torch.linspace(0, 1, 16).view(1, 1, 1, 16) * torch.rand(n, 3, 16, 1, generator=g)
    return {"noise": noise[0], "noise2": noise[1], "ramps": (ramp * 255).round().to(torch.uint8)}


@pytest.mark.slow  # compiling EfficientNet-Lite0 takes ~10 CPU s (30+ s on a loaded machine)
def test_compiled_channels_last_features_give_the_eager_contiguous_float32_fd(monkeypatch):
    """The kept levers of FD-EffNetLite0: channels_last always, torch.compile (freezing) for large
    extractions. Both give the contiguous eager float32 features to ~1e-5 and the FD to 1e-4."""
    from ganforge.metrics.features import effnet
    from ganforge.metrics.frechet import frechet_distance

    net = get_extractor("effnet-lite0", precision="fp32")
    assert net.net._conv_stem.weight.is_contiguous(memory_format=torch.channels_last)
    plain = copy.deepcopy(net.net).to(memory_format=torch.contiguous_format)
    sets = _fd_sets()
    with torch.no_grad():
        expected = {k: plain.pooled(net.normalize(net.prepare(v)).contiguous()) for k, v in sets.items()}
    monkeypatch.setattr(effnet, "COMPILE_MIN_IMAGES", 16)  # compile here, for one batch shape of 8
    fast = {k: net.extract(v.split(8), total=len(v))[0] for k, v in sets.items()}
    assert net._compiled is not None and net._compiled_shape == (8, 3, 224, 224) and not net._compile_failed
    for k in sets:
        assert torch.allclose(fast[k], expected[k], rtol=1e-4, atol=1e-5), k
    for a, b in (("noise", "noise2"), ("noise", "ramps")):
        exact, got = frechet_distance(expected[a], expected[b]), frechet_distance(fast[a], fast[b])
        assert exact > 1 and abs(got / exact - 1) < 1e-4, (a, b, exact, got)


def test_bf16_features_are_opt_in_and_within_the_stated_tolerance():
    """bf16 (GANFORGE_FEATURE_PRECISION=bf16) is not a default: with the ImageNet weights its FD
    moves by up to ~3% (README "Speed"); this holds it to 5% and the features to 15% (median)."""
    from ganforge.metrics.frechet import frechet_distance

    fp32 = get_extractor("effnet-lite0", precision="fp32")
    bf16 = get_extractor("effnet-lite0", precision="bf16")
    assert (fp32.numerics, bf16.numerics) == ("fp32", "bf16") and fp32 is not bf16
    assert bf16.describe()["numerics"] == "bf16" and get_extractor("effnet-lite0").numerics == "fp32"
    sets = {name: (fp32.features(v), bf16.features(v)) for name, v in _fd_sets().items()}
    for exact, fast in sets.values():
        error = (fast - exact).norm(dim=1) / exact.norm(dim=1)
        assert error.median() < 0.15, error
    for a, b in (("noise", "noise2"), ("noise", "ramps")):
        exact, fast = frechet_distance(sets[a][0], sets[b][0]), frechet_distance(sets[a][1], sets[b][1])
        assert exact > 1 and abs(fast / exact - 1) < 0.05, (a, b, exact, fast)


def test_feature_precision_is_checked_and_recorded(monkeypatch):
    from ganforge.errors import ConfigError
    from ganforge.metrics.features import feature_numerics

    assert feature_numerics("inception", "bf16") == "fp32"  # FID stays float32
    assert feature_numerics("effnet-lite0") == "fp32"
    monkeypatch.setenv("GANFORGE_FEATURE_PRECISION", "bf16")
    assert feature_numerics("effnet-lite0") == "bf16"
    monkeypatch.setenv("GANFORGE_FEATURE_PRECISION", "fast")
    with pytest.raises(ConfigError, match=r"\$GANFORGE_FEATURE_PRECISION 'fast' is not one of fp32, bf16"):
        feature_numerics("effnet-lite0")
