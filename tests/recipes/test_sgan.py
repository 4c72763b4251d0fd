"""The semi-supervised GAN: each loss term on constructed logits, and training on the digits built-in."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import pytest
import torch

from ganforge.bundle import load_bundle
from ganforge.config import DataConfig, RunConfig, TrainConfig
from ganforge.errors import ConfigError
from ganforge.models.sgan import SGANMLPClassifier, real_logit
from ganforge.presets import get_preset
from ganforge.recipes.base import DataInfo
from ganforge.recipes.sgan import (
    SGANConfig,
    SGANRecipe,
    accuracy,
    augment_images,
    class_entropy,
    feature_matching_loss,
    generator_ns_loss,
    held_out_accuracy,
    supervised_loss,
    unsupervised_loss,
)
from ganforge.training.trainer import Trainer

# Two images, K = 3 classes, the fake logit last.
LOGITS = torch.tensor([[2.0, 0.0, -1.0, 0.0], [0.0, 1.0, 0.0, 0.0]])


def test_real_logit_is_the_softmax_mass_on_the_real_classes():
    logits = torch.tensor([[2.0, 0.0, -1.0, 0.5], [0.0, 1.0, 0.0, -3.0]])
    assert torch.allclose(torch.sigmoid(real_logit(logits)), torch.softmax(logits, 1)[:, :3].sum(1))
    assert real_logit(torch.zeros(1, 4)).item() == pytest.approx(math.log(3))  # Z = 3, fake logit 0


def test_supervised_loss_is_cross_entropy_over_the_real_classes():
    labels = torch.tensor([0, 1])
    row0 = -(2 - math.log(math.exp(2) + 1 + math.exp(-1)))
    row1 = -(1 - math.log(1 + math.e + 1))
    assert supervised_loss(LOGITS, labels).item() == pytest.approx((row0 + row1) / 2, rel=1e-6)
    moved_fake = LOGITS.clone()
    moved_fake[:, -1] = 7.0  # p(y | x, real) does not depend on the fake logit
    assert supervised_loss(moved_fake, labels).item() == pytest.approx(supervised_loss(LOGITS, labels).item())


def test_unsupervised_loss_on_known_probabilities():
    real = torch.zeros(1, 4)  # Z = 3: p(real) = 3 / 4
    fake = torch.tensor([[math.log(1 / 3)] * 3 + [0.0]])  # Z = 1: p(real) = 1 / 2
    expected = 0.5 * (-math.log(3 / 4) - math.log(1 / 2))
    assert unsupervised_loss(real, fake).item() == pytest.approx(expected, rel=1e-6)
    # a learned fake logit (Odena 2016): Z = 3e against exp(l_fake) = 3e gives p(real) = 1 / 2
    learned = torch.tensor([[1.0, 1.0, 1.0, math.log(3) + 1.0]])
    assert unsupervised_loss(learned, learned).item() == pytest.approx(math.log(2), rel=1e-6)


def test_generator_loss_and_shift_invariance():
    fake = torch.tensor([[math.log(1 / 3)] * 3 + [0.0], [0.0, 0.0, 0.0, 0.0]])  # p(real) = 1/2 and 3/4
    expected = (-math.log(1 / 2) - math.log(3 / 4)) / 2
    assert generator_ns_loss(fake).item() == pytest.approx(expected, rel=1e-6)
    # adding one constant to all K+1 logits leaves every probability, so every loss, unchanged
    labels = torch.tensor([2, 0])
    for shift in (-3.0, 5.0):
        assert supervised_loss(fake + shift, labels).item() == pytest.approx(
            supervised_loss(fake, labels).item()
        )
        assert unsupervised_loss(LOGITS + shift, fake + shift).item() == pytest.approx(
            unsupervised_loss(LOGITS, fake).item(), rel=1e-6
        )
        assert generator_ns_loss(fake + shift).item() == pytest.approx(
            generator_ns_loss(fake).item(), rel=1e-6
        )


def test_feature_matching_compares_batch_means_and_only_moves_the_fakes():
    real = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)  # mean (2, 3)
    fake = torch.tensor([[0.0, 0.0], [0.0, 2.0]], requires_grad=True)  # mean (0, 1)
    loss = feature_matching_loss(real, fake)
    assert loss.item() == pytest.approx((2**2 + 2**2) / 2)
    loss.backward()
    assert real.grad is None
    assert torch.allclose(fake.grad, torch.tensor([[-1.0, -1.0], [-1.0, -1.0]]))  # d/dfake: -(2 * 2 / 2) / 2


def test_accuracy_reads_the_real_classes_only():
    logits = torch.tensor([[0.0, 3.0, 9.0], [2.0, 1.0, 9.0], [0.0, 1.0, -9.0]])  # K = 2, fake logit last
    assert accuracy(logits, torch.tensor([1, 0, 0])).item() == pytest.approx(2 / 3)


# ---------------------------------------------------------------- training


@pytest.fixture(autouse=True)
def keep_torch_threads():
    """`train.threads` sets torch's process-wide thread count; give the next test the old one back."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def digits_config(steps: int = 40, **model) -> RunConfig:
    cfg = RunConfig(
        name="tiny-sgan",
        recipe="sgan",
        data=DataConfig(source="digits", size=8),
        train=TrainConfig(
            steps=steps,
            batch_size=32,
            log_every=10,
            sample_every=max(steps, 10),  # one value for whole and resumed runs (resume keeps it)
            checkpoint_every=max(steps // 2, 1),
            n_samples=8,
            device="cpu",
            threads=1,  # tiny models: a second thread only waits, the more so on a busy machine
            ema_decay=0.9,  # the classifiers are evaluated as moving averages: a short window for short runs
        ),
        model=SGANConfig(labels=50, baseline=True, g_width=64, c_width=64, c_layers=2, lr_d=2e-3, lr_g=1e-3),
    )
    for key, value in model.items():
        setattr(cfg.model, key, value)
    return cfg.validate()


def make(cfg, run_dir, data=None):
    return Trainer(cfg, run_dir, data=data, progress=False, tensorboard=False)


def test_training_reports_held_out_accuracy_everywhere(tmp_path):
    cfg = digits_config(steps=60)
    result = make(cfg, tmp_path / "run").fit()
    run = tmp_path / "run"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["step"] == 60 and metrics["labeled_images"] == 50 and metrics["test_images"] == 359
    assert metrics["test_accuracy"] > 0.4 and metrics["baseline_test_accuracy"] > 0.4  # chance is 0.1
    assert result.metrics["test_accuracy"] == metrics["test_accuracy"]
    logged = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert logged[-2]["test_accuracy"] == metrics["test_accuracy"] and logged[-1]["event"] == "finished"
    assert logged[0]["event"] == "started" and logged[0]["precision"] in ("bf16", "fp32")
    first = next(line for line in logged if "event" not in line)
    assert "C_sup" in first and "C_base_loss" in first
    card = (run / "bundle" / "README.md").read_text()
    assert f"| test_accuracy | {metrics['test_accuracy']:.4g} |" in card
    bundle = load_bundle(run / "bundle")
    assert set(bundle.models) == {"G_ema", "C_ema", "C_base_ema"} and bundle.class_names == [
        str(d) for d in range(10)
    ]
    # the reported accuracy is the bundle's C on the held-out split
    test = SGANRecipe.split(cfg).test
    assert held_out_accuracy(bundle.models["C_ema"], test) == metrics["test_accuracy"]
    assert held_out_accuracy(bundle.models["C_base_ema"], test) == metrics["baseline_test_accuracy"]


def flat_state(trainer):
    state = trainer.state_dict()
    out = {f"models.{n}.{k}": v for n, sd in state["models"].items() for k, v in sd.items()}
    for name, sd in state["optimizers"].items():
        out |= {f"opt.{name}.{i}.{k}": v for i, s in sd["state"].items() for k, v in s.items()}
    return out


def test_resume_is_bitwise_exact(tmp_path):
    whole = make(digits_config(steps=10), tmp_path / "whole")
    whole.fit()
    make(digits_config(steps=6), tmp_path / "split").fit()
    second = make(digits_config(steps=10), tmp_path / "split")
    second.fit()
    a, b = flat_state(whole), flat_state(second)
    assert a.keys() == b.keys() and any(k.startswith("models.C_base") for k in a)
    assert [k for k in a if not torch.equal(a[k], b[k])] == []
    assert torch.equal(whole.streams["labeled"].order, second.streams["labeled"].order)


def test_the_labels_of_unlabeled_images_are_never_read(tmp_path):
    cfg = digits_config(steps=4)
    data = SGANRecipe.load_data(cfg)
    scrambled = dict(data)
    main = data["main"]
    scrambled["main"] = type(main)(main.images, main.labels.flip(0), main.class_names, main.source)
    a = make(cfg, tmp_path / "a", data)
    a.fit()  # one after the other: dropout draws from the global torch RNG that each Trainer seeds
    b = make(cfg, tmp_path / "b", scrambled)
    b.fit()
    sa, sb = flat_state(a), flat_state(b)
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_odena_variant_with_the_conv_networks_and_weight_norm(tmp_path):
    cfg = digits_config(
        steps=3, g_loss="ns", fake_logit="learned", arch="conv", g_width=4, c_width=4, weight_norm=True
    )
    cfg.model.baseline = False
    trainer = make(cfg, tmp_path / "run")
    assert trainer.recipe.C.head.out_features == 11  # K + 1 outputs
    assert hasattr(trainer.recipe.C.head, "parametrizations")  # weight-normalized
    assert type(trainer.recipe.G).__name__ == "DCGANGenerator"
    logs = trainer.train_step()
    assert {"C_sup", "C_unsup", "G_loss"} <= set(logs) and "C_base_loss" not in logs
    assert all(math.isfinite(float(v)) for v in logs.values())
    assert trainer.recipe.exports == trainer.recipe.ema_of == ("G", "C") and set(trainer.ema) == {
        "G_ema",
        "C_ema",
    }


def test_too_few_labels_and_bad_values_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="gives 5 labeled images, fewer than one per class"):
        make(digits_config(labels=5), tmp_path / "run")
    with pytest.raises(ConfigError, match=r"model.labels=2.5 as a fraction must lie in \(0, 1\]"):
        digits_config(labels=2.5)
    with pytest.raises(ConfigError, match="model.test_size"):
        digits_config(test_size=1.5)


