"""The fastgan recipe and models: shapes, skip-layer excitation, D's reconstructions, held-out data,
a tiny training with exact resume, the sample grid, presets."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from conftest import tiny_images
from ganforge.config import DataConfig, RunConfig, TrainConfig
from ganforge.errors import ConfigError
from ganforge.models.fastgan import FastGANDiscriminator, FastGANGenerator, reconstruction_targets, widths
from ganforge.presets import get_preset
from ganforge.recipes.fastgan import FastGANConfig, held_out_index, training_index
from ganforge.training import speed
from ganforge.training.trainer import Trainer

TINY = dict(channel_base=64, max_channels=8)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def config(steps: int, **model) -> RunConfig:
    return RunConfig(
        name="tiny-fastgan",
        recipe="fastgan",
        data=DataConfig(source="tiny", size=32),
        train=TrainConfig(
            steps=steps,
            batch_size=4,
            log_every=1,
            sample_every=2,
            checkpoint_every=2,
            n_samples=8,
            device="cpu",
        ),
        model=FastGANConfig(**{**dict(z_dim=8, holdout=0, **TINY), **model}),
    ).validate()


def make(cfg: RunConfig, folder) -> Trainer:
    data = tiny_images(n=16, size=32, channels=3)
    return Trainer(cfg, folder, data=data, progress=False, tensorboard=False)


@pytest.mark.parametrize("size", [32, 64])
def test_shapes_and_range(size):
    torch.manual_seed(0)
    G = FastGANGenerator(z_dim=8, img_size=size, **TINY)
    D = FastGANDiscriminator(img_size=size, **TINY)
    images = G(torch.randn(3, 8))
    assert images.shape == (3, 3, size, size) and images.abs().max() <= 1
    # the last conv runs channels-last; what G returns is plain NCHW, with the values of an NCHW conv
    assert images.is_contiguous()
    G.eval()  # spectral norm's weight fixed between the forward and the check
    seen = {}
    G.to_rgb.register_forward_hook(lambda module, args, out: seen.update(x=args[0]))
    with torch.no_grad():
        again = G(torch.randn(3, 8))
        plain = torch.tanh(F.conv2d(seen["x"].contiguous(), G.to_rgb.weight, padding=1))
    assert seen["x"].is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(again, plain, atol=1e-6)
    logits, feat16, feat8 = D.outputs(images)
    assert logits.shape == (3,) and feat16.shape[-2:] == (16, 16) and feat8.shape[-2:] == (8, 8)
    whole, part = D.reconstruct(feat16, feat8, quadrant=3)
    assert whole.shape == part.shape == (3, 3, size // 2, size // 2)
    # SLE gates 32 from 4 always, and 64 from 8 at 64 px
    assert sorted(G.sle) == (["32"] if size == 32 else ["32", "64"])
    assert widths(64, 1024, 128) == {4: 128, 8: 128, 16: 64, 32: 32, 64: 16}


def test_skip_excitation_gates_the_large_map_by_channel():
    torch.manual_seed(0)
    G = FastGANGenerator(z_dim=8, img_size=32, spectral_norm=False, **TINY)
    sle = G.sle["32"]
    ch = widths(32, 64, 8)  # {4: 8, 8: 8, 16: 4, 32: 4}
    small, big = torch.randn(2, ch[4], 4, 4), torch.ones(2, ch[32], 32, 32)
    gated = sle(small, big)
    # one gate per (image, channel) in (0, 1), constant over space
    assert torch.equal(gated, gated[:, :, :1, :1].expand_as(gated))
    assert ((gated > 0) & (gated < 1)).all()
    assert not torch.allclose(gated[0], gated[1])  # it depends on the small map


def test_backward_reaches_every_parameter():
    torch.manual_seed(0)
    G, D = FastGANGenerator(z_dim=8, img_size=32, **TINY), FastGANDiscriminator(img_size=32, **TINY)
    fake = G(torch.randn(4, 8))
    logits, feat16, feat8 = D.outputs(fake)
    whole, part = D.reconstruct(feat16, feat8, 0)
    (logits.mean() + whole.mean() + part.mean()).backward()
    missing = [n for n, p in [*G.named_parameters(), *D.named_parameters()] if p.grad is None]
    assert missing == []


def test_reconstruction_targets_are_the_half_size_image_and_a_full_size_quadrant():
    real = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).view(2, 3, 8, 8)
    whole, part = reconstruction_targets(real, quadrant=1)  # top right
    assert torch.allclose(whole[0, 0, 0, 0], real[0, 0, :2, :2].mean())
    assert torch.equal(part, real[:, :, :4, 4:])
    assert whole.shape == part.shape == (2, 3, 4, 4)


def test_bad_sizes_are_clear_errors():
    with pytest.raises(ConfigError, match="img_size must be one of 32, 64, 128, 256"):
        FastGANGenerator(img_size=48)
    with pytest.raises(ConfigError, match="model.holdout"):
        FastGANConfig(holdout=-1).validate()
    with pytest.raises(ConfigError, match="leaves no training images"):
        held_out_index(10, 10, 0)


def test_held_out_images_are_the_eval_reference_and_never_trained_on():
    from ganforge.metrics.reference import choose

    held = held_out_index(3878, 1000, 0)
    assert torch.equal(held, choose(3878, 1000, 0))  # what `ganforge eval --n 1000 --seed 0` compares with
    train = training_index(3878, 1000, 0)
    assert len(train) == 2878 and not set(train.tolist()) & set(held.tolist())
    assert torch.equal(training_index(5, 0, 0), torch.arange(5))


# G's noise comes from the run's generator
EXTRAS = dict(
    g_noise=True, g_double_at=(16,), d_mbstd_group=2, d_head="global", d_head_width=4, d_head_hidden=8
)


def trained_and_resumed(tmp_path, **model) -> tuple[Trainer, Trainer]:
    """4 tiny steps in one go, and 2 + 2 with a resume between: G and D must come out identical."""
    whole = make(config(4, **model), tmp_path / "whole")
    whole.fit()
    make(config(2, **model), tmp_path / "split").fit()
    second = make(config(4, **model), tmp_path / "split")
    second.fit()
    a, b = whole.state_dict()["models"], second.state_dict()["models"]
    for name in ("G", "D"):
        assert all(torch.equal(a[name][k], b[name][k]) for k in a[name]), name
    return whole, second


@pytest.mark.parametrize(
    "r1",
    [{}, dict(r1_gamma=1.0, r1_interval=3), EXTRAS],  # R1 due on step 2: after the resume
    ids=["plain", "r1", "noise-double-mbstd"],
)
def test_tiny_training_resumes_exactly_and_writes_a_grid(tmp_path, r1):
    whole, second = trained_and_resumed(tmp_path, **r1)
    assert whole.recipe.state_dict() == second.recipe.state_dict()
    logs = [json.loads(line) for line in (tmp_path / "whole" / "log.jsonl").read_text().splitlines()]
    steps = [line for line in logs if "D_rec" in line]
    assert len(steps) == 4 and all(line["D_rec"] > 0 and line["aug_p"] == 1.0 for line in steps)
    assert [line["step"] for line in steps if "D_r1" in line] == ([3] if "r1_gamma" in r1 else [])
    grid = tmp_path / "whole" / "samples" / "step-000004.png"
    with Image.open(grid) as image:  # 8 samples of 32 px in a grid, RGB
        assert image.mode == "RGB" and min(image.size) >= 32
        pixels = torch.from_numpy(np.asarray(image, dtype=np.float32))
    assert pixels.std() > 1  # not a blank grid


def test_one_generator_pass_per_step_feeds_both_players(tmp_path):
    trainer = make(config(1), tmp_path / "a")
    G, calls = trainer.recipe.G, []
    forward = G.forward
    G.forward = lambda *a, **k: calls.append(1) or forward(*a, **k)
    trainer.train_step()
    assert len(calls) == 1 and trainer.recipe._kept is None


def test_preset_holds_out_the_eval_reference():
    cfg = get_preset("fastgan-emoji64")
    assert (cfg.recipe, cfg.data.source, cfg.data.size, cfg.model.augment) == (
        "fastgan",
        "emoji",
        64,
        "diffaugment",
    )
    assert cfg.model.holdout == 1000 and cfg.model.holdout_seed == 0
    assert (cfg.train.steps, cfg.train.batch_size, cfg.model.channel_base) == (10000, 16, 1024)
    assert cfg.train.ema_decay == 0.999  # 98.9 against 101.7 at 0.995 over three training seeds
    assert (cfg.model.g_channel_base, cfg.model.rec_weight) == (512, 0.0)  # twice the steps in the budget
    assert (cfg.model.loss, cfg.model.r1_gamma) == ("ns", 0.0)  # ns: 106.6 against the hinge's 113.8
    assert cfg.model.diffaugment_policy == ("color", "translation")  # the paper's code: no cutout
    assert (cfg.model.lr_g, cfg.model.lr_d) == (1e-3, 1e-3)  # best of 2e-4, 5e-4, 1e-3 at 5,000 steps
    assert (cfg.model.d_head, cfg.model.d_head_width, cfg.model.d_head_hidden) == ("global", 32, 64)
    assert not cfg.model.conditional
    groups = get_preset("fastgan-emoji64-groups")
    assert groups.model.conditional and groups.model.mode_seeking == 0.5  # 1.0: 103.1, 0.5: 99.8 (seed 1)
    assert groups.model.class_ramp == (1000, 3000)  # the class comes in over steps 1,000-3,000
    same = {
        k: v for k, v in vars(groups.model).items() if k not in ("conditional", "mode_seeking", "class_ramp")
    }
    assert (
        same == {k: vars(cfg.model)[k] for k in same}
        and groups.train == cfg.train
        and groups.data == cfg.data
    )


def test_diffaugment_policy_is_what_d_sees(tmp_path):
    """D sees the configured DiffAugment ops only: translation alone keeps every pixel's colour (shifted,
    with zero fill), colour alone keeps every image's layout, and an unknown op is a clear error."""
    white = torch.ones(4, 3, 32, 32)
    shifted = make(config(1, diffaugment_policy=("translation",)), tmp_path / "t").recipe.augmented(white)
    assert set(shifted.unique().tolist()) <= {0.0, 1.0} and (shifted == 0).any()  # moved, never recoloured
    coloured = make(config(1, diffaugment_policy=("color",)), tmp_path / "c").recipe.augmented(white)
    assert not torch.equal(coloured, white)
    assert torch.allclose(coloured, coloured[:, :, :1, :1].expand_as(coloured))  # uniform: nothing moved
    unchanged = make(config(1, augment="none"), tmp_path / "n").recipe.augmented(white)
    assert torch.equal(unchanged, white)
    with pytest.raises(ConfigError, match="unknown ops \\['flip'\\]"):
        config(1, diffaugment_policy=("color", "flip"))


