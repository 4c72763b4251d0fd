"""evaluate_generator / evaluate_folders end to end: the figures equal a step-by-step computation,
metrics.json holds what reproduces them, and class folders give classifier accuracy."""

import json

import pytest
import torch
from PIL import Image

from conftest import tiny_config, tiny_images
from ganforge.data.download import sha256_of
from ganforge.errors import ConfigError
from ganforge.metrics.diversity import (
    class_histogram_entropy,
    classifier_confidence,
    diversity,
    per_class_diversity,
)
from ganforge.metrics.evaluate import evaluate_folders
from ganforge.metrics.features import get_extractor
from ganforge.metrics.frechet import frechet_distance
from ganforge.metrics.reference import choose, load_reference_images
from ganforge.metrics.store import latest_summary, read_metrics_json, update_metrics_json
from ganforge.pipelines import GeneratePipeline, load_generator
from ganforge.pipelines.evaluate import evaluate_generator
from ganforge.training.trainer import Trainer


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("eval") / "run"
    Trainer(tiny_config(steps=4), run_dir, data=tiny_images(), progress=False, tensorboard=False).fit()
    return run_dir


def write_folder(root, images, labels=None):
    """uint8 (N, 1, H, W) images as PNGs, in class subfolders when labels are given."""
    for i, image in enumerate(images.numpy()):
        folder = root / str(int(labels[i])) if labels is not None else root
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image[0]).save(folder / f"{i:04d}.png")
    return root


def test_generator_figures_equal_a_step_by_step_computation(run, lenet_weights):
    kwargs = dict(data="digits", metrics="fid,kid,pr", features="digits-lenet", weights=str(lenet_weights))
    report = evaluate_generator(run, n=24, kid_subsets=4, kid_subset_size=12, **kwargs)
    assert set(report.values) == {
        *("fd", "kid", "kid_std", "precision", "recall", "density", "coverage"),
        *("diversity", "confidence", "class_entropy"),  # with fd/kid, and a classifier
    }
    assert report.names["fd"] == "FD-digits-lenet" and report.names["kid"] == "KID-digits-lenet"
    # the same images `ganforge sample --seed 0` makes, against 24 of sklearn's digits at 8x8
    net = get_extractor("digits-lenet", weights=str(lenet_weights))
    fake = net.features(GeneratePipeline(load_generator(run).G)(24, seed=0).images)
    digits = load_reference_images("digits", "all", size=8, channels=1).images
    real = net.features(digits[choose(len(digits), 24, 0)])
    assert report.values["fd"] == pytest.approx(frechet_distance(real, fake), rel=1e-6)
    assert report.values["fd"] > 0.01
    assert report.values["diversity"] == pytest.approx(diversity(fake, real), rel=1e-6)
    assert report.names["diversity"] == "diversity-digits-lenet"
    logits = net.logits(GeneratePipeline(load_generator(run).G)(24, seed=0).images)
    assert report.values["confidence"] == pytest.approx(classifier_confidence(logits), rel=1e-5)
    assert report.values["class_entropy"] == pytest.approx(class_histogram_entropy(logits), rel=1e-5)

    record = report.record
    assert record["extractor"]["weights_sha256"] == sha256_of(lenet_weights)
    assert record["extractor"]["resize"].startswith("uint8 -> torch bicubic antialias")
    ref = record["reference"]
    assert (ref["dataset"], ref["split"], ref["images"], ref["of"], ref["size"]) == (
        "digits",
        "all",
        24,
        1797,
        8,
    )
    assert record["fake"]["images"] == 24 and record["fake"]["seed"] == 0 and record["fake"]["step"] == 4
    assert record["details"]["kid"] == {"subsets": 4, "subset_size": 12, "kernel": "(x.y/d+1)^3"}
    assert record["results"]["FD-digits-lenet"] == report.values["fd"]
    assert ref["cache_file"] and json.loads(json.dumps(record)) == record  # plain JSON
    again = evaluate_generator(run, n=24, kid_subsets=4, kid_subset_size=12, **kwargs)  # cached reference
    assert again.values == report.values

    with pytest.raises(ConfigError, match="needs a class-conditional model"):
        evaluate_generator(run, metrics="acc", n=4, **{k: v for k, v in kwargs.items() if k != "metrics"})


