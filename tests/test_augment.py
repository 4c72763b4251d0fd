"""Differentiable augmentation: DiffAugment (Zhao et al. 2020) and ADA (Karras et al. 2020)."""

from __future__ import annotations

import sys

import pytest
import torch

from conftest import tiny_config, tiny_images
from ganforge.augment import (
    Augmenter,
    ada_augment,
    ada_color,
    ada_geometry,
    apply_color,
    apply_geometry,
    diff_augment,
    translate,
)
from ganforge.config import DataConfig, RunConfig, TrainConfig
from ganforge.errors import ConfigError
from ganforge.recipes.stylegan import StyleGANConfig
from ganforge.training.trainer import Trainer


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run faster on one thread than on two contended ones."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def images(n: int = 8, c: int = 3, size: int = 8, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, c, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_identity_at_p_zero():
    x = images()
    g = torch.Generator().manual_seed(0)
    assert torch.equal(diff_augment(x, g, p=0.0), x)
    assert torch.equal(ada_augment(x, 0.0, g), x)
    assert Augmenter("none")(x, g) is x
    assert torch.equal(Augmenter("ada")(x, g), x)  # ADA starts at p = 0
    assert torch.equal(Augmenter("diffaugment", p=0.0)(x, g), x)
    assert torch.equal(g.get_state(), torch.Generator().manual_seed(0).get_state())  # nothing drawn


@pytest.mark.parametrize("kind", ["diffaugment", "ada"])
def test_augmentations_are_differentiable(kind):
    """The gradient reaches the input and matches finite differences (fixed random draws)."""
    x = images(n=2, c=3, size=6).double().requires_grad_(True)

    def fn(inp: torch.Tensor) -> torch.Tensor:
        g = torch.Generator().manual_seed(3)
        return diff_augment(inp, g, p=1.0) if kind == "diffaugment" else ada_augment(inp, 1.0, g)

    out = fn(x)
    assert not torch.equal(out, x)
    assert torch.autograd.gradcheck(fn, (x,), eps=1e-6, atol=1e-4)


def test_augmentation_is_deterministic_for_a_seed_and_hits_a_fraction_p():
    x = images(n=400)
    a = diff_augment(x, torch.Generator().manual_seed(1), p=0.5, policy=("cutout",))
    b = diff_augment(x, torch.Generator().manual_seed(1), p=0.5, policy=("cutout",))
    assert torch.equal(a, b)
    hit = (a != x).flatten(1).any(dim=1).float().mean().item()  # a cutout always removes some pixels
    assert hit == pytest.approx(0.5, abs=0.08)
    ada = ada_augment(x, 0.1, torch.Generator().manual_seed(1))
    untouched = (ada == x).flatten(1).all(dim=1).float().mean().item()
    assert untouched == pytest.approx(0.9**12, abs=0.08)  # 12 transforms (2 rotations at 1 - sqrt(0.9))


def test_translate_shifts_with_zero_fill():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    out = translate(x, torch.tensor([1]), torch.tensor([-1]))  # right by one, up by one
    expected = torch.tensor([[0.0, 4, 5, 6], [0, 8, 9, 10], [0, 12, 13, 14], [0, 0, 0, 0]])
    assert torch.equal(out[0, 0], expected)


def test_diffaugment_ops_stay_in_their_lane():
    x = images(n=64, size=16)
    g = torch.Generator().manual_seed(0)
    cut = diff_augment(x, g, policy=("cutout",))
    removed = (cut == 0) & (x != 0)
    per_image = removed.flatten(1).sum(dim=1) / 3  # pixels zeroed, per channel
    assert per_image.max() <= 64 and per_image.min() >= 16  # a quarter to all of an 8x8 square
    moved = diff_augment(x, g, policy=("translation",))
    assert set(moved.unique().tolist()) <= set(x.unique().tolist()) | {0.0}  # shifted pixels, zero fill
    with pytest.raises(ConfigError, match="unknown DiffAugment op"):
        diff_augment(x, g, policy=("blur",))


