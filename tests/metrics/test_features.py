"""Feature extractors: the packaged EfficientNet-Lite0 classifies a cat as a cat, the FID network's
naming is honest about its weights, and every extractor sees uint8 and float images alike."""

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