def test_rec_weight_zero_skips_the_decoders(tmp_path):
    """At model.rec_weight=0 D's decoders are not run: no gradient reaches them, D_rec is not logged,
    the rest of D still learns; with the default weight they get gradients and D_rec is logged."""
    off = make(config(1, rec_weight=0.0), tmp_path / "off")
    before = {k: v.clone() for k, v in off.recipe.D.state_dict().items()}
    calls = []
    decode = off.recipe.D.decode_whole.forward
    off.recipe.D.decode_whole.forward = lambda *a, **k: calls.append(1) or decode(*a, **k)
    logs = off.train_step()
    assert calls == [] and "D_rec" not in logs and "D_loss" in logs
    decoders = [n for n, _ in off.recipe.D.named_parameters() if n.startswith("decode_")]
    grads = {n: p.grad for n, p in off.recipe.D.named_parameters()}
    assert decoders and all(grads[n] is None for n in decoders)
    after = off.recipe.D.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("decode_"))
    key = "from_rgb.parametrizations.weight.original"
    assert not torch.equal(before[key], after[key])

    on = make(config(1), tmp_path / "on")
    assert on.train_step()["D_rec"] > 0
    grads = {n: p.grad for n, p in on.recipe.D.named_parameters()}
    assert all(grads[n] is not None and grads[n].abs().sum() > 0 for n in decoders)


