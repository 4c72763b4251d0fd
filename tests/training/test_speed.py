"""The trainer's speed switches give the eager float32 result within tolerance."""

import copy

import pytest
import torch
import torch.nn.functional as F

from conftest import tiny_config, tiny_images
from ganforge.errors import ConfigError
from ganforge.training import speed
from ganforge.training.trainer import Trainer


def make(cfg, run_dir, data=None):
    return Trainer(cfg, run_dir, data=data or tiny_images(size=16), progress=False, tensorboard=False)


def dcgan_config(**train):
    cfg = tiny_config("dcgan", steps=4)
    cfg.data.size = 16
    switches_off = {"precision": "fp32", "memory_format": "contiguous", "fused_optim": False}
    for key, value in {**switches_off, **train}.items():
        setattr(cfg.train, key, value)
    return cfg.validate()


def test_a_dcgan_step_equals_the_plain_eager_loop(tmp_path):
    """One ganforge step is the textbook DCGAN step on the same networks: one G forward whose
    output D sees detached in its phase and attached in G's (Radford et al. 2015)."""
    trainer = make(dcgan_config(), tmp_path / "run")
    G, D = copy.deepcopy(trainer.recipe.G), copy.deepcopy(trainer.recipe.D)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    stream = copy.deepcopy(trainer.stream)
    noise = torch.Generator().set_state(trainer.recipe.generator.get_state())

    trainer.train_step()

    real = next(stream).real
    fake = G(torch.randn(real.shape[0], 8, generator=noise))
    loss_d = F.softplus(-D(real)).mean() + F.softplus(D(fake.detach())).mean()
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    loss_g = F.softplus(-D(fake)).mean()
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()

    for ours, plain in ((trainer.recipe.G, G), (trainer.recipe.D, D)):
        for (name, a), b in zip(ours.state_dict().items(), plain.state_dict().values(), strict=True):
            torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7, msg=name)


