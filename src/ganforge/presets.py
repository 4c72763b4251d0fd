"""Named run configs. Each preset is a function returning a complete `RunConfig`.

`ganforge presets list` shows them; `ganforge train --preset NAME` starts one. Timings in the
descriptions were measured on 2 CPU cores.
"""

from __future__ import annotations

from ganforge.config import DataConfig, RunConfig, TrainConfig
from ganforge.recipes.gan import DCGANConfig, MLPGANConfig
from ganforge.registry import PRESETS

DEFAULT_PRESET = "dcgan-mnist"


def get_preset(name: str) -> RunConfig:
    return PRESETS.get(name)().validate()


@PRESETS.register(
    "dcgan-mnist",
    description="DCGAN on 4,000 MNIST digits at 32x32 (the default; about 2 minutes on 2 CPU cores)",
)
def dcgan_mnist() -> RunConfig:
    return RunConfig(
        name="dcgan-mnist",
        recipe="dcgan",
        # the 4,000 training digits: mnist-5k's 1,000 test digits stay held out for `eval --split test`
        data=DataConfig(source="mnist-5k", size=32, split="train"),
        # 3,000 steps, G at lr 1.6e-3 and D at 8e-4, both falling linearly to 0 over the second half,
        # G_ema 0.995 (its BatchNorm statistics averaged too), D a quarter of G's width.
        # FD-digits-lenet / FD-EffNetLite0 / confidence on the held-out digits at train.seed 0, 1, 2:
        # 10.6 / 15.6 / 0.892, 24.5 / 35.1 / 0.851, 13.7 / 16.8 / 0.890; at 2,000 steps 14.3 / 18.7 /
        # 0.884, 27.0 / 33.6, 16.0 / 18.6; with G at 8e-4 like D (2,000): 20.3 / 24.2, 27.2 / 22.7,
        # 20.7 / 23.3; the old 1,000 constant-rate steps with G_ema 0.99 and D half G's width: 22.5 /
        # 32.4. No better: G 96 wide 20.5 / 19.2 at 1.8x the CPU; DiffAugment (33.8 / 23.2 at 2,000,
        # 27.8 / 18.5 at 4,000); top-k training (Sinha et al. 2020, half kept at the end: 11.6 / 16.4,
        # 26.7 / 33.3 at seeds 0, 1); truncating z (x0.7); mode seeking; spectral norm + hinge (68.1 at
        # 1,500). Confidence stays at 0.85-0.90 in every variant without codes (README, quality).
        # InfoGAN's 10 categorical codes at info_weight 0.5 (2026-12-06, seeds 0 / 1 / 2): 9.1 / 13.7 /
        # 0.924, 11.4 / 13.6 / 0.924, 7.8 / 14.5 / 0.931, class entropy 2.29 / 2.27 / 2.30 (weight 1:
        # 8.1 / 14.6 / 0.926, 18.9 / 18.2 / 0.939, 8.9 / 13.8 / 0.936; weight 2: FD-lenet 17.8, 12.5,
        # 12.0), at about 1.05x the CPU a step
        train=TrainConfig(
            steps=3000, batch_size=64, ema_decay=0.995, sample_every=500, checkpoint_every=1000
        ),
        model=DCGANConfig(
            g_channels=64,
            d_channels=16,
            lr_g=1.6e-3,
            lr_d=8e-4,
            decay_start=0.5,
            info_codes=10,
            info_weight=0.5,
        ),
    )


@PRESETS.register(
    "cdcgan-mnist", description="class-conditional DCGAN on MNIST: choose the digit with --class"
)
def cdcgan_mnist() -> RunConfig:
    cfg = dcgan_mnist()
    cfg.name = "cdcgan-mnist"
    cfg.model.conditional = True
    # without it G draws one image per class (per-class diversity 0.08 of real digits', FD-digits-lenet
    # 119); with it 0.93 and 8.8 at 97% class accuracy after 1,500 steps (README, quality)
    cfg.model.mode_seeking = 1.0
    # lr 2e-4 as measured (8e-4, dcgan-mnist's, is not measured here). Mode seeking pairs the batch's
    # halves instead of a second G pass (1.7x per step before), so 2,500 steps fit where 1,500 did:
    # accuracy 98.7% (96.0% at 1,500), per-class diversity 0.90, FD-digits-lenet 9.8 in 184 CPU-s
    cfg.model.lr_g = cfg.model.lr_d = 2e-4
    cfg.train.steps = 2500
    # not dcgan-mnist's later retune: with D at a quarter of G's width, the rates falling over the
    # second half and G_ema 0.995, class accuracy fell from 99.2% to 95.7% (held-out digits)
    cfg.model.d_channels = 32
    cfg.model.decay_start = 1.0
    cfg.train.ema_decay = 0.99
    cfg.model.info_codes = 0  # the labels already split the modes; codes are not measured here
    return cfg


@PRESETS.register("gan-mnist", description="the original MLP GAN (Goodfellow et al. 2014) on MNIST at 28x28")
def gan_mnist() -> RunConfig:
    return RunConfig(
        name="gan-mnist",
        recipe="gan",
        data=DataConfig(source="mnist-5k", size=28),
        train=TrainConfig(steps=4000, batch_size=64, ema_decay=0.99, sample_every=500, checkpoint_every=1000),
        model=MLPGANConfig(hidden=512, layers=3),
    )


@PRESETS.register("dcgan-fashion", description="DCGAN on 70,000 Fashion-MNIST images at 32x32")
def dcgan_fashion() -> RunConfig:
    cfg = dcgan_mnist()
    cfg.name = "dcgan-fashion"
    cfg.data.source = "fashion-mnist"
    cfg.train.steps = 3000
    cfg.model = DCGANConfig(g_channels=48, d_channels=48)
    return cfg


@PRESETS.register(
    "dcgan-emoji", description="DCGAN on ~3,900 color emoji at 32x32 (set data.size=64 for 64x64)"
)
def dcgan_emoji() -> RunConfig:
    return RunConfig(
        name="dcgan-emoji",
        recipe="dcgan",
        data=DataConfig(source="emoji", size=32, channels=3),
        train=TrainConfig(
            steps=4000, batch_size=64, ema_decay=0.995, sample_every=500, checkpoint_every=1000
        ),
        model=DCGANConfig(g_channels=48, d_channels=48),
    )


@PRESETS.register("dcgan-emoji64", description="DCGAN on color emoji at 64x64 (the classic 64x64 DCGAN)")
def dcgan_emoji64() -> RunConfig:
    cfg = dcgan_emoji()
    cfg.name = "dcgan-emoji64"
    cfg.data.size = 64
    cfg.model = DCGANConfig(g_channels=64, d_channels=64)
    return cfg
