"""DTN: the Domain Transfer Network (Taigman, Polyak & Wolf 2016, "Unsupervised Cross-Domain
Image Generation").

A source image x becomes a target-domain image G(x) = g(f(x)) with f a fixed feature encoder. D
is three-way: class 0 for g(f(source)), 1 for g(f(target)), 2 for real targets. g minimizes

    L_GANG + alpha * L_CONST + beta * L_TID + gamma * L_TV

- L_GANG: D should call both kinds of g's outputs real targets (class 2);
- L_CONST (f-constancy): |f(x) - f(g(f(x)))|^2 on source x: the translation keeps what f sees;
- L_TID (target identity): |x - g(f(x))|^2 on target x: g is the identity on its own domain;
- L_TV: total variation of g(f(x)), a smoothness prior (used for faces).

The paper's digit setting (SVHN -> MNIST) has alpha = beta = 15, gamma = 0 and f a classifier
trained on the labelled source domain. Here f is either that (`model.encoder=pretrain`: a
`dtn.F` trained on the source labels once, deterministically, cached under `cache_dir()/dtn`), or
a ganforge feature extractor by name (`model.encoder=digits-lenet`, ...).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file
from torch import nn
from torch.nn import functional as F

from ganforge import console
from ganforge.capabilities import Capabilities
from ganforge.config import DataConfig, OptimConfig, RunConfig, TrainConfig
from ganforge.data import printed_digits  # noqa: F401 - registers printed-digits for the presets
from ganforge.data.dataset import ImageData
from ganforge.data.download import cache_dir
from ganforge.errors import ConfigError, DataError
from ganforge.fileio import save_safetensors
from ganforge.imaging import to_float
from ganforge.models.dtn import CLASSES
from ganforge.recipes.base import Batch, ModelSpec, Phase, Recipe, register_recipe
from ganforge.registry import PRESETS

FAKE_SOURCE, FAKE_TARGET, REAL_TARGET = (CLASSES.index(c) for c in CLASSES)
ENCODER_CACHE_VERSION = 2  # bump when pretraining changes, so that old encoders are not reused
PREVIEW_COLUMNS = 8


@dataclass
class DTNConfig(OptimConfig):
    data_a: str | None = (
        None  # source domain (--data-a); labelled (e.g. class subfolders) for encoder=pretrain
    )
    data_b: str | None = None  # target domain (--data-b)
    encoder: str = "pretrain"  # f: pretrain (dtn.F on the source labels) or an extractor, e.g. digits-lenet
    encoder_weights: str | None = None  # dtn.F weights to use as f; None: pretrained and cached at data load
    encoder_steps: int = 1500  # pretraining steps of f (batch 128, Adam 1e-3)
    feature_dim: int = 128  # length of f(x) (128 in the paper's digit network)
    f_channels: int = 32  # dtn.F width of its first block
    g_channels: int = 32  # g width of its last block
    d_channels: int = 32  # D width of its first block
    alpha_const: float = 15.0  # weight of L_CONST (15 for digits in the paper)
    beta_tid: float = 15.0  # weight of L_TID (15 for digits)
    gamma_tv: float = 0.0  # weight of L_TV (0 for digits, 0.05 for faces)
    g_steps: int = 1  # generator updates per discriminator update
    eval_classifier: str | None = None  # at the end, score translations of eval_data with this classifier
    eval_data: str | None = (
        None  # a labelled built-in or folder in the source domain, e.g. printed-digits-test
    )
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)  # Adam

    def validate(self) -> None:
        for key in ("feature_dim", "f_channels", "g_channels", "d_channels", "g_steps"):
            if getattr(self, key) < 1:
                raise ConfigError(f"model.{key}={getattr(self, key)} must be at least 1")
        if self.encoder_steps < 0:
            raise ConfigError("model.encoder_steps must be >= 0")
        if min(self.alpha_const, self.beta_tid, self.gamma_tv) < 0:
            raise ConfigError("model.alpha_const, model.beta_tid and model.gamma_tv must be >= 0")


# ------------------------------------------------------------------------------------- the losses


def f_constancy_loss(f: nn.Module, source_features: torch.Tensor, translated: torch.Tensor) -> torch.Tensor:
    """L_CONST: mean squared distance between f(x) and f(G(x)) for source x (Taigman et al. eq. 4)."""
    return F.mse_loss(f(translated), source_features)


def target_identity_loss(target: torch.Tensor, reconstructed: torch.Tensor) -> torch.Tensor:
    """L_TID: mean squared distance between a target image x and G(x) (Taigman et al. eq. 6)."""
    return F.mse_loss(reconstructed, target)


def total_variation(images: torch.Tensor) -> torch.Tensor:
    """L_TV with exponent 1: mean over pixels of sqrt(dx^2 + dy^2) (Taigman et al. eq. 7)."""
    dx = images[..., :-1, 1:] - images[..., :-1, :-1]  # (B, C, H-1, W-1)
    dy = images[..., 1:, :-1] - images[..., :-1, :-1]
    return (dx.square() + dy.square() + 1e-8).sqrt().mean()


# ------------------------------------------------------------------------------ pretraining of f


def encoder_kwargs(cfg: DTNConfig, data: ImageData) -> dict[str, Any]:
    """Constructor arguments of the `dtn.F` that `cfg` pretrains on `data`."""
    return dict(
        in_channels=data.channels,
        img_size=data.size[0],
        feature_dim=cfg.feature_dim,
        base_channels=cfg.f_channels,
        head_classes=max(data.num_classes, 1),
    )


def encoder_cache_path(data: ImageData, kwargs: dict[str, Any], steps: int, seed: int) -> Path:
    digest = hashlib.sha256()
    digest.update(data.images.contiguous().numpy().tobytes())
    digest.update(data.labels.numpy().tobytes() if data.labels is not None else b"")
    digest.update(json.dumps([ENCODER_CACHE_VERSION, kwargs, steps, seed], sort_keys=True).encode())
    return cache_dir() / "dtn" / f"dtn-encoder-{digest.hexdigest()[:16]}.safetensors"


def pretrain_encoder(
    data: ImageData, kwargs: dict[str, Any], steps: int, seed: int = 0, batch_size: int = 128
) -> tuple[dict[str, torch.Tensor], float]:
    """Train a `dtn.F` to classify `data` (the paper's f for digits); returns (weights, held-out
    accuracy on a fixed tenth of the data). Deterministic for a seed; leaves the global RNG alone."""
    from ganforge.registry import create_model

    if data.labels is None or data.num_classes < 2:
        raise DataError(
            f"model.encoder=pretrain trains f to classify the source domain, but {data.source} has no "
            "labels; use a labelled source (class subfolders, or a labelled built-in) or "
            "--set model.encoder=digits-lenet (any ganforge feature extractor)"
        )
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = create_model("dtn.F", **kwargs)
    order = torch.randperm(len(data), generator=g)
    held, train = order[: len(data) // 10], order[len(data) // 10 :]
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    net.train()
    for _ in range(steps):
        index = train[torch.randint(len(train), (batch_size,), generator=g)]
        loss = F.cross_entropy(net.classify(to_float(data.images[index])), data.labels[index])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        correct = sum(
            int((net.classify(to_float(data.images[chunk])).argmax(1) == data.labels[chunk]).sum())
            for chunk in held.split(500)
        )
    return net.state_dict(), correct / max(1, len(held))


def prepare_encoder(cfg: DTNConfig, source: ImageData, seed: int = 0) -> Path:
    """The pretrained f for `source`: read from the cache, else trained and cached there."""
    kwargs = encoder_kwargs(cfg, source)
    path = encoder_cache_path(source, kwargs, cfg.encoder_steps, seed)
    if path.is_file():
        return path
    console.info(f"pretraining the DTN encoder f on {len(source):,} labelled {source.source} images (once)")
    weights, accuracy = pretrain_encoder(source, kwargs, cfg.encoder_steps, seed)
    console.info(f"encoder f classifies {accuracy:.1%} of held-out {source.source} images; cached at {path}")
    metadata = {"kwargs": json.dumps(kwargs), "held_out_accuracy": f"{accuracy:.4f}"}
    save_safetensors(path, weights, metadata)
    return path


# ------------------------------------------------------------------------------------ the recipe


@register_recipe("dtn", description="DTN (Taigman et al. 2016): domain transfer through a fixed encoder f")
class DTNRecipe(Recipe):
    capabilities = Capabilities(
        task="translate", latent_spaces=(), input_kind="image", label="domain transfer"
    )
    config_class = DTNConfig
    ema_of = ()  # the paper uses no EMA
    generator_name = "G"
    exports = ("G",)  # G = g o f, one image-to-image model (f's weights included)

    @classmethod
    def load_data(cls, cfg: Any) -> dict[str, ImageData]:
        """Source (main) and target ("B") domains; with encoder=pretrain also pretrains f (cached)
        and records its file in `cfg.model.encoder_weights`."""
        from ganforge.data.unpaired import load_unpaired

        domains = load_unpaired(cfg.data, cfg.model.data_a, cfg.model.data_b)
        m = cfg.model
        if m.encoder == "pretrain":
            given = Path(m.encoder_weights).expanduser() if m.encoder_weights else None
            if given is not None and not given.is_file() and not given.name.startswith("dtn-encoder-"):
                raise DataError(
                    f"model.encoder_weights={m.encoder_weights} does not exist; fix the path or unset it"
                )
            if given is None or not given.is_file():  # ganforge's own cache: rebuilt when missing
                m.encoder_weights = str(prepare_encoder(m, domains["A"], cfg.train.seed))
        return {"main": domains["A"], "B": domains["B"]}

    def build(self) -> None:
        cfg, data = self.config, self.data
        g_kwargs = dict(
            in_channels=data.channels,
            out_channels=data.channels,
            img_size=data.size,
            feature_dim=cfg.feature_dim,
            f_channels=cfg.f_channels,
            g_channels=cfg.g_channels,
            head_classes=max(data.num_classes, 1),
        )
        if cfg.encoder != "pretrain":
            g_kwargs["encoder"] = cfg.encoder
        self.G = self.add_model("G", ModelSpec("dtn.G", g_kwargs))
        self.D = self.add_model(
            "D",
            ModelSpec(
                "dtn.D", dict(in_channels=data.channels, img_size=data.size, base_channels=cfg.d_channels)
            ),
        )
        self._load_encoder()
        self.f = self.G.encoder.requires_grad_(False)
        self.optimizers["G"] = torch.optim.Adam(self.G.decoder.parameters(), lr=cfg.lr_g, betas=cfg.betas)
        self.optimizers["D"] = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d, betas=cfg.betas)
        self._fakes: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor] | None = None

    def _load_encoder(self) -> None:
        cfg = self.config
        if cfg.encoder != "pretrain":
            from ganforge.metrics.features import get_extractor

            self.G.encoder.net.load_state_dict(get_extractor(cfg.encoder).state_dict())
            return
        if not cfg.encoder_weights or not Path(cfg.encoder_weights).expanduser().is_file():
            raise ConfigError(
                "model.encoder=pretrain needs the pretrained f in model.encoder_weights; DTNRecipe.load_data "
                "makes it (ganforge train does this), or pass a dtn.F .safetensors file"
            )
        try:
            self.G.encoder.load_state_dict(load_file(str(Path(cfg.encoder_weights).expanduser())))
        except RuntimeError as err:
            reason = str(err).splitlines()[0][:120]
            raise ConfigError(
                f"model.encoder_weights={cfg.encoder_weights} does not fit this f ({reason}); "
                "unset it to pretrain f for this data"
            ) from None

    def _translate(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(f(source), g(f(source)), target, g(f(target))), g's outputs with their graphs."""
        source, target = batch.real, batch.extra["B"].real
        with torch.no_grad():
            h_source, h_target = self.f(source), self.f(target)
        return h_source, self.G.decode(h_source), target, self.G.decode(h_target)

    def d_main(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        self._fakes = self._translate(batch)  # reused by the first G phase: g has not changed since
        _, fake_source, target, fake_target = self._fakes
        logits = self.D(torch.cat([fake_source.detach(), fake_target.detach(), target]))  # (3B, 3)
        n = target.shape[0]
        classes = torch.tensor(
            [FAKE_SOURCE, FAKE_TARGET, REAL_TARGET], device=logits.device
        ).repeat_interleave(n)
        loss = F.cross_entropy(logits, classes) * 3  # sum of the three terms' means, as in L_D
        accuracy = (logits.argmax(1) == classes).float().mean()
        return loss, {"D_loss": loss.detach(), "D_accuracy": accuracy.detach()}

    def g_main(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        cfg = self.config
        h_source, fake_source, target, fake_target = self._fakes or self._translate(batch)
        self._fakes = None  # a second G phase (g_steps > 1) translates again with the updated g
        # D sees the same mix as in its own phase: with BatchNorm, a batch of fakes alone would be
        # normalized by its own statistics and look real to D, and g would learn nothing from it.
        logits = self.D(torch.cat([fake_source, fake_target, target]))[: 2 * target.shape[0]]  # (2B, 3)
        real = torch.full((logits.shape[0],), REAL_TARGET, device=logits.device)
        gan = F.cross_entropy(logits, real) * 2  # L_GANG: both terms' means
        const = f_constancy_loss(self.f, h_source, fake_source)
        tid = target_identity_loss(target, fake_target)
        loss = gan + cfg.alpha_const * const + cfg.beta_tid * tid
        logs = {"G_gan": gan.detach(), "L_const": const.detach(), "L_tid": tid.detach()}
        if cfg.gamma_tv > 0:
            tv = total_variation(fake_source)
            loss = loss + cfg.gamma_tv * tv
            logs["L_tv"] = tv.detach()
        logs["G_loss"] = loss.detach()
        return loss, logs

    def phases(self) -> list[Phase]:
        g_phases = [Phase(f"G_main{k or ''}", "G", self.g_main) for k in range(self.config.g_steps)]
        return [Phase("D_main", "D", self.d_main), *g_phases]

    def evaluate(self, models: dict[str, nn.Module], cfg: Any) -> dict[str, float]:
        """With model.eval_classifier and model.eval_data: the classifier's accuracy on translated
        and on untranslated eval images, scored against their own labels (Taigman et al.'s measure)."""
        m = self.config
        if not (m.eval_classifier and m.eval_data):
            return {}
        from ganforge.data import load_source

        data = load_source(m.eval_data, cfg.data.size, self.data.channels, cfg.data.fit)
        translated, untranslated = translated_accuracy(models["G"], data, m.eval_classifier)
        return {"accuracy_translated": translated, "accuracy_untranslated": untranslated}

    def sample_inputs(self, n: int, generator: torch.Generator, examples: Batch) -> dict[str, Any]:
        """Fixed source images; the grid shows each row of them above its translation."""
        k = max(1, min(n // 2, len(examples.real)))
        return {"source": examples.real[:k], "nrow": min(PREVIEW_COLUMNS, k)}

    def preview(self, models: dict[str, nn.Module], inputs: dict[str, Any]) -> torch.Tensor:
        G = models["G"]
        source = inputs["source"].to(next(G.parameters()).device)
        was_training = G.training
        G.eval()
        try:
            translated = G(source)
        finally:
            G.train(was_training)
        rows = []
        for start in range(0, len(source), PREVIEW_COLUMNS):
            rows += [source[start : start + PREVIEW_COLUMNS], translated[start : start + PREVIEW_COLUMNS]]
        return torch.cat(rows).cpu()


def translated_accuracy(
    G: nn.Module, data: ImageData, classifier: str | nn.Module = "digits-lenet", batch_size: int = 250
) -> tuple[float, float]:
    """(accuracy of `classifier` on G's translations of `data`, accuracy on `data` untranslated),
    both scored against `data`'s own labels: Taigman et al.'s measure of how well DTN keeps the
    class (they report about 90% for SVHN -> MNIST with an MNIST classifier). `classifier` is a
    `ganforge.metrics` feature extractor with a classifier head, or its name."""
    from ganforge.metrics.features import get_extractor

    if data.labels is None:
        raise DataError(f"{data.source} has no labels to score translations against")
    # A ganforge classifier trains itself on first use, and the trainer evaluates under no_grad.
    with torch.enable_grad():
        net = get_extractor(classifier) if isinstance(classifier, str) else classifier
    G = G.eval()
    device = next(G.parameters()).device
    scores = []
    with torch.no_grad():
        chunks = [G(to_float(chunk).to(device)).cpu() for chunk in data.images.split(batch_size)]
        for images in (torch.cat(chunks), data.images):  # translated (N, C, H, W) in [-1, 1], then originals
            predicted = net.logits(images, batch_size).argmax(1)
            scores.append((predicted == data.labels).float().mean().item())
    return scores[0], scores[1]


# ---------------------------------------------------------------------------------------- presets


@PRESETS.register(
    "dtn-digits",
    description="DTN: printed digits (rendered from the installed fonts) -> MNIST handwriting, digit kept",
)
def dtn_digits() -> RunConfig:
    return RunConfig(
        name="dtn-digits",
        recipe="dtn",
        # gray, as MNIST is: g draws one channel, and f reads the printed digits' luminance
        data=DataConfig(source="printed-digits", size=32, channels=1),
        # measured by bench/quality_dtn.py on one thread (README): of the translated printed-digits-test,
        # digits-lenet reads 93.8% right at 2,000 steps with L_CONST weighted 60 (4.2 CPU-minutes, f
        # cached); 87.6% at 30, 85.2% at the paper's 15, 75.4% at 15 with both rates 5e-4; 76.0% at
        # 1,000 steps and 15 (3.3 CPU-minutes with f's pretraining). The translations stay MNIST-like
        train=TrainConfig(steps=2000, batch_size=64, log_every=25, sample_every=250, checkpoint_every=500),
        model=DTNConfig(
            data_a="printed-digits",
            data_b="mnist-5k",
            encoder_steps=500,
            alpha_const=60.0,  # f-constancy: the printed digit's identity survives the translation
            eval_classifier="digits-lenet",  # an MNIST classifier, as in the paper's SVHN -> MNIST score
            eval_data="printed-digits-test",
        ),
    )


@PRESETS.register(
    "dtn",
    description="DTN on any two folders: --data-a SOURCE --data-b TARGET (source class subfolders "
    "train f, or --set model.encoder=<extractor>)",
)
def dtn_folders() -> RunConfig:
    return RunConfig(
        name="dtn",
        recipe="dtn",
        data=DataConfig(source="", size=32),
        train=TrainConfig(steps=5000, batch_size=64, sample_every=250, checkpoint_every=500),
        model=DTNConfig(),
    )