def test_ada_geometry_matrices_warp_exactly():
    x = images(n=1, size=8)
    flip = torch.tensor([[[-1.0, 0, 0], [0, 1, 0], [0, 0, 1]]])
    assert torch.allclose(apply_geometry(x, flip), x.flip(-1), atol=1e-5)
    quarter = torch.tensor([[[0.0, -1, 0], [1, 0, 0], [0, 0, 1]]])
    assert torch.allclose(apply_geometry(x, quarter), torch.rot90(x, 1, dims=(2, 3)), atol=1e-5)
    shift = torch.tensor([[[1.0, 0, 2 / 8], [0, 1, 0], [0, 0, 1]]])  # one pixel
    assert torch.allclose(apply_geometry(x, shift)[..., :-1], x[..., 1:], atol=1e-5)
    assert torch.equal(apply_geometry(x, torch.eye(3)[None]), x)
    m = ada_geometry(256, 8, 1.0, torch.Generator().manual_seed(0), torch.device("cpu"))
    assert torch.allclose(m[:, 2], torch.tensor([0.0, 0.0, 1.0]).expand(256, 3))
    det = torch.linalg.det(m[:, :2, :2]).abs()  # isotropic s on both axes: log2 |det| = 2 log2 s
    assert det.log2().std().item() == pytest.approx(2 * 0.2, rel=0.2)  # anisotropic scaling keeps det


def test_ada_color_keeps_gray_gray_and_maps_are_identity_where_not_drawn():
    gray = torch.full((1, 3, 2, 2), 0.3)
    m = ada_color(64, 1.0, torch.Generator().manual_seed(0), torch.device("cpu"))
    for k in range(64):  # hue, saturation and luma flip act on the chroma only; gray stays gray
        lin = m[k : k + 1].clone()
        out = apply_color(gray, lin)
        assert torch.allclose(out[:, 0], out[:, 1], atol=1e-5) and torch.allclose(
            out[:, 1], out[:, 2], atol=1e-5
        )
    none = ada_color(8, 0.0, torch.Generator().manual_seed(0), torch.device("cpu"))
    assert torch.equal(none, torch.cat([torch.eye(3), torch.zeros(3, 1)], dim=1).expand(8, 3, 4))
    out = ada_augment(images(n=4, c=1), 1.0, torch.Generator().manual_seed(0))
    assert out.shape == (4, 1, 8, 8)


def test_adaptive_p_moves_by_the_images_seen_toward_the_target():
    aug = Augmenter("ada", target=0.6, interval=4, speed_kimg=1.0)
    for _ in range(4):
        aug.observe(torch.ones(8))  # D is sure about every real image: r_t = 1 > 0.6
    assert aug.rt == 1.0 and aug.p == pytest.approx(32 / 1000)
    for _ in range(3):
        aug.observe(torch.ones(8))
    assert aug.p == pytest.approx(32 / 1000)  # only every `interval` D steps
    aug.observe(torch.ones(8))
    assert aug.p == pytest.approx(64 / 1000)
    for _ in range(12):
        aug.observe(-torch.ones(8))  # r_t = -1 < 0.6: p falls, and stops at 0
    assert aug.rt == -1.0 and aug.p == 0.0
    state = aug.state_dict()
    again = Augmenter("ada", target=0.6, interval=4, speed_kimg=1.0)
    again.load_state_dict(state)
    assert again.state_dict() == state
    with pytest.raises(ConfigError, match="augment='ada'"):
        Augmenter("diffaugment").load_state_dict(state)
    with pytest.raises(ConfigError, match="unknown"):
        Augmenter("mixup")


