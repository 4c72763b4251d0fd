"""The stylegan recipe: phases and lazy regularization, exact resume, w_avg, style mixing, presets."""

from __future__ import annotations

import json

import pytest
import torch

from conftest import tiny_images
from ganforge.config import DataConfig, RunConfig, TrainConfig
from ganforge.presets import get_preset
from ganforge.recipes.stylegan import StyleGANConfig
from ganforge.training.trainer import Trainer


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def config(steps: int, **model) -> RunConfig:
    defaults = dict(z_dim=8, w_dim=8, mapping_layers=2, channel_base=64, max_channels=8)
    return RunConfig(
        name="tiny-stylegan",
        recipe="stylegan",
        data=DataConfig(source="tiny", size=16),
        train=TrainConfig(
            steps=steps,
            batch_size=8,
            log_every=2,
            sample_every=4,
            checkpoint_every=4,
            n_samples=8,
            device="cpu",
        ),
        model=StyleGANConfig(**{**defaults, **model}),
    ).validate()


def make(cfg: RunConfig, folder) -> Trainer:
    return Trainer(cfg, folder, data=tiny_images(size=16, channels=3), progress=False, tensorboard=False)


def test_phases_are_lazy_and_adam_is_adjusted_for_them(tmp_path):
    trainer = make(config(1), tmp_path / "a")
    assert [(p.name, p.optimizer, p.interval) for p in trainer.phases] == [
        ("D_main", "D", 1),
        ("D_reg", "D", 16),
        ("G_main", "G", 1),
        ("G_reg", "G", 4),
    ]
    d, g = trainer.recipe.optimizers["D"].param_groups[0], trainer.recipe.optimizers["G"].param_groups[0]
    assert d["lr"] == pytest.approx(0.002 * 16 / 17) and d["betas"] == pytest.approx((0.0, 0.99 ** (16 / 17)))
    assert g["lr"] == pytest.approx(0.002 * 4 / 5)
    plain = make(config(1, pl_weight=0.0, r1_gamma=0.0), tmp_path / "b")
    assert [p.name for p in plain.phases] == ["D_main", "G_main"]
    assert plain.recipe.optimizers["D"].param_groups[0]["lr"] == 0.002
    assert trainer.recipe.r1_gamma(8) == pytest.approx(0.0002 * 16**2 / 8)  # ADA's heuristic
    assert make(config(1, r1_gamma=5.0), tmp_path / "c").recipe.r1_gamma(8) == 5.0


def state_tensors(trainer: Trainer) -> dict[str, torch.Tensor]:
    state = trainer.state_dict()
    out = {f"models.{m}.{k}": v for m, sd in state["models"].items() for k, v in sd.items()}
    for name, sd in state["optimizers"].items():
        out.update({f"opt.{name}.{i}.{k}": v for i, s in sd["state"].items() for k, v in s.items()})
    return out


@pytest.mark.parametrize("augment", ["diffaugment", "ada"])
def test_resume_is_bitwise_exact(tmp_path, augment):
    """Every phase runs (R1 and path length every 2 steps), with augmentation and style mixing."""
    model = dict(r1_interval=2, pl_interval=2, augment=augment, ada_kimg=0.1)
    whole = make(config(10, **model), tmp_path / "whole")
    whole.fit()
    first = make(config(6, **model), tmp_path / "split")
    first.fit()
    second = make(config(10, **model), tmp_path / "split")
    second.fit()
    a, b = state_tensors(whole), state_tensors(second)
    assert a.keys() == b.keys() and [k for k in a if not torch.equal(a[k], b[k])] == []
    sa, sb = whole.recipe.state_dict(), second.recipe.state_dict()
    assert sa["augment"] == sb["augment"] and torch.equal(sa["pl_mean"], sb["pl_mean"])
    assert sa["pl_mean"] > 0  # the path-length phase ran and tracks its mean
    if augment == "ada":  # p rose at some point, so the split run resumed with ADA's transforms active
        logs = [json.loads(line) for line in (tmp_path / "whole" / "log.jsonl").read_text().splitlines()]
        assert max(line.get("aug_p", 0.0) for line in logs) > 0


def test_w_avg_is_tracked_and_carried_by_the_ema_copy(tmp_path):
    trainer = make(config(4, pl_weight=0.0), tmp_path / "run")
    trainer.fit()
    G, G_ema = trainer.recipe.G, trainer.ema["G_ema"]
    assert G.w_avg.abs().sum() > 0
    assert torch.equal(G_ema.w_avg, G.w_avg)  # a buffer: the EMA copies it as it is


def test_style_mixing_in_training_switches_latents_at_one_cutoff(tmp_path):
    trainer = make(config(1, style_mixing=1.0), tmp_path / "a")
    G = trainer.recipe.G
    cutoffs = set()
    for _ in range(20):
        with torch.no_grad():
            ws = trainer.recipe.draw_ws(4)
        same_as_first = [torch.equal(ws[:, i], ws[:, 0]) for i in range(G.num_ws)]
        cutoff = same_as_first.index(False)  # layers before the cutoff share one w, the rest another
        assert all(same_as_first[:cutoff]) and not any(same_as_first[cutoff:])
        assert all(torch.equal(ws[:, i], ws[:, cutoff]) for i in range(cutoff, G.num_ws))
        cutoffs.add(cutoff)
    assert cutoffs <= set(range(1, G.num_ws)) and len(cutoffs) > 2
    plain = make(config(1, style_mixing=0.0), tmp_path / "b")
    with torch.no_grad():
        ws = plain.recipe.draw_ws(4)
    assert all(torch.equal(ws[:, i], ws[:, 0]) for i in range(plain.recipe.G.num_ws))


def test_presets_resolve_and_are_sized_as_documented():
    emoji = get_preset("stylegan-emoji64")
    assert (emoji.recipe, emoji.data.source, emoji.data.size) == ("stylegan", "emoji", 64)
    lfw = get_preset("stylegan-lfw")
    assert (lfw.data.source, lfw.data.size, lfw.model.augment) == ("lfw-mini", 32, "ada")
    generic = get_preset("stylegan")
    assert generic.model.z_dim == 512 and generic.model.mapping_layers == 8
    assert get_preset("progan").recipe == "progan"


def test_one_synthesis_per_step_feeds_both_players(tmp_path):
    """D_main's fakes (with their graph) are G_main's: one synthesis per step without path length."""
    trainer = make(config(4, pl_weight=0.0), tmp_path / "a")
    G, calls = trainer.recipe.G, []
    synthesis = G.synthesis
    G.synthesis = lambda *a, **k: calls.append(1) or synthesis(*a, **k)
    before = {name: p.detach().clone() for name, p in G.named_parameters()}
    trainer.train_step()
    trainer.train_step()
    assert len(calls) == 2
    assert trainer.recipe._kept is None  # released after G_main
    changed = [name for name, p in G.named_parameters() if not torch.equal(before[name], p)]
    assert any(name.startswith("synthesis") or ".conv." in name for name in changed), changed