def test_g_channel_base_narrows_g_only(tmp_path):
    """`model.g_channel_base` sets G's widths and leaves D's at `channel_base`; the bundle's spec
    records it, so a sampled G is rebuilt as trained; a width below 1 is a clear error."""
    same = make(config(1), tmp_path / "same").recipe
    narrow = make(config(1, g_channel_base=32), tmp_path / "narrow").recipe
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(narrow.G) < count(same.G) and count(narrow.D) == count(same.D)
    assert narrow.specs["G"].kwargs["channel_base"] == 32 and narrow.specs["D"].kwargs["channel_base"] == 64
    assert [m.out_channels for m in narrow.G.modules() if isinstance(m, torch.nn.Conv2d)][-1] == 3
    with pytest.raises(ConfigError, match="g_channel_base=0 must be >= 1"):
        config(1, g_channel_base=0)


@pytest.mark.skipif(
    speed.compile_available(torch.device("cpu")) is not None, reason="torch.compile unavailable"
)
def test_compiled_training_matches_eager(tmp_path):
    """train.compile=true trains fastgan (D's features for the reconstruction loss come from
    `D.outputs`, called beside the compiled forward: it crashed at the first backward with
    "modified by an inplace operation") and gives what eager training gives."""
    after = {}
    for name, compiled in (("eager", False), ("compiled", True)):
        cfg = config(2)
        cfg.train.precision, cfg.train.compile = "fp32", compiled
        trainer = make(cfg, tmp_path / name)
        logs = [trainer.train_step() for _ in range(2)]
        assert all(float(line["D_rec"]) > 0 for line in logs)
        after[name] = {k: v.detach().clone() for k, v in trainer.recipe.D.state_dict().items()}
    assert after["eager"].keys() == after["compiled"].keys()
    for key, value in after["eager"].items():
        assert torch.allclose(after["compiled"][key], value, atol=1e-4), key


