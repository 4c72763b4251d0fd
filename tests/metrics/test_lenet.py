"""The LeNets that ganforge trains itself reach the accuracy the metrics rely on, deterministically,
and are cached: the second use loads the same file."""

import dataclasses

import pytest
import torch

from conftest import needs_dataset
from ganforge.metrics.features import get_extractor
from ganforge.metrics.features import lenet as lenet_module
from ganforge.metrics.reference import split_index


def held_out_accuracy(name: str, split: str) -> float:
    extractor = get_extractor(name)
    images, labels = lenet_module.load_split(name, split)
    logits = extractor.logits(images, batch_size=1000)
    return float((logits.argmax(1) == labels).double().mean())


def test_mnist5k_splits_are_fixed_and_disjoint():
    train, test = split_index("mnist-5k", "train", 5000), split_index("mnist-5k", "test", 5000)
    assert len(train) == 4000 and len(test) == 1000
    assert len(set(train.tolist()) | set(test.tolist())) == 5000
    assert torch.equal(test, split_index("mnist-5k", "test", 5000))
    assert split_index("fashion-mnist", "test", 70_000).tolist() == list(range(60_000, 70_000))


def test_training_is_deterministic():
    recipe = dataclasses.replace(lenet_module.RECIPES["digits-lenet"], epochs=1)
    images, labels = lenet_module.load_split("digits-lenet", "train")
    images, labels = images[:512], labels[:512]
    state_before = torch.get_rng_state()
    a = lenet_module._fit(recipe, images, labels).state_dict()
    b = lenet_module._fit(recipe, images, labels).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert torch.equal(torch.get_rng_state(), state_before)  # the global RNG is left alone


@pytest.mark.slow
def test_digits_lenet_reaches_97_percent_on_held_out_digits(isolated_cache):
    accuracy = held_out_accuracy("digits-lenet", "test")  # trains on mnist-5k:train on first use
    assert accuracy >= 0.97
    extractor = get_extractor("digits-lenet")
    path = isolated_cache / "extractors" / "digits-lenet-v1.safetensors"
    assert path.is_file() and extractor.weights_source == str(path)
    assert extractor.meta["held_out_accuracy"] == f"{accuracy:.4f}"
    assert extractor.meta["trained_on"] == "mnist-5k:train (4000 images)"
    # a second build reads the cached file instead of training again
    again = lenet_module.build_lenet("digits-lenet")
    assert again.weights_sha256 == extractor.weights_sha256


@pytest.mark.slow
@needs_dataset("fashion-mnist")
def test_fashion_lenet_reaches_88_percent_on_the_fashion_mnist_test_split():
    assert held_out_accuracy("fashion-lenet", "test") >= 0.88
