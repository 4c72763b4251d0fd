"""pix2pix: paired image-to-image translation with a conditional GAN (Isola et al. 2017).

A U-Net G maps an input image A to an output; a PatchGAN D sees A beside either the real target
B or G's output and scores every patch. G minimizes the adversarial loss plus lambda * L1(G(A), B)
(lambda = 100 in the paper): L1 gets the low frequencies right, the PatchGAN the texture. D's loss
is halved, as in the paper, to slow it relative to G.

Data comes in two kinds (`model.pairs`):
- real pairs, `side-by-side` (A|B files) or `folders` (A/ and B/), with `model.task=paired`;
- `derived` pairs made from single images on the fly by `ganforge.data.derived`: `colorize`,
  `edges2photo`, `photo2edges`, `inpaint`. They are derived in the phases rather than stored,
  so inpainting sees fresh random masks every step (drawn from the recipe's generator, so resume
  stays exact) and no second copy of the data sits in memory.
Images kept out of training (`test/` or `val/`, else `model.holdout` images chosen with a fixed
seed) give the held-out scores of `heldout_pairs` and `ganforge.pipelines.translate.evaluate`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar, Literal

import torch
from torch import nn

from ganforge.capabilities import Capabilities
from ganforge.config import DataConfig, OptimConfig, RunConfig, TrainConfig
from ganforge.data.dataset import ImageData
from ganforge.data.derived import TASKS, derive_pair, luminance, task_channels
from ganforge.errors import ConfigError
from ganforge.losses import get_adversarial_loss
from ganforge.recipes.base import Batch, ModelSpec, Phase, Recipe, register_recipe
from ganforge.registry import PRESETS

HOLDOUT_SEED = 1  # the fixed choice of held-out images (independent of data.limit's seed-0 choice)
MAX_DEPTH = 8  # the paper's 256x256 U-Net has 8 down-samplings down to 1x1
PREVIEW_TRIPLETS_PER_ROW = 4  # preview grids show input | output | target, four triplets a row


@dataclass
class Pix2PixConfig(OptimConfig):
    # paired: real pairs (see `pairs`); the others derive the input from single images on the fly
    task: Literal["paired", "colorize", "edges2photo", "photo2edges", "inpaint"] = "paired"
    pairs: Literal["side-by-side", "folders", "derived"] = "side-by-side"  # derived goes with a derived task
    direction: Literal["AtoB", "BtoA"] = "AtoB"  # real pairs: which side is the input
    g_channels: int = 64  # U-Net width of the outer layers (64 in the paper)
    d_channels: int = 64  # PatchGAN width of the first layer (64 in the paper)
    depth: int | None = None  # U-Net down-samplings; None: as many as the size allows, at most 8
    d_layers: int = 3  # 3: the 70x70 PatchGAN; 1: 16x16; 0: the 1x1 PixelGAN
    norm: Literal["batch", "instance"] = "batch"  # batch in the paper (with batch size 1: instance-like)
    dropout: float = 0.5  # in the U-Net's first 3 decoder layers, G's only noise
    l1_weight: float = 100.0  # lambda of the L1 term (Isola et al. 2017)
    loss: Literal["ns", "lsgan", "hinge"] = "ns"  # ns: the paper's cross-entropy GAN loss
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)  # Adam, as in the paper
    # held-out images for evaluation: a seeded choice of at most a tenth of the data, or the first
    # of test/ (else val/) when the pairs come split; 0: none
    holdout: int = 200
    eval_features: str | None = None  # e.g. "effnet-lite0": held-out Fréchet distance too (slow on CPU)
    upsample: Literal["transpose", "resize"] = "transpose"  # resize: nearest 2x + conv, no checkerboard
    chroma: bool = False  # colorize: predict only Cb/Cr and keep the input's luminance exactly
    # colorize with chroma: the eval-time gain on the predicted chroma; None: least squares on the
    # training crops (see `UNetGenerator.calibrate_chroma_gain`), a number: that gain, fixed
    chroma_gain: float | None = None
    chroma_scale: int = 1  # colorize with chroma: predict chroma at 1/chroma_scale resolution, upsampled
    recon: Literal["l1", "l2"] = "l1"  # the reconstruction term weighted by l1_weight (l2: the mean's PSNR)
    coarse_fill: bool = False  # inpaint: U-Net corrects a push-pull fill of the holes, keeps known pixels
    eval_size: int | None = (
        None  # data source photos: held-out photos scored whole at this size (None: data.size)
    )

    def validate(self) -> None:
        if self.g_channels < 1 or self.d_channels < 1:
            raise ConfigError("model.g_channels and model.d_channels must be at least 1")
        if self.depth is not None and not 1 <= self.depth <= 12:
            raise ConfigError(f"model.depth={self.depth} must lie in 1..12 (or null for automatic)")
        if not 0 <= self.d_layers <= 8:
            raise ConfigError(f"model.d_layers={self.d_layers} must lie in 0..8; 3 is the 70x70 PatchGAN")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"model.dropout={self.dropout} must lie in [0, 1)")
        if self.l1_weight < 0:
            raise ConfigError("model.l1_weight must be >= 0")
        if self.holdout < 0:
            raise ConfigError("model.holdout must be >= 0 (0: no held-out images)")
        if self.chroma and self.task != "colorize":
            raise ConfigError(f"model.chroma=true is for model.task=colorize, not {self.task}")
        if self.chroma_gain is not None and not (self.chroma and 0.0 <= self.chroma_gain <= 4.0):
            raise ConfigError(
                f"model.chroma_gain={self.chroma_gain} needs model.chroma=true and a value in 0..4 (or null)"
            )
        if self.chroma_scale != 1 and not self.chroma:
            raise ConfigError("model.chroma_scale needs model.chroma=true (a colorizer that predicts chroma)")
        if self.coarse_fill and self.task != "inpaint":
            raise ConfigError(f"model.coarse_fill=true is for model.task=inpaint, not {self.task}")
        if self.eval_size is not None and not 16 <= self.eval_size <= 4096:
            raise ConfigError(f"model.eval_size={self.eval_size} must lie in 16..4096 (or null: data.size)")

    def check_pairing(self) -> None:
        """Real pairs go with task=paired, derived pairs with a derived task. Checked when data loads
        (not in `validate`), so that `--pairs` and `--set model.task=...` may come in either order."""
        if self.pairs == "derived" and self.task == "paired":
            raise ConfigError(
                "model.task=paired needs real pairs: add --pairs side-by-side (A|B files) or --pairs folders "
                f"(A/ and B/), or pick a derived task with --set model.task=<{'|'.join(TASKS)}>"
            )
        if self.pairs != "derived" and self.task != "paired":
            raise ConfigError(
                f"--pairs {self.pairs} loads real pairs, but model.task={self.task} derives them from "
                "single images; add --set model.task=paired, or drop --pairs for derived pairs"
            )


def unet_depth(size: int, depth: int | None) -> int:
    """The U-Net depth for `size`: `depth` if it divides, else the most halvings of size (at most 8)."""
    if depth is None:
        return max(1, min(MAX_DEPTH, (size & -size).bit_length() - 1))
    if size % 2**depth:
        raise ConfigError(
            f"model.depth={depth} needs an image size that is a multiple of {2**depth}, got {size}; "
            "change --size or leave model.depth unset"
        )
    return depth


def _split_off(data: ImageData, n: int) -> tuple[ImageData, ImageData | None]:
    """(training part, `n` held-out images) by a fixed pseudo-random choice; n is capped at a tenth."""
    n = min(n, len(data) // 10)
    if n == 0:
        return data, None
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(HOLDOUT_SEED))
    return data.subset(order[n:].sort().values), data.subset(order[:n].sort().values)


def load_splits(cfg: Any) -> tuple[ImageData, ImageData | None]:
    """(training data, held-out data or None) of a pix2pix `RunConfig`."""
    from ganforge.data import load_images
    from ganforge.data.paired import load_paired, paired_splits, resolve_paired_source

    m, d = cfg.model, cfg.data
    m.check_pairing()
    if m.pairs == "derived" and d.source == "photos":
        # the photos source holds its own split: crops of training photos, and whole held-out photos
        from ganforge.data.photos import heldout_photos

        data = load_images(d).without_labels()
        return data, heldout_photos(m.eval_size or d.size, d.channels) if m.holdout else None
    if m.pairs == "derived":
        data = load_images(d).without_labels()
        return _split_off(data, m.holdout)
    d.validate()
    train_dir, held_dir = paired_splits(resolve_paired_source(d.source))
    train = load_paired(train_dir, m.pairs, d.size, d.channels, d.fit, m.direction, d.limit)
    if held_dir is None or m.holdout == 0:
        return _split_off(train, m.holdout)
    channels = train.images.shape[1]
    return train, load_paired(held_dir, m.pairs, d.size, channels, d.fit, m.direction, m.holdout)


def heldout_pairs(cfg: Any, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The held-out (inputs A, targets B), float in [-1, 1]; inpainting masks drawn with `seed`."""
    from ganforge.imaging import to_float

    _, held = load_splits(cfg)
    if held is None:
        return None
    if cfg.model.task == "paired":
        return to_float(held.images), to_float(held.targets)
    return derive_pair(cfg.model.task, to_float(held.images), torch.Generator().manual_seed(seed))