@pytest.mark.parametrize("name", ["hinge", "ns", "lsgan"])
def test_model_loss_is_what_both_players_minimize(tmp_path, name):
    """`model.loss` picks the adversarial loss of ganforge.losses: D_loss and G_loss of a step are
    that loss of the logits D gave (read at D's head: real, fake, then fake again for G)."""
    from ganforge.losses import get_adversarial_loss

    trainer = make(config(1, loss=name, rec_weight=0.0), tmp_path / name)
    heads = []
    record = lambda module, args, out: heads.append(out.detach().flatten(1).mean(1))  # noqa: E731
    trainer.recipe.D.head.register_forward_hook(record)
    logs = trainer.train_step()
    real, fake, fake_for_g = heads
    loss = get_adversarial_loss(name)
    assert torch.allclose(logs["D_loss"], loss.d_loss(real, fake), atol=1e-5)
    assert torch.allclose(logs["G_loss"], loss.g_loss(fake_for_g), atol=1e-5)


def test_bad_loss_is_a_clear_error():
    with pytest.raises(ConfigError, match="model.loss='wgan' is not one of hinge, ns, lsgan"):
        config(1, loss="wgan")


def test_lazy_r1_joins_d_loss_on_the_last_step_of_every_interval(tmp_path):
    """model.r1_gamma > 0: D's loss on every r1_interval-th step carries R1 of its real images (logged
    as D_r1), no other step does; the trainer then refuses train.compile (R1 differentiates a
    gradient) with a one-line error; bad values are clear errors."""
    trainer = make(config(4, r1_gamma=1.0, r1_interval=2, rec_weight=0.0), tmp_path / "r1")
    logs = [trainer.train_step() for _ in range(4)]
    assert ["D_r1" in line for line in logs] == [False, True, False, True]
    assert all(float(line["D_r1"]) > 0 for line in logs if "D_r1" in line)
    off = make(config(2, rec_weight=0.0), tmp_path / "off")
    assert not any("D_r1" in off.train_step() for _ in range(2))
    cfg = config(2, r1_gamma=1.0)
    cfg.train.compile = True
    with pytest.raises(
        ConfigError, match="train.compile cannot train this fastgan run: R1 \\(model.r1_gamma\\)"
    ):
        make(cfg, tmp_path / "compiled")
    with pytest.raises(ConfigError, match="model.r1_gamma=-1.0 must be >= 0"):
        config(1, r1_gamma=-1.0)
    with pytest.raises(ConfigError, match="model.r1_interval=0 >= 1"):
        config(1, r1_interval=0)


def test_noise_is_drawn_in_training_and_fixed_when_sampling():
    """With `noise`, every conv of the up blocks adds per-pixel noise times a learned strength (0 at
    first: the same images as without noise); "random" draws it from the generator passed, eval mode
    uses the stored maps, so a sample is a function of z."""
    torch.manual_seed(0)
    G = FastGANGenerator(z_dim=8, img_size=32, noise=True, double_at=[8, 32], spectral_norm=False, **TINY)
    z = torch.randn(2, 8)
    draw = lambda seed: G(z, noise_mode="random", generator=torch.Generator().manual_seed(seed))  # noqa: E731
    assert torch.equal(draw(1), draw(2))  # strength 0: the noise adds nothing yet
    strengths = [n for n, _ in G.named_parameters() if n.endswith("strength")]
    # one per conv: 8 (two convs), 16, 32 (two convs)
    assert sorted(strengths) == sorted(
        f"up.{r}.{name}.strength"
        for r, name in [(8, "noise"), (8, "noise2"), (16, "noise"), (32, "noise"), (32, "noise2")]
    )
    with torch.no_grad():
        for name, p in G.named_parameters():
            if name.endswith("strength"):
                p.fill_(1.0)
    assert torch.equal(draw(1), draw(1)) and not torch.allclose(draw(1), draw(2))
    G.eval()
    assert torch.equal(G(z), G(z))  # const maps
    assert not torch.allclose(G(z), G(z, noise_mode="none"))


