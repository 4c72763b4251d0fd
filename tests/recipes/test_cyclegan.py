"""CycleGAN (Zhu et al. 2017): losses, image pool, schedule, exact resume, bundles, CLI."""

import json

import pytest
import torch
from PIL import Image
from torch import nn
from typer.testing import CliRunner

from ganforge.bundle import load_bundle
from ganforge.cli.app import app
from ganforge.config import DataConfig, RunConfig, TrainConfig
from ganforge.data.dataset import ImageData
from ganforge.errors import ConfigError
from ganforge.imaging import to_float
from ganforge.presets import get_preset
from ganforge.recipes.base import Batch
from ganforge.recipes.cyclegan import CycleGANConfig, CycleGANRecipe
from ganforge.training import checkpoint as ckpt
from ganforge.training.trainer import Trainer


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: intra-op threads only add overhead (a lot of it on a busy machine)."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)  # the trainer sets train.threads=1 globally


def rectangles(n: int, size: int, seed: int, invert: bool) -> ImageData:
    """Domain A: one white rectangle on black per image; domain B (invert): black on white."""
    g = torch.Generator().manual_seed(seed)
    images = torch.zeros(n, 3, size, size, dtype=torch.uint8)
    for i in range(n):
        h, w = torch.randint(2, size // 2 + 1, (2,), generator=g).tolist()
        y, x = (torch.randint(0, size - s + 1, (1,), generator=g).item() for s in (h, w))
        images[i, :, y : y + h, x : x + w] = 255
    return ImageData(255 - images if invert else images, None, None, "rectangles")


def domains(size: int = 8) -> dict[str, ImageData]:
    return {"main": rectangles(32, size, 0, invert=False), "B": rectangles(32, size, 1, invert=True)}


def tiny(steps: int = 10, size: int = 8, **model) -> RunConfig:
    small = dict(g_channels=4, d_channels=4, n_blocks=1, d_layers=1, lr_g=2e-3, lr_d=2e-3, pool_size=6)
    return RunConfig(
        name="tiny-cyclegan",
        recipe="cyclegan",
        data=DataConfig(source="rectangles", size=size),
        train=TrainConfig(
            steps=steps,
            batch_size=4,
            log_every=2,
            sample_every=100,
            checkpoint_every=4,
            keep_checkpoints=2,
            n_samples=12,
            device="cpu",
            threads=1,
        ),
        model=CycleGANConfig(**{**small, **model}),
    ).validate()


def make(cfg, run_dir, data=None):
    return Trainer(cfg, run_dir, data=data or domains(cfg.data.size), progress=False, tensorboard=False)


def logged(run_dir, key):
    lines = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    return [line[key] for line in lines if key in line]


def test_cycle_loss_falls_in_a_short_run(tmp_path):
    cfg = tiny(steps=20)
    cfg.train.checkpoint_every = 100  # only the first and last checkpoints: this test is about the losses
    make(cfg, tmp_path / "run").fit()
    run = tmp_path / "run"
    cycle = [a + b for a, b in zip(logged(run, "cycle_A"), logged(run, "cycle_B"), strict=True)]
    assert len(cycle) == 10
    assert sum(cycle[-2:]) < 0.6 * sum(cycle[:2])  # measured: about 1.6 -> 0.6 (|x| in [-1, 1] images)
    bundle = tmp_path / "run" / "bundle"
    assert {"G_AB.safetensors", "G_BA.safetensors", "model.json", "samples.png"} <= {
        p.name for p in bundle.iterdir()
    }
    with Image.open(bundle / "samples.png") as grid:  # 12 samples: 2 rows of a|G_AB(a)|rec|b|G_BA(b)|rec
        assert grid.size == (6 * 10 + 2, 2 * 10 + 2)


def test_identity_and_cycle_losses_are_zero_for_identity_generators(tmp_path):
    trainer = make(tiny(), tmp_path / "run")
    recipe = trainer.recipe
    batch = Batch(real=to_float(domains()["main"].images[:4]))
    batch.extra["B"] = Batch(real=to_float(domains()["B"].images[:4]))
    loss, logs = recipe.g_main(batch)
    assert logs["idt_A"] > 0.05 and logs["cycle_A"] > 0.05  # a random generator changes its input
    recipe.G_AB, recipe.G_BA = nn.Identity(), nn.Identity()
    loss, logs = recipe.g_main(batch)
    for key in ("idt_A", "idt_B", "cycle_A", "cycle_B"):
        assert logs[key].item() == 0.0, key
    # all that is left is the adversarial part: (D(x) - 1)^2 for lsgan, as in the authors' code
    fake_B, fake_A = batch.real, batch.extra["B"].real  # what identity generators output
    adversarial = ((recipe.D_B(fake_B) - 1) ** 2).mean() + ((recipe.D_A(fake_A) - 1) ** 2).mean()
    assert loss.item() == pytest.approx(adversarial.item(), rel=1e-6)


def lr_factor(step: int, total_steps: int, decay_start: float) -> float:
    return CycleGANConfig(decay_start=decay_start).lr_factor(step, total_steps)


def test_learning_rate_is_constant_then_decays_linearly():
    assert CycleGANConfig().decay_start == 0.5  # the paper: constant for the first half
    assert [lr_factor(s, 10, 0.5) for s in (0, 4, 5)] == [1.0, 1.0, 1.0]
    assert [round(lr_factor(s, 10, 0.5), 6) for s in (6, 7, 9)] == [round(1 - k / 6, 6) for k in (1, 2, 4)]
    assert lr_factor(9, 10, 0.0) == pytest.approx(2 / 11)  # 1 - 9/11: never 0, as in the authors' code
    # the trainer applies it with its health scale: tests/training/test_lr_schedule.py


def state_tensors(trainer):
    state = trainer.state_dict()
    out = {f"models.{m}.{k}": v for m, sd in state["models"].items() for k, v in sd.items()}
    for name, sd in state["optimizers"].items():
        out |= {
            f"opt.{name}.{i}.{k}": v
            for i, s in sd["state"].items()
            for k, v in s.items()
            if torch.is_tensor(v)
        }
        out |= {f"opt.{name}.lr{i}": torch.tensor(g["lr"]) for i, g in enumerate(sd["param_groups"])}
    for name in ("pool_A", "pool_B"):
        out[name] = state["recipe"][name]["images"]
    return out


def test_resume_is_bitwise_exact_with_pool_and_schedule(tmp_path):
    whole = make(tiny(steps=10), tmp_path / "whole")
    whole.fit()
    first = make(tiny(steps=10), tmp_path / "split")
    d_main = first.phases[1].run

    def stop_after_step_6(batch):
        if first.step == 5:
            first._stop.set()  # what Ctrl-C does: the run stops after this step with a checkpoint
        return d_main(batch)

    first.phases[1].run = stop_after_step_6
    assert first.fit().interrupted and ckpt.load_latest(tmp_path / "split" / "checkpoints")["step"] == 6
    second = make(tiny(steps=10), tmp_path / "split")
    assert second.fit().step == 10
    a, b = state_tensors(whole), state_tensors(second)
    assert a.keys() == b.keys() and len(whole.recipe.pool_A) == 6
    assert [k for k in a if not torch.equal(a[k], b[k])] == []
    assert whole.recipe.optimizers["G"].param_groups[0]["lr"] == pytest.approx(2e-3 * lr_factor(9, 10, 0.5))


def test_bundle_models_reproduce_the_trained_generators(tmp_path):
    trainer = make(tiny(steps=2), tmp_path / "run")
    trainer.fit()
    bundle = load_bundle(tmp_path / "run" / "bundle")
    assert set(bundle.models) == {"G_AB", "G_BA"} and bundle.config.recipe == "cyclegan"
    x = to_float(domains()["main"].images[:2])
    for name in ("G_AB", "G_BA"):
        assert torch.allclose(bundle.models[name](x), trainer.recipe.models[name].eval()(x), atol=1e-6)
    # `ganforge translate BUNDLE ... --direction AtoB|BtoA` runs G_AB or G_BA
    from ganforge.pipelines.translate import TranslatePipeline

    image = x[:1]
    for direction, name in (("AtoB", "G_AB"), ("BtoA", "G_BA")):
        out = TranslatePipeline.from_bundle(tmp_path / "run", direction)(image)
        assert torch.allclose(out, bundle.models[name](image), atol=1e-5), direction


def test_load_data_and_bad_sizes(tmp_path):
    for name, color in (("a", (255, 0, 0)), ("b", (0, 0, 255))):
        (tmp_path / name).mkdir()
        for i in range(3):
            Image.new("RGB", (16, 16), color).save(tmp_path / name / f"{i}.png")
    cfg = tiny(size=16)
    cfg.model.data_a, cfg.model.data_b = str(tmp_path / "a"), str(tmp_path / "b")
    data = CycleGANRecipe.load_data(cfg)
    assert set(data) == {"main", "B"} and data["main"].images.shape == (3, 3, 16, 16)
    assert data["B"].images[0, :, 0, 0].tolist() == [0, 0, 255]
    with pytest.raises(ConfigError, match="multiple of 4 and at least 12 px"):
        make(tiny(size=10, d_layers=2), tmp_path / "bad", data=domains(10))


runner = CliRunner()


def test_cli_presets_flags_and_a_tiny_run(tmp_path):
    cfg = json.loads(runner.invoke(app, ["train", "--preset", "cyclegan", "--dry-run"]).stdout)
    assert cfg["recipe"] == "cyclegan" and cfg["data"]["size"] == 256 and cfg["train"]["batch_size"] == 1
    m = cfg["model"]
    assert (m["lambda_cycle"], m["lambda_identity"], m["pool_size"], m["loss"]) == (10.0, 0.5, 50, "lsgan")
    assert get_preset("cyclegan").model.n_blocks is None  # 9 blocks at 256 px, 6 below
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for i in range(4):
            Image.new("RGB", (12, 12), (60 * i, 100, 200 if name == "b" else 0)).save(
                tmp_path / name / f"{i}.png"
            )
    args = ["train", "--model", "cyclegan", "--data-a", str(tmp_path / "a"), "--data-b", str(tmp_path / "b")]
    args += [
        "--direction",
        "BtoA",
        "--size",
        "8",
        "--steps",
        "2",
        "--batch-size",
        "2",
        "--runs-dir",
        str(tmp_path),
    ]
    for key, value in dict(g_channels=4, d_channels=4, n_blocks=1, d_layers=1).items():
        args += ["--set", f"model.{key}={value}"]
    args += ["--set", "train.device=cpu", "--set", "train.threads=1"]
    dry = json.loads(runner.invoke(app, [*args, "--dry-run"]).stdout)
    assert (dry["model"]["data_a"], dry["model"]["direction"]) == (str(tmp_path / "a"), "BtoA")
    result = runner.invoke(app, [*args, "--no-progress"])
    assert result.exit_code == 0, result.output
    (run,) = [p for p in tmp_path.iterdir() if p.name.endswith("-cyclegan")]
    assert {"G_AB.safetensors", "G_BA.safetensors"} <= {p.name for p in (run / "bundle").iterdir()}
    result = runner.invoke(
        app, ["train", "--model", "cyclegan", "--data-a", str(tmp_path / "a"), "--dry-run"]
    )
    assert result.exit_code == 0  # --dry-run does not load data; a real run needs both domains