def test_conditional_generator_accuracy_is_the_classifiers_on_its_classes(tmp_path, lenet_weights):
    run_dir = tmp_path / "cond"
    cfg = tiny_config(steps=2, conditional=True)
    data = tiny_images(40, classes=10)
    data.class_names = [str(d) for d in range(10)]
    Trainer(cfg, run_dir, data=data, progress=False, tensorboard=False).fit()
    kw = dict(data="digits", features="digits-lenet", weights=str(lenet_weights), n=30)
    report = evaluate_generator(run_dir, metrics="acc", **kw)
    # by hand: the images of seed 0 are classes 0, 1, ..., 9, 0, 1, ...; score the classifier on them
    images = GeneratePipeline(load_generator(run_dir).G)(30, seed=0).images
    predicted = get_extractor("digits-lenet", weights=str(lenet_weights)).logits(images).argmax(1)
    assert report.values["accuracy"] == pytest.approx(
        float((predicted == torch.arange(30) % 10).double().mean())
    )
    one = evaluate_generator(run_dir, metrics="acc", class_index=3, **kw)
    threes = GeneratePipeline(load_generator(run_dir).G)(30, seed=0, class_index=3).images
    predicted = get_extractor("digits-lenet", weights=str(lenet_weights)).logits(threes).argmax(1)
    assert one.record["fake"]["class_index"] == 3
    assert one.values["accuracy"] == pytest.approx(float((predicted == 3).double().mean()))

    # per-class diversity: each class's 3 fakes against up to 100 of sklearn's digits of that class
    fd = evaluate_generator(run_dir, metrics="fid", **kw)
    net = get_extractor("digits-lenet", weights=str(lenet_weights))
    digits = load_reference_images("digits", "all", size=8, channels=1)
    by_class = per_class_diversity(net.features(images), torch.arange(30) % 10, net.features(digits.images),
                                   digits.labels)  # fmt: skip
    assert fd.values["class_diversity"] == pytest.approx(sum(by_class.values()) / 10, rel=0.05)
    assert fd.values["class_diversity_min"] <= fd.values["class_diversity"]
    assert "class_diversity" not in evaluate_generator(run_dir, metrics="fid", class_index=3, **kw).values


def test_folders_against_themselves_and_others(tmp_path, lenet_weights):
    g = torch.Generator().manual_seed(0)
    dark = (torch.rand(20, 1, 16, 16, generator=g) * 80).to(torch.uint8)
    bright = (torch.rand(20, 1, 16, 16, generator=g) * 80 + 170).to(torch.uint8)
    a, b = write_folder(tmp_path / "a", dark), write_folder(tmp_path / "b", bright)
    kw = dict(metrics="fd,kid,pr", features="digits-lenet", weights=str(lenet_weights), kid_subsets=3)
    same = evaluate_folders(str(a), str(a), kid_subset_size=10, **kw)
    assert same.values["fd"] < 1e-6 and same.values["precision"] == 1.0 and same.values["recall"] == 1.0
    other = evaluate_folders(str(a), str(b), kid_subset_size=10, **kw)
    assert other.values["fd"] > 0.1 and other.values["kid"] > 10 * abs(same.values["kid"])
    assert other.values["coverage"] == 0.0
    assert other.record["fake"] == {"folder": str(b), "images": 20, "size": 16, "seed": 0}
    with pytest.raises(ConfigError, match="is not a split of"):
        evaluate_folders(str(a), str(b), split="test", **kw)
    with pytest.raises(ConfigError, match="needs class subfolders"):
        evaluate_folders(str(a), str(b), **{**kw, "metrics": "acc"})


@pytest.mark.slow
def test_class_folders_give_classifier_accuracy(tmp_path):
    test_digits = load_reference_images("mnist-5k", "test")
    pick = choose(len(test_digits), 60, seed=1)  # the split is sorted by digit; take some of each
    images, labels = test_digits.images[pick], test_digits.labels[pick]
    right = write_folder(tmp_path / "right", images, labels)
    wrong = write_folder(tmp_path / "wrong", images, (labels + 1) % 10)  # every folder names the next digit
    kw = dict(split="test", metrics="fid,acc", features="digits-lenet")
    good, bad = evaluate_folders("mnist-5k", str(right), **kw), evaluate_folders("mnist-5k", str(wrong), **kw)
    assert good.values["accuracy"] >= 0.95 and bad.values["accuracy"] <= 0.05
    assert good.names["accuracy"] == "accuracy (digits-lenet)" and good.names["fd"] == "FD-digits-lenet"
    # real held-out digits are close to the held-out split; uniform noise is far
    noise = torch.randint(
        0, 256, (60, 1, 28, 28), generator=torch.Generator().manual_seed(0), dtype=torch.uint8
    )
    far = evaluate_folders(
        "mnist-5k", str(write_folder(tmp_path / "noise", noise)), split="test", features="digits-lenet"
    )
    assert far.values["fd"] > 10 * good.values["fd"]


def test_metrics_json_merges_and_never_clobbers(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps({"step": 60, "test_accuracy": 0.91}))  # as the trainer writes it
    record = {
        "results": {"FD-EffNetLite0": 12.5},
        "extractor": {"name": "effnet-lite0"},
        "fake": {"step": 60},
    }
    update_metrics_json(path, 60, {"FD-EffNetLite0": 12.5}, record)
    raw = read_metrics_json(path)
    assert raw["step"] == 60 and raw["test_accuracy"] == 0.91 and raw["FD-EffNetLite0"] == 12.5
    assert raw["evaluations"] == [record]
    assert latest_summary(path).startswith("FD-EffNetLite0 12.5 (")
    update_metrics_json(path, 80, {"FD-EffNetLite0": 9.0})  # a later step: older figures move, not vanish
    raw = read_metrics_json(path)
    assert raw["step"] == 80 and "test_accuracy" not in raw and raw["FD-EffNetLite0"] == 9.0
    assert raw["evaluations"][-1]["results"] == {"test_accuracy": 0.91, "FD-EffNetLite0": 12.5}
    foreign = tmp_path / "notes.json"
    foreign.write_text("my own notes, not JSON")
    with pytest.raises(ConfigError, match="not a ganforge metrics file; it is left as is"):
        update_metrics_json(foreign, 1, {"x": 1.0})
    assert foreign.read_text() == "my own notes, not JSON"
    assert not list(tmp_path.glob(".*.tmp"))