def test_double_at_adds_a_second_conv_where_asked():
    G = FastGANGenerator(z_dim=8, img_size=32, double_at=[16], **TINY)
    assert [r for r, block in G.up.items() if block.conv2 is not None] == ["16"]
    assert all(block.noise is None for block in G.up.values())  # noise is its own switch
    assert G(torch.randn(2, 8)).shape == (2, 3, 32, 32)
    with pytest.raises(ConfigError, match=r"double_at \[4, 64\] are not .* use some of 8, 16, 32"):
        FastGANGenerator(z_dim=8, img_size=32, double_at=[4, 64], **TINY)


def test_mbstd_lets_d_see_the_spread_of_its_group():
    """With mbstd_group=2, images 0 and 2 form one group and 1 and 3 the other (i % (B / 2)): changing
    image 2 changes image 0's logit and not image 1's."""
    torch.manual_seed(0)
    D = FastGANDiscriminator(img_size=32, mbstd_group=2, spectral_norm=False, **TINY).eval()
    assert D.head[0].in_channels == widths(32, 64, 8)[8] + 1
    images = torch.rand(4, 3, 32, 32) * 2 - 1
    changed = images.clone()
    changed[2] = -changed[2]
    a, b = D(images), D(changed)
    assert not torch.isclose(a[0], b[0]) and torch.isclose(a[1], b[1]) and torch.isclose(a[3], b[3])
    assert D(images[:3]).shape == (3,)  # a batch the group does not divide still works
    with pytest.raises(ConfigError, match="mbstd_group must be >= 0"):
        FastGANDiscriminator(img_size=32, mbstd_group=-1, **TINY)
    with pytest.raises(ConfigError, match="model.d_mbstd_group=-1 must be >= 0"):
        config(1, d_mbstd_group=-1)
    with pytest.raises(ConfigError, match=r"model.g_double_at=\[4\] must hold resolutions of G's up blocks"):
        config(1, g_double_at=(4,))


def test_global_head_judges_the_whole_image():
    """D's head sees an 8x8 map. The paper's head (a 4x4 conv's 5x5 logits, averaged) is a sum of
    parts that each see a 4x4 window, so what it says of features at (0, 0) and at (7, 7) together is
    what it says of each alone (the mixed difference is 0); the global head (4x4 conv to head_width
    maps, a hidden layer over all 25 positions, one logit) weighs them against each other."""
    torch.manual_seed(0)
    mixed = {}
    for head in ("patch", "global"):
        D = FastGANDiscriminator(
            img_size=32, head=head, head_width=4, head_hidden=8, spectral_norm=False, **TINY
        )
        D = D.double().eval()
        assert D(torch.rand(3, 3, 32, 32, dtype=torch.float64)).shape == (3,)
        c = D.head[0].in_channels
        x = torch.randn(1, c, 8, 8, dtype=torch.float64)
        a, b = torch.zeros_like(x), torch.zeros_like(x)
        a[0, :, 0, 0], b[0, :, 7, 7] = 10 * torch.randn(c), 10 * torch.randn(c)  # past the kinks
        with torch.no_grad():
            out = [D.head(t).flatten(1).mean(1) for t in (x + a + b, x + a, x + b, x)]
            mixed[head] = float(out[0] - out[1] - out[2] + out[3])
    assert mixed["patch"] == pytest.approx(0, abs=1e-12)
    assert abs(mixed["global"]) > 1e-4
    head = FastGANDiscriminator(img_size=64, head="global", channel_base=1024).head
    assert [m.in_features for m in head if isinstance(m, torch.nn.Linear)] == [32 * 25, 64]
    with pytest.raises(
        ConfigError, match="head must be one of patch, global with head_width and head_hidden"
    ):
        FastGANDiscriminator(img_size=32, head="positional", **TINY)
    with pytest.raises(ConfigError, match="model.d_head='positional' is not one of patch, global"):
        config(1, d_head="positional")
    with pytest.raises(ConfigError, match="model.d_head_width=32 and model.d_head_hidden=0 must be >= 1"):
        config(1, d_head="global", d_head_hidden=0)


