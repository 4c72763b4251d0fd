"""ClassifyPipeline and load_classifier on a hand-built classifier whose outputs are known exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge import bundle, console
from ganforge.capabilities import WrongModelError
from ganforge.config import DataConfig, RunConfig
from ganforge.errors import CheckpointError, DataError
from ganforge.models.sgan import SGANMLPClassifier
from ganforge.pipelines.classify import ClassifyPipeline, image_files, load_classifier, read_images
from ganforge.recipes.base import ModelSpec
from ganforge.recipes.sgan import SGANConfig

SPEC = ModelSpec(
    "sgan.C_mlp",
    dict(img_channels=1, img_size=4, classes=2, hidden=2, layers=1, dropout=0.0, input_noise=0.0),
)


def brightness_classifier() -> SGANMLPClassifier:
    """Classes ("dark", "bright") from the mean pixel m in [-1, 1]: the class logits are (-2.4 m, 2.4 m),
    so p(bright) = sigmoid(4.8 m). Hidden units: LeakyReLU(m) and LeakyReLU(-m)."""
    C = SPEC.build()
    with torch.no_grad():
        linear = C.body[1]
        linear.weight.copy_(torch.stack([torch.full((16,), 1 / 16), torch.full((16,), -1 / 16)]))
        linear.bias.zero_()
        C.head.weight.copy_(torch.tensor([[-2.0, 2.0], [2.0, -2.0]]))
        C.head.bias.zero_()
    return C.eval()


def p_bright(mean: float) -> float:
    return 1 / (1 + math.exp(-4.8 * mean))


def test_pipeline_on_known_images():
    images = torch.stack([torch.full((1, 4, 4), v) for v in (1.0, -1.0, 0.25, 0.0)])  # (4, 1, 4, 4)
    out = ClassifyPipeline(brightness_classifier(), ["dark", "bright"])(images, batch_size=3)
    assert out.names() == ["bright", "dark", "bright", "dark"]  # an exact tie goes to the first class
    expected = [p_bright(1.0), 1 - p_bright(-1.0), p_bright(0.25), 0.5]
    assert torch.allclose(out.confidence, torch.tensor(expected), atol=1e-6)
    assert torch.allclose(out.probabilities.sum(1), torch.ones(4))


@pytest.fixture
def classifier_bundle(tmp_path):
    cfg = RunConfig(
        name="brightness",
        recipe="sgan",
        data=DataConfig(source="tiny", size=4, channels=1),
        model=SGANConfig(),
    )
    return bundle.write_bundle(
        tmp_path / "bundle",
        config=cfg,
        models={"C": brightness_classifier()},
        specs={"C": SPEC},
        class_names=["dark", "bright"],
        step=0,
        images_seen=0,
    )


def test_files_are_read_like_the_training_data(classifier_bundle, tmp_path, monkeypatch):
    warnings: list[str] = []
    monkeypatch.setattr(console, "warn", warnings.append)
    folder = tmp_path / "images"
    (folder / "sub").mkdir(parents=True)
    Image.fromarray(np.full((10, 10), 255, np.uint8)).save(folder / "white.png")
    Image.new("RGB", (12, 9), (255, 0, 0)).save(folder / "sub" / "red.png")  # gray 76 (BT.601 luma)
    (folder / "broken.png").write_bytes(b"not a png")
    black = tmp_path / "black.png"
    Image.fromarray(np.zeros((6, 6), np.uint8)).save(black)

    loaded = load_classifier(classifier_bundle)
    assert (loaded.size, loaded.channels, loaded.name, loaded.class_names) == (4, 1, "C", ["dark", "bright"])
    files = image_files([black, folder])
    assert [f.name for f in files] == ["black.png", "broken.png", "red.png", "white.png"]
    images, kept = read_images(files, loaded.size, loaded.channels, loaded.fit)
    assert images.shape == (3, 1, 4, 4) and [f.name for f in kept] == ["black.png", "red.png", "white.png"]
    assert len(warnings) == 1 and "broken.png" in warnings[0]
    out = ClassifyPipeline.from_loaded(loaded)(images)
    assert out.names() == ["dark", "dark", "bright"]
    red = 76 / 127.5 - 1
    expected = [1 - p_bright(-1.0), 1 - p_bright(red), p_bright(1.0)]
    assert torch.allclose(out.confidence, torch.tensor(expected), atol=1e-5)


def test_missing_and_unreadable_inputs(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        image_files([tmp_path / "nope.png"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no images"):
        image_files([tmp_path / "empty"])
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"")
    with pytest.raises(DataError, match="none of the 1 files could be read"):
        read_images([bad], 4, 1)


def test_bundles_without_the_classifier_are_refused(classifier_bundle, tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_classifier(tmp_path / "missing")
    (tmp_path / "run").mkdir()
    with pytest.raises(CheckpointError, match="holds no bundle"):
        load_classifier(tmp_path / "run")
    assert load_classifier(tmp_path).source == classifier_bundle  # a run directory: its bundle
    with pytest.raises(CheckpointError, match="no baseline classifier; train with --baseline"):
        load_classifier(classifier_bundle, baseline=True)
    G = ModelSpec("dcgan.G", dict(z_dim=4, img_channels=1, img_size=8, base_channels=2))
    generator_only = bundle.write_bundle(
        tmp_path / "gan",
        config=RunConfig(name="g", data=DataConfig(source="tiny", size=8, channels=1)),
        models={"G_ema": G.build()},
        specs={"G_ema": G},
        class_names=None,
        step=0,
        images_seen=0,
    )
    with pytest.raises(
        WrongModelError, match="image generator model, not one that can classify: use ganforge sample"
    ):
        load_classifier(generator_only)