def test_presets():
    mnist, fashion = get_preset("sgan-mnist"), get_preset("sgan-fashion")
    assert mnist.recipe == fashion.recipe == "sgan"
    assert (mnist.data.source, fashion.data.source) == ("mnist-5k", "fashion-mnist")
    assert mnist.model.labels == 100 and mnist.data.size == 28
    # Salimans et al. 2016's discriminator regularizers, and a length that fits 10 CPU-minutes
    assert (mnist.model.weight_norm, mnist.model.hidden_noise, mnist.model.dropout) == (True, 0.5, 0.0)
    assert fashion.model.hidden_noise == 0.5 and (mnist.train.steps, fashion.train.steps) == (10_000, 12_000)
    assert (mnist.model.input_noise, fashion.model.input_noise) == (0.6, 0.3)
    # flips suit clothes, not digits; the decay and the entropy term are measured on Fashion-MNIST only
    assert (mnist.model.augment, fashion.model.augment) == ("none", "flip_shift")
    assert (mnist.model.decay_start, fashion.model.decay_start) == (1.0, 0.5)
    assert (mnist.model.entropy_weight, fashion.model.entropy_weight) == (0.0, 1.0)


def test_hidden_noise_perturbs_only_training_passes_and_only_when_asked():
    torch.manual_seed(0)
    images = torch.rand(4, 1, 6, 6) * 2 - 1
    quiet = SGANMLPClassifier(img_size=6, classes=3, hidden=16, layers=2, dropout=0.0, input_noise=0.0)
    assert torch.equal(quiet.outputs(images)[0], quiet.outputs(images)[0])  # nothing random is left
    noisy = SGANMLPClassifier(
        img_size=6, classes=3, hidden=16, layers=2, dropout=0.0, input_noise=0.0, hidden_noise=0.5
    )
    # no new parameters: the same weights in the same order give the same eval outputs
    noisy.load_state_dict(dict(zip(noisy.state_dict(), quiet.state_dict().values(), strict=True)))
    a, b = noisy.outputs(images)[0], noisy.outputs(images)[0]
    assert not torch.allclose(a, b) and (a - b).abs().mean() > 0.01
    noisy.eval()
    quiet.eval()
    assert torch.equal(noisy.outputs(images)[0], quiet.outputs(images)[0])
    # without hidden noise the layers keep their old indices, so older checkpoints still load
    assert [k for k in quiet.state_dict() if k.startswith("body.")][-1] == "body.4.bias"
    with pytest.raises(ConfigError, match="hidden_noise must be >= 0"):
        SGANMLPClassifier(hidden_noise=-1.0)
    with pytest.raises(ConfigError, match="model.hidden_noise"):
        digits_config(hidden_noise=-0.1)
    # older runs' specs (no hidden_noise key) rebuild unchanged; the key appears only when set
    recipe = SimpleNamespace(config=SGANConfig(), data=DataInfo(channels=1, size=8, num_classes=10))
    assert "hidden_noise" not in SGANRecipe.classifier_spec(recipe).kwargs
    recipe.config.hidden_noise = 0.5
    assert SGANRecipe.classifier_spec(recipe).kwargs["hidden_noise"] == 0.5