def test_g_options_are_in_the_bundle_spec(tmp_path):
    """G's noise and double convs and D's minibatch std and head reach the models and their specs (so
    a bundle rebuilds them as trained); without them the specs keep the keys they always had."""
    plain = make(config(1), tmp_path / "plain").recipe
    assert "noise" not in plain.specs["G"].kwargs and "mbstd_group" not in plain.specs["D"].kwargs
    assert "head" not in plain.specs["D"].kwargs
    extra = make(config(1, **EXTRAS), tmp_path / "extra").recipe
    assert extra.specs["G"].kwargs["noise"] is True and extra.specs["G"].kwargs["double_at"] == [16]
    assert extra.specs["D"].kwargs["mbstd_group"] == 2 and extra.D.mbstd is not None
    assert extra.specs["D"].kwargs["head"] == "global" and extra.specs["D"].kwargs["head_hidden"] == 8
    assert extra.G.up["16"].conv2 is not None and extra.G.up["8"].noise is not None


def test_conditional_models_take_the_class():
    """G's class embedding joins z; D's projection adds <embed(y), hidden> to the global head's logit."""
    torch.manual_seed(0)
    G = FastGANGenerator(z_dim=8, img_size=32, num_classes=3, class_weights=[2, 1, 1], **TINY).eval()
    z = torch.randn(1, 8).repeat(3, 1)
    with torch.no_grad():
        images = G(z, torch.tensor([0, 1, 2]))
    assert images.shape == (3, 3, 32, 32)
    assert (images[0] - images[1]).abs().max() > 1e-3 and (images[1] - images[2]).abs().max() > 1e-3
    assert G.class_weights.tolist() == [0.5, 0.25, 0.25]
    assert [t.shape for t in G.example_inputs(4, torch.Generator())] == [(4, 8), (4,)]
    D = FastGANDiscriminator(img_size=32, head="global", num_classes=3, **TINY).eval()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        hidden = D.head[:-1](D.outputs(x, torch.tensor([0, 0]))[2])  # the hidden layer, from the 8x8 map
        y0, y2 = D(x, torch.tensor([0, 0])), D(x, torch.tensor([2, 2]))
    projection = ((D.class_embed(torch.tensor([2, 2])) - D.class_embed(torch.tensor([0, 0]))) * hidden).sum(1)
    torch.testing.assert_close(y2 - y0, projection, atol=1e-5, rtol=1e-4)
    with pytest.raises(ValueError, match="class-conditional .* pass labels"):
        G(z)
    with pytest.raises(ValueError, match="class-conditional .* pass labels"):
        D(x)
    patch = FastGANDiscriminator(img_size=32, num_classes=3, **TINY).eval()  # projection on pooled 8x8 maps
    with torch.no_grad():
        pooled = patch.head[:3](patch.outputs(x, torch.tensor([0, 0]))[2]).mean((2, 3))
        moved = patch(x, torch.tensor([2, 2])) - patch(x, torch.tensor([0, 0]))
    embed = patch.class_embed(torch.tensor([2, 2])) - patch.class_embed(torch.tensor([0, 0]))
    torch.testing.assert_close(moved, (embed * pooled).sum(1), atol=1e-5, rtol=1e-4)
    with pytest.raises(ConfigError, match="num_classes must be 0 .* or >= 2"):
        FastGANGenerator(img_size=32, num_classes=1, **TINY)
    with pytest.raises(ConfigError, match="class_weights must be 3 numbers >= 0"):
        FastGANGenerator(img_size=32, num_classes=3, class_weights=[1, 1], **TINY)
    assert "class_weights" not in FastGANGenerator(img_size=32, **TINY).state_dict()  # as it always was