def baseline(task: str, inputs: torch.Tensor, channels: int) -> torch.Tensor | None:
    """The trivial answer each task is measured against: the input copied to the output's channels
    (gray for colorize, the drawing for edges2photo, luminance for photo2edges), and for inpainting
    every hole filled with the mean color of the image's known pixels. None when it has no meaning."""
    if task == "inpaint":
        image, holes = inputs[:, :-1], (inputs[:, -1:] > 0).float()
        known = 1 - holes
        mean = (image * known).sum((2, 3), keepdim=True) / known.sum((2, 3), keepdim=True).clamp(min=1)
        return image * known + mean * holes
    if inputs.shape[1] == channels:
        return inputs
    if inputs.shape[1] == 1:
        return inputs.expand(-1, channels, -1, -1)
    if channels == 1:
        return luminance(inputs)
    return None


@torch.no_grad()
def evaluate(
    G: torch.nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    task: str = "paired",
    batch_size: int = 32,
    features: str | None = None,
) -> dict[str, float]:
    """Held-out scores of G's outputs against `targets`, and of the task's trivial `baseline`.

    Inputs and targets are (N, C, H, W) in [-1, 1]; G runs in eval mode. Returns means over the
    images: `l1` (in [-1, 1] units), `psnr` (dB), `ssim`, the same with a `baseline_` prefix, and
    `heldout_images`. For inpainting the holes of G's output are pasted into the input, as
    `TranslatePipeline` does, and `hole_l1` and `hole_psnr` measure inside the holes only. For
    colorization `colorfulness` (Hasler and Suesstrunk 2003) is added, and `real_colorfulness`
    of the targets. With `features`
    (e.g. "effnet-lite0") it adds the Fréchet distance of outputs and of the baseline to the
    targets on those features (named by the extractor, e.g. `fd_effnetlite0`).
    """
    from ganforge.metrics.image_quality import colorfulness, psnr, ssim

    was_training = G.training
    G.eval()
    device = next(G.parameters()).device
    try:
        outputs = torch.cat(
            [
                G(inputs[i : i + batch_size].to(device)).float().cpu()
                for i in range(0, len(inputs), batch_size)
            ]
        )
    finally:
        G.train(was_training)
    holes = (inputs[:, -1:] > 0).float() if task == "inpaint" else None
    if holes is not None:
        outputs = holes * outputs + (1 - holes) * inputs[:, :-1]
    scores: dict[str, float] = {"heldout_images": float(len(inputs))}
    if task == "colorize":
        scores["real_colorfulness"] = float(colorfulness(targets.clamp(-1, 1)).mean())
    candidates = {"": outputs, "baseline_": baseline(task, inputs, targets.shape[1])}
    extractor, target_features = None, None
    if features:
        from ganforge.metrics.features import get_extractor

        extractor = get_extractor(features, device=device)
        target_features = extractor.features(targets, batch_size)
    for prefix, images in candidates.items():
        if images is None:
            continue
        images = images.clamp(-1, 1)
        scores[f"{prefix}l1"] = float((images - targets).abs().mean())
        scores[f"{prefix}psnr"] = float(psnr(images, targets).clamp(max=100).mean())
        scores[f"{prefix}ssim"] = float(ssim(images, targets).mean())
        if holes is not None:
            diff = (images - targets).abs() * holes
            scores[f"{prefix}hole_l1"] = float(diff.sum() / (holes.sum() * targets.shape[1]).clamp(min=1))
            # per image, over its hole pixels only; data range 2 ([-1, 1])
            hole_mse = diff.square().sum((1, 2, 3)) / (holes.sum((1, 2, 3)) * targets.shape[1]).clamp(min=1)
            scores[f"{prefix}hole_psnr"] = float((10 * torch.log10(4 / hole_mse.clamp(min=1e-10))).mean())
        if task == "colorize" and images.shape[1] == 3:
            scores[f"{prefix}colorfulness"] = float(colorfulness(images).mean())
        if extractor is not None:
            from ganforge.metrics.frechet import frechet_distance

            name = "fd_" + extractor.fd_name.lower().removeprefix("fd-").replace("-", "")
            scores[f"{prefix}{name}"] = frechet_distance(
                extractor.features(images, batch_size), target_features
            )
    return scores


