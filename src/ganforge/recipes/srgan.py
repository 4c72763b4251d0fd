"""Super-resolution: SRResNet and SRGAN (Ledig et al. 2017), x2 or x4, trained from any image set.

Two stages, each one run:
- `psnr`: SRResNet alone on the pixel MSE between its output and the HR crop (what maximizes PSNR).
- `gan`: SRGAN, initialized from a psnr-stage generator (`init_from`), trained with a perceptual
  content loss (VGG19 relu5_4, or the offline effnet-lite0 fallback; `ganforge.nn.perceptual`)
  plus 1e-3 times the adversarial loss of the SRGAN discriminator. Sharper, lower PSNR.

Data: each step takes the batch of HR images, cuts a random `crop` x `crop` square from each (at
its own position, drawn from the recipe's generator) and downscales it with antialiased bicubic
to make the LR input (`ganforge.data.sr_pairs`). Pairs are made on the fly rather than once in
`load_data` because every step then sees fresh crops, as in the paper (16 random 96x96 sub-images
per minibatch), no crop set has to be stored for large photos, and resume stays exact (the crop
positions come from the checkpointed generator). `holdout` images are kept out of training
(a fixed seeded choice) for `ganforge.metrics.sr_eval`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from torch.nn import functional as F

from ganforge.capabilities import Capabilities
from ganforge.config import DataConfig, OptimConfig, RunConfig, TrainConfig
from ganforge.console import info, warn
from ganforge.data.dataset import ImageData
from ganforge.data.sr_pairs import center_crop, crop_at, crop_offsets, downscale, holdout_split
from ganforge.errors import ConfigError, GanforgeError
from ganforge.losses import get_adversarial_loss
from ganforge.models.srresnet import bicubic
from ganforge.recipes.base import Batch, ModelSpec, Phase, Recipe, register_recipe
from ganforge.registry import PRESETS

PREVIEW_IMAGES = 8  # rows of bicubic | SR | HR in preview grids
CONTENT_NAMES = {
    "auto": "VGG19 relu5_4 (else EffNet-Lite0)",
    "vgg19": "VGG19 relu5_4",
    "effnet-lite0": "EffNet-Lite0 blocks 2,4,7,10",
}


@dataclass
class SRGANConfig(OptimConfig):
    scale: int = 4  # output pixels per input pixel along each side: 2 or 4
    stage: Literal["psnr", "gan"] = "psnr"  # psnr: SRResNet on pixel MSE; gan: SRGAN from init_from
    init_from: str | None = None  # a psnr-stage run directory or bundle whose G this run starts from
    crop: int = 96  # HR training crop side (96 in the paper); multiple of scale, and of 16 for stage gan
    channels: int = 64  # width of G's residual body (64 in the paper)
    blocks: int = 16  # G's residual blocks (16 in the paper)
    norm: Literal["batch", "none"] = "batch"  # BatchNorm in G as in the paper; "none" as in EDSR
    bicubic_skip: bool = False  # G adds the bicubic upscaling to its output (VDSR-style; not in the paper)
    d_channels: int = 64  # width of D's first conv (64 in the paper)
    d_dense: int = 1024  # D's hidden dense units (1024 in the paper)
    lr_g: float = 1e-4  # Adam, 1e-4 in the paper for both stages
    lr_d: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)  # Adam; beta1 0.9 in the paper
    lr_decay_step: int = 0  # from this step on, learning rates are 10x lower (paper, gan: 100000); 0: never
    content_loss: Literal["perceptual", "mse"] = "perceptual"  # gan stage: SRGAN-VGG54 or SRGAN-MSE
    perceptual: Literal["auto", "vgg19", "effnet-lite0"] = "auto"  # "auto" is resolved when training starts
    perceptual_weights: str | None = None  # a local weights file; "random" for untrained features (tests)
    perceptual_weight: float = 0.006  # = (1/12.75)**2, the paper's rescaling of VGG features
    adv_weight: float = 1e-3  # adversarial loss weight (1e-3 in the paper)
    adv_loss: Literal["ns", "hinge", "lsgan"] = "ns"  # ns: -log D(G(lr)), as in the paper
    holdout: float = 0.05  # images kept out of training for evaluation: a fraction (< 1) or a count; 0: none
    eval_size: int | None = None  # source photos: held-out photos scored whole at this size (None: data.size)

    @property
    def loss(self) -> str:
        """The training loss in words (read by the bundle's model card)."""
        if self.stage == "psnr":
            return "pixel MSE (SRResNet)"
        if self.content_loss == "mse":
            content = "pixel MSE"
        else:
            weights = ""
            if self.perceptual_weights:
                w = self.perceptual_weights
                weights = " (random weights)" if w == "random" else f" (weights {Path(w).name})"
            content = f"{CONTENT_NAMES[self.perceptual]}{weights} perceptual x{self.perceptual_weight:g}"
        return f"{content} + {self.adv_loss} adversarial x{self.adv_weight:g}"

    def validate(self) -> None:
        if self.scale not in (2, 4):
            raise ConfigError(f"model.scale={self.scale} is not supported; use 2 or 4")
        if self.crop < 2 * self.scale or self.crop % self.scale:
            raise ConfigError(
                f"model.crop={self.crop} must be a multiple of model.scale={self.scale} "
                f"and at least {2 * self.scale}"
            )
        if self.stage == "gan" and self.crop % 16:
            raise ConfigError(
                f"model.crop={self.crop}: the gan stage's discriminator needs a multiple of 16 "
                "(e.g. 96 or 64)"
            )
        if self.channels < 1 or self.blocks < 0 or self.d_channels < 1 or self.d_dense < 1:
            raise ConfigError(
                "model.channels, model.d_channels and model.d_dense must be >= 1, model.blocks >= 0"
            )
        if self.lr_decay_step < 0:
            raise ConfigError(f"model.lr_decay_step={self.lr_decay_step} must be >= 0 (0: no decay)")
        if self.perceptual_weight < 0 or self.adv_weight < 0:
            raise ConfigError("model.perceptual_weight and model.adv_weight must be >= 0")
        if self.holdout < 0 or (self.holdout >= 1 and self.holdout != int(self.holdout)):
            raise ConfigError(f"model.holdout={self.holdout} must be a fraction in [0, 1) or a whole count")


@register_recipe("srgan", description="SRResNet / SRGAN super-resolution x2, x4 (Ledig et al. 2017)")
class SRGANRecipe(Recipe):
    capabilities = Capabilities(
        task="upscale", latent_spaces=(), input_kind="low-res", output_kind="high-res"
    )

    @classmethod
    def describe(cls, config: Any, num_classes: int) -> Capabilities:
        return cls.capabilities.refine(
            scale=int(config.scale), label=f"x{int(config.scale)} super-resolution"
        )

    config_class = SRGANConfig
    ema_of = ()  # the paper keeps no moving average; the bundle holds G itself
    exports = ("G",)

    @classmethod
    def load_data(cls, cfg: Any) -> dict[str, ImageData]:
        """The HR images minus the held-out ones (`model.holdout`)."""
        from ganforge.data import load_images

        data = load_images(cfg.data)
        if cfg.data.source == "photos":  # crops of the training photos; the held-out photos are apart
            return {"main": data}
        train, _ = holdout_split(len(data), cfg.model.holdout)
        return {"main": data.subset(train)}

    @classmethod
    def load_heldout(cls, cfg: Any) -> ImageData:
        """The held-out HR images of a run config: never trained on, for evaluation."""
        from ganforge.data import load_images

        if cfg.data.source == "photos" and cfg.model.holdout:
            from ganforge.data.photos import heldout_photos

            return heldout_photos(cfg.model.eval_size or cfg.data.size, cfg.data.channels)
        data = load_images(cfg.data)
        _, heldout = holdout_split(len(data), cfg.model.holdout)
        if len(heldout) == 0:
            raise ConfigError(
                "this run kept no held-out images (model.holdout=0); evaluate on a folder instead"
            )
        return data.subset(heldout)

    def build(self) -> None:
        cfg, data = self.config, self.data
        if cfg.crop > data.size:
            fitting = data.size - data.size % (16 if cfg.stage == "gan" else cfg.scale)
            raise ConfigError(
                f"model.crop={cfg.crop} does not fit in the {data.size}x{data.size} training images; "
                f"use --set model.crop={fitting} or a larger --size"
            )
        g_kwargs = dict(
            img_channels=data.channels,
            channels=cfg.channels,
            blocks=cfg.blocks,
            scale=cfg.scale,
            norm=cfg.norm,
            bicubic_skip=cfg.bicubic_skip,
        )
        self.G = self.add_model("G", ModelSpec("srresnet.G", g_kwargs))
        if cfg.init_from:
            self._init_generator(cfg.init_from, g_kwargs)
        elif cfg.stage == "gan":
            warn(
                "the gan stage starts from random weights; Ledig et al. start it from a trained SRResNet: "
                "--set model.init_from=RUN_DIR_OF_A_PSNR_STAGE_RUN"
            )
        self.optimizers["G"] = torch.optim.Adam(self.G.parameters(), lr=cfg.lr_g, betas=cfg.betas)
        self.content = None
        if cfg.stage == "gan":
            d_kwargs = dict(
                img_channels=data.channels, img_size=cfg.crop, channels=cfg.d_channels, dense=cfg.d_dense
            )
            self.D = self.add_model("D", ModelSpec("srresnet.D", d_kwargs))
            self.optimizers["D"] = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d, betas=cfg.betas)
            self.adversarial = get_adversarial_loss(cfg.adv_loss)
            if cfg.content_loss == "perceptual":
                from ganforge.nn.perceptual import perceptual_loss

                random_init = cfg.perceptual_weights == "random"
                weights = None if random_init else cfg.perceptual_weights
                self.content = perceptual_loss(cfg.perceptual, self.device, weights, random_init)
                cfg.perceptual = self.content.network  # "auto" resolved: config.json names what was used
                if self.rank == 0:
                    info(f"perceptual loss features: {self.content.name}")
        self._pair_cache: tuple[Batch, torch.Tensor, torch.Tensor] | None = None

    def _init_generator(self, path: str, g_kwargs: dict[str, Any]) -> None:
        """Load G's weights from a finished run's bundle (or a bundle folder), checking the architecture."""
        from ganforge.bundle import load_bundle

        folder = Path(path).expanduser()
        if (folder / "bundle" / "model.json").is_file():
            folder = folder / "bundle"
        if not (folder / "model.json").is_file():
            if not folder.exists():
                raise ConfigError(
                    f"model.init_from={path} does not exist; give a psnr-stage run directory or bundle"
                )
            raise ConfigError(
                f"model.init_from={path} holds no bundle (is its training finished?); "
                f"finish it with: ganforge train --resume {path}"
            )
        meta = json.loads((folder / "model.json").read_text())
        spec = meta.get("models", {}).get("G")
        if meta.get("recipe") != "srgan" or spec is None or spec.get("registry_name") != "srresnet.G":
            raise ConfigError(f"model.init_from={path} is not an srgan run (recipe {meta.get('recipe')!r})")
        theirs = spec["kwargs"]
        different = [
            f"{k}={theirs.get(k)!r} there, {v!r} here" for k, v in g_kwargs.items() if theirs.get(k) != v
        ]
        if different:
            raise ConfigError(
                f"model.init_from={path} has another generator ({'; '.join(different)}); "
                "use the same model settings as that run"
            )
        self.G.load_state_dict(load_bundle(folder).models["G"].state_dict())
        if self.rank == 0:
            info(f"generator initialized from {folder}")

    # ------------------------------------------------------------------ training

    def lr_factor(self, optimizer: str, step: int, total_steps: int) -> float:
        """From step `lr_decay_step` on, every learning rate is 10x lower (the paper's gan stage).
        A fixed step, not a fraction of the run, so that extending a run with --steps keeps its
        schedule; it multiplies `model.decay_start`'s linear fall (off by default), and the trainer
        multiplies in its health scale."""
        decay = self.config.lr_decay_step
        return self.config.lr_factor(step, total_steps) * (0.1 if decay and step >= decay else 1.0)

    def pairs(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """(LR, HR) float pairs for this step: random HR crops and their bicubic downscaling.

        Both phases of a step see the same pairs. Under data parallelism every rank draws the
        crop positions of the whole global batch and keeps its slice.
        """
        if self._pair_cache is not None and self._pair_cache[0] is batch:
            return self._pair_cache[1], self._pair_cache[2]
        images, crop = batch.real, self.config.crop
        n = images.shape[0]
        offsets = crop_offsets(n * self.world_size, images.shape[-2], images.shape[-1], crop, self.generator)
        hr = crop_at(images, offsets[self.rank * n : (self.rank + 1) * n], crop)
        lr = downscale(hr, self.config.scale)
        self._pair_cache = (batch, lr, hr)
        return lr, hr

    @staticmethod
    def psnr_of(mse: torch.Tensor) -> torch.Tensor:
        return 10.0 * torch.log10(4.0 / mse.clamp_min(1e-12))  # data range 2 ([-1, 1])

    def g_pixel(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        lr, hr = self.pairs(batch)
        sr = self.G(lr)
        loss = F.mse_loss(sr, hr)
        with torch.no_grad():
            baseline = F.mse_loss(bicubic(lr, self.config.scale).clamp(-1, 1), hr)
            mse = F.mse_loss(sr.clamp(-1, 1), hr)
        return loss, {
            "G_mse": loss.detach(),
            "psnr": self.psnr_of(mse),
            "psnr_bicubic": self.psnr_of(baseline),
        }

    def d_main(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        lr, hr = self.pairs(batch)
        with torch.no_grad():
            sr = self.G(lr)
        real_logits, fake_logits = self.D(hr), self.D(sr)
        loss = self.adversarial.d_loss(real_logits, fake_logits)
        return loss, {
            "D_loss": loss.detach(),
            "D_real": real_logits.detach().mean(),
            "D_fake": fake_logits.detach().mean(),
        }

    def g_main(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        cfg = self.config
        lr, hr = self.pairs(batch)
        sr = self.G(lr)
        if self.content is not None:
            content = cfg.perceptual_weight * self.content(sr, hr)
        else:
            content = F.mse_loss(sr, hr)
        adversarial = self.adversarial.g_loss(self.D(sr))
        loss = content + cfg.adv_weight * adversarial
        with torch.no_grad():
            psnr = self.psnr_of(F.mse_loss(sr.clamp(-1, 1), hr))
        return loss, {"G_content": content.detach(), "G_adv": adversarial.detach(), "psnr": psnr}

    def phases(self) -> list[Phase]:
        if self.config.stage == "psnr":
            return [Phase("G_pixel", "G", self.g_pixel)]
        return [Phase("D_main", "D", self.d_main), Phase("G_main", "G", self.g_main)]

    def evaluate(self, models: dict[str, torch.nn.Module], cfg: Any) -> dict[str, float]:
        """PSNR (Y, RGB) and SSIM (Y, RGB) of G and of bicubic on the held-out images, border = scale."""
        from ganforge.metrics.sr_eval import evaluate_sr

        if cfg.model.holdout == 0:
            return {}
        try:
            heldout = self.load_heldout(cfg)
        except GanforgeError as err:  # e.g. data handed to the Trainer directly, not named by cfg.data
            warn(f"no held-out evaluation: {err}")
            return {}
        G = models["G"]
        device = next(G.parameters()).device
        was_training = G.training
        G.eval()
        try:
            result = evaluate_sr(lambda lr: G(lr.to(device)).float().cpu(), heldout.images, cfg.model.scale)
        finally:
            G.train(was_training)
        return result.metrics()

    # ------------------------------------------------------------------ previews

    def sample_inputs(self, n: int, generator: torch.Generator, examples: Batch) -> dict[str, Any]:
        """The first few training images, whole: LR inputs and HR references."""
        hr = center_crop(examples.real[: min(n, PREVIEW_IMAGES)], self.config.scale)
        return {"lr": downscale(hr, self.config.scale), "hr": hr, "nrow": 3}

    def preview(self, models: dict[str, torch.nn.Module], inputs: dict[str, Any]) -> torch.Tensor:
        """Rows of bicubic | SR | HR."""
        G = models["G"]
        device = next(G.parameters()).device
        was_training = G.training
        G.eval()  # BatchNorm with running statistics, and no update of them
        try:
            lr = inputs["lr"].to(device)
            sr = G(lr).clamp(-1, 1).cpu()
        finally:
            G.train(was_training)
        base = bicubic(inputs["lr"], self.config.scale).clamp(-1, 1)
        return torch.stack([base, sr, inputs["hr"]], 1).flatten(0, 1)  # (3n, C, H, W)


# ---------------------------------------------------------------------------------------- presets
# Offline CPU defaults: color emoji at 64x64 (16x16 or 32x32 inputs), a 32-wide, 6-block SRResNet
# without BatchNorm that learns the residual over bicubic. Ledig et al.'s own settings, for a GPU and
# a large photo set: --data ./photos --size 384 --batch 16 --steps 1000000 --set model.crop=96
# --set model.channels=64 --set model.blocks=16 --set model.norm=batch --set model.bicubic_skip=false
# --set model.lr_g=1e-4; then the gan stage: --stage gan --steps 200000 --set model.lr_decay_step=100000
# --set model.d_channels=64 --set model.d_dense=1024 --set model.init_from=RUN_OF_THE_PSNR_STAGE.


def _sr_preset(name: str, scale: int) -> RunConfig:
    return RunConfig(
        name=name,
        recipe="srgan",
        data=DataConfig(source="emoji", size=64, channels=3),
        train=TrainConfig(
            steps=2000, batch_size=16, log_every=25, sample_every=250, checkpoint_every=500, n_samples=8
        ),
        model=SRGANConfig(
            scale=scale,
            crop=32,
            channels=32,
            blocks=6,
            norm="none",
            bicubic_skip=True,
            lr_g=3e-4,
            d_channels=32,
            d_dense=256,
            holdout=0.05,
        ),
    )


@PRESETS.register(
    "srgan-x4",
    description="SRResNet x4 (--stage gan: SRGAN) on color emoji, 16 -> 64 px; --data/--size for your photos",
)
def srgan_x4() -> RunConfig:
    return _sr_preset("srgan-x4", 4)


@PRESETS.register(
    "srgan-x2",
    description="SRResNet x2 (--stage gan: SRGAN) on color emoji, 32 -> 64 px; --data/--size for your photos",
)
def srgan_x2() -> RunConfig:
    return _sr_preset("srgan-x2", 2)


def _sr_photos_preset(scale: int) -> RunConfig:
    """The CPU settings of `_sr_preset` on the `photos` source: 128x128 training crops (a third to
    four fifths of a photo's short side), 64 px HR patches; scored on the whole held-out photos at
    256x256 (LR 64x64 for x4, 128x128 for x2), border = scale."""
    cfg = _sr_preset(f"srgan-x{scale}-photos", scale)
    cfg.data = DataConfig(source="photos", size=128, channels=3)
    cfg.model.crop = 64
    cfg.model.eval_size = 256
    cfg.train.steps = 1200 if scale == 4 else 800  # ~0.2 CPU-s a step with one thread
    return cfg


@PRESETS.register(
    "srgan-x4-photos",
    description="SRResNet x4 (--stage gan: SRGAN) on the offline photos, 16 -> 64 px crops; <= 15 CPU min",
)
def srgan_x4_photos() -> RunConfig:
    return _sr_photos_preset(4)


@PRESETS.register(
    "srgan-x2-photos",
    description="SRResNet x2 (--stage gan: SRGAN) on the offline photos, 32 -> 64 px crops; <= 15 CPU min",
)
def srgan_x2_photos() -> RunConfig:
    return _sr_photos_preset(2)