def test_conditional_training_resumes_exactly_and_keeps_the_class_balance(tmp_path):
    cond = dict(conditional=True, d_head="global", d_head_width=4, d_head_hidden=8, class_dim=4)
    whole, _ = trained_and_resumed(tmp_path, **cond)
    recipe = whole.recipe
    assert recipe.G.num_classes == 2 and recipe.D.num_classes == 2
    assert recipe.specs["G"].kwargs["class_weights"] == [8, 8]  # tiny_images: 16 images, 2 classes
    caps = recipe.bundle_capabilities()
    assert caps.conditional and caps.num_classes == 2
    inputs = recipe.sample_inputs(8, torch.Generator().manual_seed(0), None)
    assert inputs["labels"].tolist() == [0, 1] * 4 and inputs["nrow"] == 2  # one column per class
    odd = recipe.sample_inputs(7, torch.Generator().manual_seed(0), None)  # whole rows: 3 of 2, not 3.5
    assert odd["labels"].tolist() == [0, 1] * 3 and odd["z"].shape == (6, recipe.config.z_dim)
    assert (tmp_path / "whole" / "samples" / "step-000004.png").is_file()


def test_conditional_needs_labels(tmp_path):
    with pytest.raises(ConfigError, match="model.class_dim=0 must be >= 1"):
        config(1, class_dim=0)
    cfg = config(1, conditional=True, d_head="global")
    with pytest.raises(ConfigError, match="model.conditional needs class labels: use a labelled built-in"):
        Trainer(
            cfg, tmp_path, data=tiny_images(16, 3, 32).without_labels(), progress=False, tensorboard=False
        )


def test_mode_seeking_pairs_the_halves_with_the_same_labels(tmp_path):
    cond = dict(conditional=True, d_head="global", d_head_width=4, d_head_hidden=8, mode_seeking=1.0)
    trainer = make(config(2, **cond), tmp_path)
    seen = []
    forward = trainer.recipe.G.forward
    trainer.recipe.G.forward = lambda z, labels=None, **k: (
        seen.append(labels.clone()) or forward(z, labels, **k)
    )
    trainer.fit()
    assert all(torch.equal(labels[:2], labels[2:]) for labels in seen)  # batch 4: images i and i + 2
    logs = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [line["G_ms_ratio"] > 0 for line in logs if "G_loss" in line] == [True, True]
    with pytest.raises(ConfigError, match="model.mode_seeking must be >= 0"):
        config(1, mode_seeking=-1)


def test_class_ramp_brings_the_class_in_step_by_step(tmp_path):
    """model.class_ramp (Shahbazi et al. 2022): G's class embedding scaled by w, 0 before the ramp and
    1 after it, and each player's loss L(logit) + w * L(logit + projection)."""
    cond = dict(conditional=True, d_head="global", d_head_width=4, d_head_hidden=8, class_ramp=(1, 3))
    trainer = make(config(4, **cond), tmp_path)
    recipe = trainer.recipe
    weights = []
    for step in range(5):
        recipe.begin_step(step, 4)
        weights.append((recipe.class_weight(), float(recipe.G.class_scale)))
    assert weights == [(0.0, 0.0), (0.0, 0.0), (0.5, 0.5), (1.0, 1.0), (1.0, 1.0)]
    base, projection = torch.tensor([0.5, -1.0]), torch.tensor([2.0, 1.0])
    fake = (torch.tensor([-0.5, 0.25]), torch.tensor([-1.0, 3.0]))
    ns = recipe.loss
    recipe.begin_step(2, 4)  # w = 0.5
    torch.testing.assert_close(
        recipe.adversarial("d", (base, projection), fake),
        ns.d_loss(base, fake[0]) + 0.5 * ns.d_loss(base + projection, fake[0] + fake[1]),
    )
    torch.testing.assert_close(
        recipe.adversarial("g", None, fake), ns.g_loss(fake[0]) + 0.5 * ns.g_loss(fake[0] + fake[1])
    )
    recipe.config.class_ramp = (0, 0)  # no ramp: the conditional logit alone
    torch.testing.assert_close(
        recipe.adversarial("d", (base, projection), fake), ns.d_loss(base + projection, fake[0] + fake[1])
    )
    recipe.config.class_ramp = (1, 3)
    trainer.fit()
    logs = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [line["class_w"] for line in logs if "class_w" in line] == [0.0, 0.0, 0.5, 1.0]
    with pytest.raises(ConfigError, match=r"model.class_ramp=\[5, 2\] must be two steps 0 <= start <= end"):
        config(1, **{**cond, "class_ramp": (5, 2)})
    with pytest.raises(ConfigError, match="needs model.conditional"):
        config(1, class_ramp=(1, 3))