def _display(images: torch.Tensor, channels: int) -> torch.Tensor:
    """Images shown in a grid with `channels` channels: gray is repeated, an inpainting mask dropped."""
    if images.shape[1] == 1 and channels == 3:
        return images.expand(-1, 3, -1, -1)
    return images[:, :channels]


@register_recipe("pix2pix", description="pix2pix (Isola et al. 2017): U-Net G + PatchGAN D, L1 + adversarial")
class Pix2PixRecipe(Recipe):
    capabilities = Capabilities(
        task="translate", latent_spaces=(), input_kind="image", label="paired translation"
    )
    # model.task -> (input kind, output kind, label) of the bundle
    TASK_KINDS: ClassVar[dict[str, tuple[str, str, str]]] = {
        "colorize": ("gray", "color", "colorize"),
        "inpaint": ("masked", "image", "inpainting"),
        "edges2photo": ("edges", "photo", "edges-to-photo"),
        "photo2edges": ("photo", "edges", "photo-to-edges"),
    }

    @classmethod
    def describe(cls, config: Any, num_classes: int) -> Capabilities:
        kinds = cls.TASK_KINDS.get(config.task)
        if kinds is None:
            return cls.capabilities
        return cls.capabilities.refine(input_kind=kinds[0], output_kind=kinds[1], label=kinds[2])

    config_class = Pix2PixConfig
    ema_of = ()  # the paper uses no EMA; the bundle holds G itself
    exports = ("G",)

    @classmethod
    def load_data(cls, cfg: Any) -> dict[str, ImageData]:
        train, _ = load_splits(cfg)
        return {"main": train}

    def build(self) -> None:
        cfg, data = self.config, self.data
        cfg.check_pairing()
        if cfg.task == "paired":
            c_in = c_out = data.channels
        else:
            c_in, c_out = task_channels(cfg.task, data.channels)
        min_size = 3 * 2**cfg.d_layers if cfg.d_layers else 1
        if data.size < min_size:
            raise ConfigError(
                f"a PatchGAN with model.d_layers={cfg.d_layers} needs images of at least {min_size} px, "
                f"got {data.size}; use --set model.d_layers={max(0, (data.size // 3).bit_length() - 1)}"
            )
        depth = unet_depth(data.size, cfg.depth)
        g_kwargs = dict(in_channels=c_in, out_channels=c_out, base_channels=cfg.g_channels, depth=depth)
        if cfg.upsample != "transpose":
            g_kwargs["upsample"] = cfg.upsample
        if cfg.chroma:
            g_kwargs["chroma"] = True
        if cfg.coarse_fill:
            g_kwargs["coarse_fill"] = True
        if cfg.chroma_scale != 1:
            g_kwargs["chroma_scale"] = cfg.chroma_scale
        self.G = self.add_model(
            "G", ModelSpec("unet.G", {**g_kwargs, "norm": cfg.norm, "dropout": cfg.dropout})
        )
        d_kwargs = dict(in_channels=c_in + c_out, base_channels=cfg.d_channels, n_layers=cfg.d_layers)
        self.D = self.add_model("D", ModelSpec("patchgan.D", {**d_kwargs, "norm": cfg.norm}))
        self.loss = get_adversarial_loss(cfg.loss)
        self.optimizers["G"] = torch.optim.Adam(self.G.parameters(), lr=cfg.lr_g, betas=cfg.betas)
        self.optimizers["D"] = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d, betas=cfg.betas)

    def pair(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """(input A, target B) of a batch: the stored pair, or one derived from the image now."""
        if self.config.task == "paired":
            return batch.real, batch.target
        return derive_pair(self.config.task, batch.real, self.generator)

    def fresh(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(input, target, G(input)) of a batch."""
        A, B = self.pair(batch)
        return A, B, self.G(A)

    def d_main(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        A, B, fake = self.fresh(batch)
        self.keep_fakes(batch, (A, B, fake))  # fake keeps its graph for G_main
        real_logits = self.D(torch.cat([A, B], dim=1))  # (N, 1, h, w): one logit per patch
        fake_logits = self.D(torch.cat([A, fake.detach()], dim=1))
        loss = 0.5 * self.loss.d_loss(real_logits, fake_logits)
        return loss, {
            "D_loss": loss.detach(),
            "D_real": real_logits.detach().mean(),
            "D_fake": fake_logits.detach().mean(),
        }

    def g_main(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        A, B, fake = self.kept_fakes(batch, lambda: self.fresh(batch))
        adversarial = self.loss.g_loss(self.D(torch.cat([A, fake], dim=1)))
        error = (fake - B).abs() if self.config.recon == "l1" else (fake - B).square()
        if self.config.coarse_fill:
            # known pixels are pasted back, so only the holes carry error: average over them, so the
            # term keeps its weight against the adversarial loss however small the holes are
            holes = (A[:, -1:] > 0).to(error.dtype)
            l1 = (error * holes).sum() / (holes.sum() * error.shape[1]).clamp(min=1)
        else:
            l1 = error.mean()
        loss = adversarial + self.config.l1_weight * l1
        return loss, {"G_loss": loss.detach(), "G_adv": adversarial.detach(), "G_L1": l1.detach()}

    def phases(self) -> list[Phase]:
        return [Phase("D_main", "D", self.d_main), Phase("G_main", "G", self.g_main)]

    def sample_inputs(self, n: int, generator: torch.Generator, examples: Batch) -> dict[str, Any]:
        k = max(1, min(n // 3, examples.real.shape[0]))
        if self.config.task == "paired":
            A, B = examples.real[:k], examples.target[:k]
        else:
            A, B = derive_pair(self.config.task, examples.real[:k], generator)
        return {"A": A, "B": B, "nrow": 3 * min(k, PREVIEW_TRIPLETS_PER_ROW)}

    def preview(self, models: dict[str, nn.Module], inputs: dict[str, Any]) -> torch.Tensor:
        """input | output | target triplets. G runs in eval mode (running norm statistics, no
        dropout), as at inference, and without touching its running statistics."""
        G = models["G"]
        was_training = G.training
        G.eval()
        try:
            fake = G(inputs["A"].to(next(G.parameters()).device)).float().cpu()
        finally:
            G.train(was_training)
        c = max(fake.shape[1], inputs["B"].shape[1])
        shown = [_display(x, c) for x in (inputs["A"], fake, inputs["B"])]
        return torch.stack(shown, dim=1).flatten(0, 1)  # (3k, C, H, W): A0 G(A0) B0 A1 ...

    def evaluate(self, models: dict[str, nn.Module], cfg: Any) -> dict[str, float]:
        """Held-out L1, PSNR and SSIM of G and of the task's trivial baseline (inpainting masks drawn
        with seed 0, so every run is scored on the same holes); {} when nothing is held out. A chroma
        colorizer first fits its `chroma_gain` on the training images (see `UNetGenerator`)."""
        gain = {}
        if cfg.model.chroma and cfg.model.chroma_gain is not None:
            models["G"].chroma_gain.fill_(cfg.model.chroma_gain)
            gain = {"chroma_gain": float(cfg.model.chroma_gain)}
        elif cfg.model.chroma:
            # fitted on (up to 512) training images, never the held-out ones; saved with G's weights
            train, _ = load_splits(cfg)
            images = train.images[:: max(1, len(train) // 512)][:512]
            gain = {"chroma_gain": models["G"].calibrate_chroma_gain(images.float() / 127.5 - 1)}
        if cfg.model.holdout == 0:
            return gain
        pairs = heldout_pairs(cfg, seed=0)
        if pairs is None:
            return gain
        return gain | evaluate(models["G"], *pairs, cfg.model.task, features=cfg.model.eval_features)


# ---------------------------------------------------------------- presets


def _derived_preset(task: str, steps: int) -> RunConfig:
    """CPU settings: half-width G, quarter-width D and a 5x larger learning rate than the paper, so
    that a few hundred steps already give recognizable results (the paper's: see pix2pix-facades)."""
    return RunConfig(
        name=f"pix2pix-{task}",
        recipe="pix2pix",
        data=DataConfig(source="emoji", size=64, channels=3),
        train=TrainConfig(steps=steps, batch_size=16, log_every=10, sample_every=100, checkpoint_every=200),
        model=Pix2PixConfig(task=task, pairs="derived", g_channels=32, d_channels=16, lr_g=1e-3, lr_d=1e-3),
    )


# task -> (what the preset learns, steps, CPU minutes: process CPU time with one torch thread,
# measured on a shared, busy 2-core machine; see the README for the held-out scores)
DERIVED_PRESETS = {
    "colorize": ("gray to color", 1200, 6),
    "edges2photo": ("line drawing (XDoG edges) to image", 600, 3),
    "photo2edges": ("image to line drawing", 600, 3),
    "inpaint": ("fill random strokes and boxes", 600, 3),
}
for _task, (_what, _steps, _minutes) in DERIVED_PRESETS.items():
    PRESETS.add(
        f"pix2pix-{_task}",
        partial(_derived_preset, _task, _steps),
        description=f"{_what} on emoji at 64x64, ~{_minutes} CPU min; --data FOLDER for your own images",
    )


def _photos_preset(task: str, steps: int, **model: Any) -> RunConfig:
    """CPU settings on the `photos` source: 64x64 training crops (a third to four fifths of a photo's
    short side, downscaled), scored on the whole held-out photos at 128x128; resize-conv U-Net."""
    return RunConfig(
        name=f"pix2pix-{task}-photos",
        recipe="pix2pix",
        data=DataConfig(source="photos", size=64, channels=3),
        train=TrainConfig(steps=steps, batch_size=16, log_every=10, sample_every=200, checkpoint_every=500),
        model=Pix2PixConfig(
            **{
                "g_channels": 32,
                "d_channels": 16,
                "lr_g": 1e-3,
                "lr_d": 1e-3,
                "upsample": "resize",
                "eval_size": 128,
                **model,  # a preset's own settings win
                "task": task,
                "pairs": "derived",
            }
        ),
    )


# task -> (what the preset learns, steps, model settings beyond _photos_preset's); the steps are the
# measured runs of the README table (~0.18 CPU-s a step with one thread: 2-4 CPU-min, budget 15)
PHOTO_PRESETS: dict[str, tuple[str, int, dict[str, Any]]] = {
    # colorize: a small, shallow U-Net (receptive field ~1/2 of a crop) regressing the chroma mean
    # with L2 at 1/4 resolution generalizes from 19 photos far better than the deep L1 + GAN one,
    # which recalled whole training photos' hues; its eval chroma is halved (chroma_gain 0.5: at
    # 1.0 the held-out hues are too often wrong, see the README for how this was chosen)
    "colorize": (
        "gray to color, keeping the luminance exactly",
        600,
        dict(
            chroma=True,
            depth=4,
            g_channels=16,
            recon="l2",
            l1_weight=1000.0,
            chroma_scale=4,
            chroma_gain=0.5,
        ),
    ),
    "inpaint": ("fill free-form strokes and boxes", 1000, {"coarse_fill": True}),
    "edges2photo": ("line drawing (XDoG edges) to photo", 1000, {}),
    "photo2edges": ("photo to line drawing", 600, {}),
}
for _task, (_what, _steps, _model) in PHOTO_PRESETS.items():
    PRESETS.add(
        f"pix2pix-{_task}-photos",
        partial(_photos_preset, _task, _steps, **_model),
        description=f"{_what} on the offline photos, 64 px crops, <= 15 CPU min; held-out photos scored",
    )


@PRESETS.register(
    "pix2pix-facades",
    description="the paper's settings: facades labels to photo, 256x256, batch 1, 200 epochs (a GPU job)",
)
def pix2pix_facades() -> RunConfig:
    return RunConfig(
        name="pix2pix-facades",
        recipe="pix2pix",
        data=DataConfig(source="facades", size=256, channels=3),
        train=TrainConfig(steps=80_000, batch_size=1, sample_every=2000, checkpoint_every=4000),
        model=Pix2PixConfig(task="paired", pairs="side-by-side", direction="BtoA"),
    )