def test_augment_shifts_each_image_by_whole_pixels_filling_with_background():
    images = torch.full((64, 1, 7, 7), -1.0)
    images[:, 0, 3, 3] = 1.0  # one lit pixel in the middle of each image
    moved = augment_images(images, torch.Generator().manual_seed(0), shift=2, flip=False)
    assert moved.shape == images.shape and set(moved.unique().tolist()) == {-1.0, 1.0}
    where = (moved[:, 0] == 1.0).nonzero()  # (64, 3): image, row, column
    assert where[:, 0].tolist() == list(range(64))  # every pixel is kept (the shift fits the border)
    dy, dx = where[:, 1] - 3, where[:, 2] - 3
    assert dy.abs().max() == dx.abs().max() == 2 and len(set(zip(dy.tolist(), dx.tolist(), strict=True))) > 15
    again = augment_images(images, torch.Generator().manual_seed(0), shift=2, flip=False)
    assert torch.equal(moved, again)  # every draw comes from the generator
    assert torch.equal(augment_images(images, torch.Generator(), shift=0, flip=False), images)


def test_augment_flips_about_half_left_to_right():
    images = torch.full((200, 1, 4, 4), -1.0)
    images[:, 0, :, 0] = 1.0  # a bar on the left
    flipped = augment_images(images, torch.Generator().manual_seed(1), shift=0, flip=True)
    right = flipped[:, 0, :, 3].eq(1.0).all(1)
    assert torch.equal(flipped[right], images[right].flip(3)) and torch.equal(flipped[~right], images[~right])
    assert 70 < int(right.sum()) < 130