def test_ada_p_rises_when_the_discriminator_overfits_a_tiny_dataset(tmp_path):
    """Eight images and a strong D: D soon tells every real image apart (r_t > 0.6), so p climbs."""
    cfg = RunConfig(
        name="ada",
        recipe="stylegan",
        data=DataConfig(source="tiny", size=16),
        train=TrainConfig(steps=32, batch_size=8, sample_every=100, checkpoint_every=100, device="cpu"),
        model=StyleGANConfig(
            z_dim=8,
            w_dim=8,
            mapping_layers=2,
            channel_base=128,
            max_channels=16,
            lr_g=0.003,
            lr_d=0.003,
            r1_gamma=0.0,
            pl_weight=0.0,
            augment="ada",
            ada_kimg=0.5,
        ),
    ).validate()
    trainer = Trainer(cfg, tmp_path / "run", data=tiny_images(n=8, channels=3, size=16), progress=False)
    history = []
    for _ in range(cfg.train.steps):
        trainer.train_step()
        history.append((trainer.recipe.augment.p, trainer.recipe.augment.rt))
    ps = [p for p, _ in history]
    assert history[3][1] > 0.6 and ps[3] > 0  # the first measurement already shows overfitting
    assert ps[-1] > 0.25  # 32 steps x 8 images at 500 images per unit of p: up to 0.51
    for (p0, _), (p1, rt) in zip(history[3::4], history[7::4], strict=False):  # p follows sign(r_t - target)
        assert (p1 > p0) == (rt > 0.6)


class Recording:
    """Wraps an Augmenter and records (input, output) of every call."""

    def __init__(self, inner: Augmenter):
        self.inner, self.seen = inner, []

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        out = self.inner(x, generator)
        self.seen.append((x, out))
        return out

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


def test_dcgan_augments_real_and_fake_alike(tmp_path):
    cfg = tiny_config("dcgan", augment="diffaugment")
    trainer = Trainer(cfg, tmp_path / "a", data=tiny_images(), progress=False, tensorboard=False)
    recorder = trainer.recipe.augment = Recording(trainer.recipe.augment)
    batch = next(trainer.stream)
    trainer.recipe.d_main(batch)
    assert len(recorder.seen) == 2 and torch.equal(recorder.seen[0][0], batch.real)  # the reals, then fakes
    assert not torch.equal(recorder.seen[0][1], batch.real) and recorder.seen[1][0].shape == batch.real.shape
    trainer.recipe.g_main(batch)
    assert len(recorder.seen) == 3 and recorder.seen[2][0].requires_grad  # G's fakes keep their graph


def model_tensors(trainer: Trainer) -> dict[str, torch.Tensor]:
    state = trainer.state_dict()
    out = {f"models.{m}.{k}": v for m, sd in state["models"].items() for k, v in sd.items()}
    for name, sd in state["optimizers"].items():
        out.update({f"opt.{name}.{i}.{k}": v for i, s in sd["state"].items() for k, v in s.items()})
    return out


def test_dcgan_with_ada_resumes_exactly(tmp_path):
    def make(steps: int, folder: str) -> Trainer:
        cfg = tiny_config("dcgan", steps=steps, augment="ada")
        return Trainer(cfg, tmp_path / folder, data=tiny_images(), progress=False, tensorboard=False)

    whole = make(12, "whole")
    whole.recipe.augment.p = 0.5  # as if ADA had already raised p: the transforms draw random numbers
    whole.fit()
    first = make(6, "split")
    first.recipe.augment.p = 0.5
    first.fit()
    second = make(12, "split")
    second.fit()
    assert second.recipe.state_dict() == whole.recipe.state_dict()
    assert whole.recipe.augment.p != 0.5  # p moved (either way) and the move survived the resume
    a, b = model_tensors(whole), model_tensors(second)
    assert a.keys() == b.keys() and [k for k in a if not torch.equal(a[k], b[k])] == []


def test_cli_augment_flag_sets_the_model_field():
    from ganforge.cli.train import build_config

    for preset in ("dcgan-mnist", "stylegan-emoji64", "progan"):
        cfg = build_config(preset, None, None, None, {"augment": "ada"}, [])
        assert cfg.model.augment == "ada"
    with pytest.raises(ConfigError, match="augment='flip'"):
        build_config("dcgan-mnist", None, None, None, {"augment": "flip"}, [])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))