def generated_after_training(tmp_path, name, steps=4, **train):
    trainer = make(dcgan_config(**train), tmp_path / name)
    for _ in range(steps):
        trainer.train_step()
    z = torch.randn(16, 8, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        return trainer.recipe.G.eval()(z)


@pytest.mark.parametrize(
    "switch, tolerance",
    [
        ({"memory_format": "channels_last"}, 1e-4),
        # one fused Adam kernel: the same arithmetic in another order
        ({"fused_optim": True}, 1e-5),
        # bf16 keeps 8 bits of mantissa: about 3 significant digits in each pass
        ({"precision": "bf16"}, 0.05),
    ],
)
def test_speed_switches_match_eager_float32(tmp_path, switch, tolerance):
    eager = generated_after_training(tmp_path, "eager")
    fast = generated_after_training(tmp_path, "fast", **switch)
    assert fast.dtype == torch.float32 and fast.shape == eager.shape
    assert (fast - eager).abs().max() < tolerance
    assert (fast - eager).abs().max() > 0 or switch.get("memory_format")  # bf16 really ran


def test_fused_optimizers_keep_their_settings_and_are_opt_in(tmp_path):
    cfg = tiny_config("dcgan", steps=2)
    cfg.train.fused_optim = True
    trainer = make(cfg.validate(), tmp_path / "run")
    assert trainer.speed_settings()["fused_optimizers"] == ["G", "D"]
    for opt in trainer.recipe.optimizers.values():
        assert opt.defaults["fused"] and opt.param_groups[0]["betas"] == (0.5, 0.999)
    params = sum(len(g["params"]) for g in trainer.recipe.optimizers["G"].param_groups)
    assert params == len(list(trainer.recipe.G.parameters()))
    trainer.fit()
    assert all(opt.state for opt in trainer.recipe.optimizers.values())  # they stepped
    off = make(tiny_config("dcgan", steps=2).validate(), tmp_path / "off")  # the default
    assert off.speed_settings()["fused_optimizers"] == []
    assert not any(opt.defaults["fused"] for opt in off.recipe.optimizers.values())


def test_fuse_optimizers_leaves_what_it_cannot_fuse():
    cpu = torch.device("cpu")
    w = torch.nn.Parameter(torch.randn(3))
    stepped = torch.optim.Adam([w])
    w.grad = torch.ones(3)
    stepped.step()  # has state: rebuilding would lose it
    opts = {"sgd": torch.optim.SGD([w], lr=0.1), "stepped": stepped, "adam": torch.optim.Adam([w], lr=0.01)}
    assert speed.fuse_optimizers(opts, cpu) == ["adam"]
    assert opts["stepped"] is stepped
    assert opts["adam"].defaults["fused"] and opts["adam"].defaults["lr"] == 0.01
    assert speed.fuse_optimizers({"adam": torch.optim.Adam([w])}, torch.device("meta")) == []


def test_channels_last_converts_the_models_and_keeps_them_training(tmp_path):
    trainer = make(dcgan_config(memory_format="channels_last"), tmp_path / "run")
    conv = next(p for p in trainer.recipe.D.parameters() if p.dim() == 4 and p.shape[1] > 1)
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    trainer.fit()  # checkpoints and the bundle's safetensors need contiguous copies
    assert (tmp_path / "run" / "bundle" / "G_ema.safetensors").is_file()


def test_auto_picks_per_device_and_recipe():
    cpu = torch.device("cpu")
    assert speed.use_channels_last("auto", cpu, supported=True)
    assert not speed.use_channels_last("auto", cpu, supported=False)
    assert speed.use_channels_last("channels_last", cpu, supported=False)
    assert not speed.use_channels_last("contiguous", cpu, supported=True)
    assert speed.autocast_dtype("fp32", cpu) is None
    assert speed.autocast_dtype("bf16", cpu) is torch.bfloat16
    assert speed.autocast_dtype("auto", cpu) is (torch.bfloat16 if speed.native_bf16(cpu) else None)
    assert speed.autocast_dtype("auto", cpu, auto_ok=False) is None  # e.g. sgan: slower in bf16
    assert speed.autocast_dtype("bf16", cpu, auto_ok=False) is torch.bfloat16  # asked for explicitly
    assert not speed.native_bf16(torch.device("meta"))


def test_bad_speed_values_are_named(tmp_path):
    cfg = tiny_config("dcgan")
    cfg.train.precision = "fp16"
    with pytest.raises(ConfigError, match=r"train.precision 'fp16' is not one of auto, fp32, bf16 \(fp32: "):
        cfg.validate()
    cfg.train.precision, cfg.train.memory_format = "auto", "nhwc"
    with pytest.raises(ConfigError, match="train.memory_format='nhwc'"):
        cfg.validate()


def test_all_finite_sees_nan_and_inf_but_not_large_values():
    tensors = [torch.randn(3, 3), torch.full((4,), 3e38)]
    assert speed.all_finite(tensors) and speed.all_finite([])
    for bad in (float("nan"), float("inf"), -float("inf")):
        tensors[1][2] = bad
        assert not speed.all_finite(tensors)


def test_compile_falls_back_to_eager_with_a_warning(monkeypatch, capsys):
    monkeypatch.setattr(speed, "compile_available", lambda device: "no compiler here")
    model = torch.nn.Linear(2, 2)
    assert speed.compile_models([model], torch.device("cpu")) is False
    assert "train.compile: no compiler here; training eagerly" in capsys.readouterr().err
    assert type(model.forward).__name__ == "method"  # untouched


def test_compile_refuses_runs_that_differentiate_a_gradient(tmp_path):
    """R1, path length and WGAN-GP backpropagate through a gradient (create_graph=True), which
    compiled graphs cannot: a one-line ConfigError before training instead of a crash mid-step."""
    stylegan = tiny_config("stylegan", steps=2)
    stylegan.data.size, stylegan.train.compile = 16, True
    with pytest.raises(ConfigError, match="train.compile cannot train this stylegan run: R1"):
        make(stylegan.validate(), tmp_path / "sg", tiny_images(size=16))
    gp = tiny_config("dcgan", steps=2, gp_weight=10.0, loss="wgan")
    gp.data.size, gp.train.compile = 16, True
    with pytest.raises(ConfigError, match="the gradient penalty \\(model.gp_weight\\)"):
        make(gp.validate(), tmp_path / "gp")


@pytest.mark.skipif(
    speed.compile_available(torch.device("cpu")) is not None, reason="torch.compile unavailable"
)
def test_compiled_training_matches_eager(tmp_path):
    eager = generated_after_training(tmp_path, "eager", steps=2)
    compiled = generated_after_training(tmp_path, "compiled", steps=2, compile=True)
    assert (compiled - eager).abs().max() < 1e-4


@pytest.mark.parametrize("d_steps, forwards_with_graph", [(1, [True, True, True]), (2, [True, False, True])])
def test_dcgan_draws_one_fake_batch_per_step(tmp_path, d_steps, forwards_with_graph):
    """G runs once a step; with graph only on steps where G_main follows and reuses the fakes."""
    cfg = dcgan_config()
    cfg.model.d_steps = d_steps
    trainer = make(cfg, tmp_path / "run")
    seen = []
    trainer.recipe.G.register_forward_hook(lambda module, args, out: seen.append(out.requires_grad))
    for _ in range(3):
        trainer.train_step()
    assert seen == forwards_with_graph


def test_bf16_sampling_keeps_pixels_within_one_level_of_float32():
    """Sampling with precision bf16 (bf16 autocast, channels_last; what `auto` picks where native):
    at least 99.9% of a batch-64 DCGAN 64x64 grid's uint8 pixels within one level of float32."""
    from ganforge.imaging import to_uint8
    from ganforge.registry import create_model, load_all

    load_all()
    torch.manual_seed(0)
    G = create_model("dcgan.G", z_dim=100, img_channels=3, img_size=64, base_channels=32).eval()
    z = torch.randn(64, 100, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        exact = to_uint8(G(z)).int()
        fast = to_uint8(speed.inference_runner(copy.deepcopy(G), torch.device("cpu"), "bf16")(z)).int()
    off = (fast - exact).abs()
    assert fast.shape == exact.shape == (64, 3, 64, 64)
    assert (off <= 1).float().mean() >= 0.999, f"{(off <= 1).float().mean():.5f} within one level"
    assert off.max() <= 4 and (off > 0).any()  # bf16 does move some pixels: the test can fail
