"""The progan recipe: the growth schedule, exact resume in the middle of a fade-in, the exported G."""

from __future__ import annotations

import pytest
import torch

from conftest import tiny_images
from ganforge.config import DataConfig, RunConfig, TrainConfig
from ganforge.pipelines import load_generator
from ganforge.recipes.progan import GrowthSchedule, ProGANConfig
from ganforge.training.trainer import Trainer


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def config(steps: int, size: int = 8, **model) -> RunConfig:
    defaults = dict(z_dim=8, channel_base=64, max_channels=8, stable_steps=3, fade_steps=6)
    return RunConfig(
        name="tiny-progan",
        recipe="progan",
        data=DataConfig(source="tiny", size=size),
        train=TrainConfig(
            steps=steps,
            batch_size=8,
            log_every=2,
            sample_every=4,
            checkpoint_every=4,
            n_samples=8,
            device="cpu",
        ),
        model=ProGANConfig(**{**defaults, **model}),
    ).validate()


def make(cfg: RunConfig, folder) -> Trainer:
    return Trainer(
        cfg, folder, data=tiny_images(size=cfg.data.size, channels=3), progress=False, tensorboard=False
    )


def test_fade_in_alpha_schedule():
    s = GrowthSchedule(stages=3, stable=2, fade=4)
    got = [s.at(step) for step in range(14)]
    assert got == [
        (0, 1.0), (0, 1.0),  # 4x4
        (1, 0.25), (1, 0.5), (1, 0.75), (1, 1.0),  # 8x8 fades in
        (1, 1.0), (1, 1.0),  # 8x8 stable
        (2, 0.25), (2, 0.5), (2, 0.75), (2, 1.0),  # 16x16 fades in
        (2, 1.0), (2, 1.0),  # 16x16 until the end
    ]  # fmt: skip
    assert s.full_size_step() == 11 and s.at(10_000) == (2, 1.0)
    assert GrowthSchedule.even(3, 100) == GrowthSchedule(3, 20, 20)  # 5 phases of 20 steps
    assert GrowthSchedule(1, 5, 5).at(3) == (0, 1.0)


def state_tensors(trainer: Trainer) -> dict[str, torch.Tensor]:
    state = trainer.state_dict()
    out = {f"models.{m}.{k}": v for m, sd in state["models"].items() for k, v in sd.items()}
    for name, sd in state["optimizers"].items():
        out.update({f"opt.{name}.{i}.{k}": v for i, s in sd["state"].items() for k, v in s.items()})
    return out


@pytest.mark.parametrize("augment", ["none", "ada"])
def test_resume_in_the_middle_of_a_fade_in_is_exact(tmp_path, augment):
    whole = make(config(12, augment=augment, ada_kimg=0.1), tmp_path / "whole")
    first = make(config(6, augment=augment, ada_kimg=0.1), tmp_path / "split")
    if augment == "ada":  # start as if ADA had raised p already, so that the transforms draw numbers
        whole.recipe.augment.p = first.recipe.augment.p = 0.5
    whole.fit()
    first.fit()
    assert (first.recipe.stage, first.recipe.alpha) == (1, 3 / 6)  # stopped half-way through the fade-in
    second = make(config(12, augment=augment, ada_kimg=0.1), tmp_path / "split")
    second.fit()
    assert second.recipe.state_dict() == whole.recipe.state_dict()
    a, b = state_tensors(whole), state_tensors(second)
    assert a.keys() == b.keys() and [k for k in a if not torch.equal(a[k], b[k])] == []
    if augment == "ada":
        assert whole.recipe.augment.p != 0.5  # p moved, and the move survived the resume


def test_models_follow_the_schedule_and_adam_restarts_at_each_growth(tmp_path):
    trainer = make(config(6), tmp_path / "run")
    seen = []
    for _ in range(6):
        trainer.train_step()
        seen.append(
            (int(trainer.recipe.G.stage), float(trainer.recipe.D.alpha), float(trainer.ema["G_ema"].alpha))
        )
        if trainer.step == 4:  # step 3 began the fade-in: Adam's state restarted there
            assert {int(s["step"]) for s in trainer.recipe.optimizers["D"].state.values()} == {1}
    expected = [(0, 1, 1), (0, 1, 1), (0, 1, 1), (1, 1 / 6, 1 / 6), (1, 2 / 6, 2 / 6), (1, 3 / 6, 3 / 6)]
    assert [s[0] for s in seen] == [e[0] for e in expected]  # G's stage buffer; alphas are float32 buffers
    assert [s[1:] for s in seen] == [pytest.approx(e[1:]) for e in expected]  # D's, and G_ema's via the EMA


def test_real_images_are_shown_at_the_current_stage(tmp_path):
    trainer = make(config(2, size=16), tmp_path / "run")
    trainer.recipe.begin_step(0, 2)
    reals = trainer.recipe.reals(next(trainer.stream))
    blocks = reals.unfold(2, 4, 4).unfold(3, 4, 4)  # stage 0: each 4x4 block of a 16x16 image is one pixel
    assert torch.equal(blocks, blocks[..., :1, :1].expand_as(blocks))


def test_the_bundle_samples_at_full_resolution(tmp_path, capsys):
    cfg = config(10, size=8, stable_steps=2, fade_steps=2)
    result = make(cfg, tmp_path / "run").fit()
    G = load_generator(result.bundle_dir).G
    assert (int(G.stage), float(G.alpha)) == (1, 1.0)
    out = G(torch.randn(4, 8))
    assert out.shape == (4, 3, 8, 8)
    blocks = out.unfold(2, 2, 2).unfold(3, 2, 2)
    assert not torch.equal(
        blocks, blocks[..., :1, :1].expand_as(blocks)
    )  # real 8x8 detail, not 4x4 upsampled
    assert "warning" not in capsys.readouterr().err


def test_a_schedule_that_ends_early_warns(tmp_path, capsys):
    trainer = make(config(4, stable_steps=3, fade_steps=6), tmp_path / "run")
    trainer.recipe.begin_step(0, 4)
    assert "will not reach full resolution; raise --steps" in capsys.readouterr().err
    even = make(config(10, stable_steps=None, fade_steps=None), tmp_path / "even")
    even.recipe.begin_step(0, 10)
    assert even.recipe.schedule == GrowthSchedule(2, 3, 3)  # 10 steps over 3 phases