def test_augment_and_shift_are_checked():
    with pytest.raises(ConfigError, match="model.augment='rotate' is not one of none, shift, flip_shift"):
        digits_config(augment="rotate")
    with pytest.raises(ConfigError, match="model.shift=-1 must be >= 0 pixels"):
        digits_config(shift=-1)


def test_augmented_training_with_a_conv_classifier_and_an_mlp_generator(tmp_path):
    cfg = digits_config(steps=4, augment="flip_shift", shift=1, arch="conv_c", c_width=4, decay_start=0.5)
    trainer = make(cfg, tmp_path / "run")
    assert type(trainer.recipe.C).__name__ == "SGANConvClassifier"
    assert type(trainer.recipe.G).__name__ == "SGANMLPGenerator"
    result = trainer.fit()
    assert 0.0 <= result.metrics["test_accuracy"] <= 1.0
    # steps 0-2 at the full rate, then linear decay: the last step (3) ran at 1 - 1 / 3 of it
    assert trainer.recipe.optimizers["C"].param_groups[0]["lr"] == pytest.approx(cfg.model.lr_d * 2 / 3)


def test_class_entropy_reads_the_real_classes_only(tmp_path):
    even = torch.tensor([[0.0, 0.0, 0.0, 9.0]])  # K = 3 even, the fake logit ignored
    assert class_entropy(even).item() == pytest.approx(math.log(3))
    sure = torch.tensor([[50.0, 0.0, 0.0, 0.0]])
    assert class_entropy(sure).item() == pytest.approx(0.0, abs=1e-6)
    assert class_entropy(torch.cat([even, sure])).item() == pytest.approx(math.log(3) / 2)
    with pytest.raises(ConfigError, match="model.entropy_weight=-1.0 must be >= 0"):
        digits_config(entropy_weight=-1.0)
    trainer = make(digits_config(steps=1, entropy_weight=1.0), tmp_path / "run")
    logs = trainer.train_step()
    assert logs["C_loss"] > logs["C_sup"] + logs["C_unsup"]  # the entropy term adds to the loss
