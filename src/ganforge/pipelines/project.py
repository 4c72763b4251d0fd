"""GAN inversion: find the latent from which a trained generator reproduces a given image.

The latent is optimized with Adam to minimize a pixel loss (mean squared error) plus a perceptual
loss on frozen EfficientNet-Lite0 features (`ganforge.metrics.features`, "effnet-lite0"; the
learned-feature distance of Zhang et al. 2018, LPIPS, with unit-normalized channels). Which latent:

- `z` for any generator (DCGAN, MLP GAN, ...), started from the best of a few seeded draws and kept
  near the shell of radius sqrt(z_dim) where Gaussian latents live (a small penalty on
  |z|^2 / z_dim - 1);
- `w` (one style vector for every layer) or `w+` (one per layer; Abdal et al. 2019, Image2StyleGAN)
  for style-based generators with `mapping(z, labels) -> ws (B, num_ws, w_dim)`,
  `synthesis(ws) -> images` and a `w_avg` buffer, started from the average w, with noise on w that
  fades over the first three quarters of the steps and a learning rate that ramps up and down
  (as in the projector of Karras et al. 2020, StyleGAN2);
- `z+`: one z per layer group, for generators that breed per group (`forward_groups`); this is
  the form of latent the studio's Breed page mixes.

Deterministic for a seed: every random draw comes from one `torch.Generator`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from ganforge.errors import ConfigError, DataError
from ganforge.pipelines.breed import layer_groups

SPACES = ("auto", "z", "z+", "w", "w+")
PERCEPTUAL_BLOCKS = (2, 4, 7)  # EfficientNet-Lite0 MBConv outputs at strides 4, 8 and 16
W_STATS_SAMPLES = 512  # z draws that estimate the mean and spread of w


@dataclass
class ProjectOutput:
    image: torch.Tensor  # (1, C, H, W) the reconstruction in [-1, 1], on the CPU
    target: torch.Tensor  # (1, C, H, W) what was projected
    latent: torch.Tensor  # z: (z_dim,); z+: (groups, z_dim); w: (w_dim,); w+: (num_ws, w_dim)
    space: str
    class_index: int | None  # the class used by a conditional generator
    loss: list[float] = field(default_factory=list)  # total loss at every step, before its update
    pixel_loss: list[float] = field(default_factory=list)
    perceptual_loss: list[float] = field(default_factory=list)


def is_style_based(G: torch.nn.Module) -> bool:
    return all(callable(getattr(G, name, None)) for name in ("mapping", "synthesis")) and hasattr(G, "num_ws")


def resolve_space(G: torch.nn.Module, space: str) -> str:
    """ "auto" is W+ for style-based generators and z otherwise; other choices are checked against G."""
    if space not in SPACES:
        raise ConfigError(f"--space {space!r} is not one of {', '.join(SPACES)}")
    style = is_style_based(G)
    if space == "auto":
        return "w+" if style else "z"
    if space in ("w", "w+") and not style:
        raise ConfigError(
            f"--space {space} needs a style-based generator (mapping + synthesis, e.g. stylegan); "
            "this one has only z: use --space z"
        )
    if space == "z+" and not layer_groups(G):
        raise ConfigError("--space z+ needs a generator with layer groups (stylegan); use --space z")
    return space


class FeatureDistance:
    """Mean over EfficientNet-Lite0 blocks of the squared distance between unit-normalized feature
    vectors at each position (LPIPS without the learned weights). Images are resized to `size`."""

    def __init__(
        self, device: torch.device, size: int, weights: str | None = None, random_init: bool = False
    ):
        from ganforge.metrics.features import get_extractor

        try:
            self.extractor = get_extractor(
                "effnet-lite0", weights=weights, device=device, random_init=random_init
            )
        except DataError as err:
            raise DataError(f"{err}; or fit pixels only with --perceptual-weight 0") from None
        self.size = size

    def features(self, images: torch.Tensor) -> list[torch.Tensor]:
        maps = self.extractor.perceptual_features(images, PERCEPTUAL_BLOCKS, size=self.size)
        return [m / (m.norm(dim=1, keepdim=True) + 1e-8) for m in maps]  # (B, C, h, w), unit along C

    def __call__(self, images: torch.Tensor, target: list[torch.Tensor]) -> torch.Tensor:
        maps = self.features(images)
        return sum((m - t).square().sum(1).mean() for m, t in zip(maps, target, strict=True)) / len(maps)


def learning_rate(base: float, step: int, steps: int, rampup: float = 0.05, rampdown: float = 0.25) -> float:
    """`base` scaled by a linear warm-up over the first `rampup` of the steps and a cosine fall over
    the last `rampdown`."""
    down = 0.5 - 0.5 * math.cos(math.pi * min(1.0, (1.0 - step / steps) / rampdown))
    up = min(1.0, (step + 1) / max(1.0, rampup * steps))
    return base * down * up


class ProjectPipeline:
    """`ProjectPipeline(G)(target, steps=300, space="auto", seed=0)` -> `ProjectOutput`.

    Args of the call:
        target: (1, C, H, W) in [-1, 1] at G's image size and channels (`load_target` makes one).
        steps: Adam steps on the latent.
        space: "auto", "z", "z+", "w" or "w+" (see the module doc).
        lr: Adam's peak learning rate.
        pixel_weight, perceptual_weight: the two loss terms (perceptual 0: pixels only).
        class_index: the class for a conditional generator; None tries every class at the start.
        candidates: seeded z draws to start a z / z+ search from (the best one is kept).
        seed: seeds every draw.
        callback: called as callback(step, total_loss) after each step.
    """

    def __init__(
        self,
        G: torch.nn.Module,
        device: torch.device | str = "cpu",
        perceptual_size: int | None = None,
        perceptual_weights: str | None = None,
        perceptual_random_init: bool = False,
    ):
        if not hasattr(G, "z_dim"):
            raise ConfigError(
                "projection needs a noise-to-image generator (gan, dcgan, stylegan, ...); "
                "this model translates images"
            )
        self.device = torch.device(device)
        self.G = G.to(self.device).eval().requires_grad_(False)
        size = int(getattr(G, "img_size", 0) or 0)
        self.perceptual_size = perceptual_size or min(224, max(64, size))  # small images upsampled
        self.perceptual_args = (perceptual_weights, perceptual_random_init)
        self._distance: FeatureDistance | None = None

    def distance(self) -> FeatureDistance:
        if self._distance is None:
            weights, random_init = self.perceptual_args
            self._distance = FeatureDistance(self.device, self.perceptual_size, weights, random_init)
        return self._distance

    # ---------------------------------------------------------------- rendering a latent

    def render(self, latent: torch.Tensor, space: str, labels: torch.Tensor | None) -> torch.Tensor:
        """Images (B, C, H, W), not clamped, from latents with a leading batch dimension."""
        G = self.G
        if space == "z":
            return G(latent, labels)
        if space == "z+":
            return G.forward_groups(latent, labels)
        if space == "w":
            latent = latent[:, None, :].expand(-1, G.num_ws, -1)  # (B, num_ws, w_dim)
        return G.synthesis(latent)

    def w_stats(self, labels: torch.Tensor | None, generator: torch.Generator) -> tuple[torch.Tensor, float]:
        """The mean w (G's tracked `w_avg` when it has been tracked) and the spread of w around it."""
        z = torch.randn(W_STATS_SAMPLES, self.G.z_dim, generator=generator).to(self.device)
        many = labels.expand(W_STATS_SAMPLES) if labels is not None else None
        with torch.no_grad():
            w = self.G.mapping(z, many)[:, 0]  # (N, w_dim)
        w_avg = getattr(self.G, "w_avg", None)
        mean = w_avg.detach().clone() if w_avg is not None and bool(w_avg.abs().sum() > 0) else w.mean(0)
        spread = float((w - mean).square().sum(1).mean().sqrt())
        return mean, spread

    # ---------------------------------------------------------------- the search

    def start(
        self,
        target: torch.Tensor,
        space: str,
        classes: list[int | None],
        candidates: int,
        generator: torch.Generator,
    ) -> tuple[torch.Tensor, int | None, float]:
        """The starting latent (with a batch dimension), its class and the spread of the noise on w."""
        if space in ("w", "w+"):
            label = classes[0]
            labels = torch.tensor([label], device=self.device) if label is not None else None
            mean, spread = self.w_stats(labels, generator)
            w = mean[None] if space == "w" else mean[None, None].repeat(1, self.G.num_ws, 1)
            return w, label, spread
        z = torch.randn(candidates, self.G.z_dim, generator=generator).to(self.device)
        if space == "z+":
            z = z[:, None, :].expand(-1, len(layer_groups(self.G)), -1)  # (K, groups, z_dim)
        best = (math.inf, 0, None)
        with torch.no_grad():
            for label in classes:
                labels = torch.full((candidates,), label, device=self.device) if label is not None else None
                errors = (self.render(z, space, labels) - target).square().flatten(1).mean(1)  # (K,)
                k = int(errors.argmin())
                if float(errors[k]) < best[0]:
                    best = (float(errors[k]), k, label)
        _, k, label = best
        return z[k : k + 1].clone(), label, 0.0

    def __call__(
        self,
        target: torch.Tensor,
        steps: int = 300,
        space: str = "auto",
        lr: float | None = None,
        pixel_weight: float = 1.0,
        perceptual_weight: float = 1.0,
        class_index: int | None = None,
        candidates: int = 32,
        seed: int = 0,
        callback: Callable[[int, float], None] | None = None,
    ) -> ProjectOutput:
        G = self.G
        if steps < 1 or candidates < 1:
            raise ConfigError(f"--steps {steps}, candidates {candidates}: both must be at least 1")
        if pixel_weight < 0 or perceptual_weight < 0 or pixel_weight + perceptual_weight <= 0:
            raise ConfigError("the pixel and perceptual weights must be >= 0 and not both 0")
        expected = (G.img_channels, G.img_size, G.img_size)
        if target.dim() != 4 or target.shape[0] != 1 or tuple(target.shape[1:]) != expected:
            raise ConfigError(
                f"the target must be (1, {', '.join(map(str, expected))}); got {tuple(target.shape)}"
            )
        space = resolve_space(G, space)
        k = int(getattr(G, "num_classes", 0) or 0)
        if class_index is not None and not (k and 0 <= class_index < k):
            raise ConfigError(
                f"--class {class_index} is out of range; this model has classes 0..{k - 1}"
                if k
                else "--class needs a class-conditional model; this one is not"
            )
        classes: list[int | None] = [class_index] if class_index is not None or not k else list(range(k))
        if space in ("w", "w+") and class_index is None and k:
            classes = [0]  # the style search starts from one class's average w; pass --class to choose
        generator = torch.Generator().manual_seed(seed)
        target = target.detach().to(self.device, torch.float32)
        latent, label, w_spread = self.start(target, space, classes, candidates, generator)
        labels = torch.tensor([label], device=self.device) if label is not None else None
        latent.requires_grad_(True)
        peak = lr if lr is not None else (0.1 if space in ("w", "w+") else 0.05)
        optimizer = torch.optim.Adam([latent], lr=peak, betas=(0.9, 0.999))
        use_perceptual = perceptual_weight > 0
        target_features = None
        if use_perceptual:
            with torch.no_grad():
                target_features = self.distance().features(target)
        out = ProjectOutput(target.cpu(), target.cpu(), latent.detach(), space, label)
        for step in range(steps):
            t = step / steps
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(peak, step, steps)
            shown = latent
            if space in ("w", "w+"):
                fade = w_spread * 0.05 * max(0.0, 1.0 - t / 0.75) ** 2  # noise on w, gone after 3/4
                noise = torch.randn(latent.shape, generator=generator).to(self.device)
                shown = latent + fade * noise
            images = self.render(shown, space, labels)
            pixel = F.mse_loss(images, target)
            perceptual = self.distance()(images, target_features) if use_perceptual else pixel.new_zeros(())
            loss = pixel_weight * pixel + perceptual_weight * perceptual
            if space in ("z", "z+"):
                loss = loss + 0.1 * (latent.square().mean(-1) - 1.0).square().mean()  # stay on the shell
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            out.loss.append(float(loss.detach()))
            out.pixel_loss.append(float(pixel.detach()))
            out.perceptual_loss.append(float(perceptual.detach()))
            if callback is not None:
                callback(step, out.loss[-1])
        with torch.no_grad():
            out.image = self.render(latent.detach(), space, labels).clamp(-1, 1).cpu()
        out.latent = latent.detach().cpu()[0]
        return out


def load_target(path: str | Path, G: torch.nn.Module, fit: str = "crop") -> torch.Tensor:
    """An image file as G's target: (1, C, H, W) in [-1, 1], square by `fit` ("crop" or "pad"),
    resized to G's size and converted to its channels (gray <-> RGB)."""
    from ganforge.data.images import BadImage, read_image
    from ganforge.data.transforms import to_channels
    from ganforge.imaging import to_float

    try:
        array = read_image(path, int(G.img_size), fit)  # (H, W) or (H, W, 3) uint8
    except BadImage as err:
        raise DataError(f"cannot project {path}: {err}") from None
    except ValueError as err:
        raise ConfigError(f"--fit {fit!r}: {err}") from None
    pixels = torch.from_numpy(array)
    pixels = pixels[None, None] if pixels.dim() == 2 else pixels.permute(2, 0, 1)[None]  # (1, C, H, W)
    return to_float(to_channels(pixels, int(G.img_channels)))


# ---------------------------------------------------------------- files

LATENT_FORMAT = "ganforge-latent/1"
LINEAGE_FORMAT = "ganforge-lineage/1"  # what the studio's Breed page exports and imports


def save_projection(out: ProjectOutput, folder: str | Path, model_name: str, source: str) -> dict[str, Path]:
    """Write `target.png`, `reconstruction.png`, `latent.npz` and, for z / z+ latents, `lineage.json`
    (one entry of kind "projected" that the studio's Breed page imports and breeds with)."""
    import json

    import numpy as np

    from ganforge.imaging import save_image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "target": save_image(out.target, folder / "target.png"),
        "reconstruction": save_image(out.image, folder / "reconstruction.png"),
    }
    np.savez(
        folder / "latent.npz",
        format=np.array(LATENT_FORMAT),
        space=np.array(out.space),
        latent=out.latent.numpy().astype(np.float32),
        class_index=np.array(-1 if out.class_index is None else out.class_index),
        model=np.array(model_name),
        source=np.array(source),
        loss=np.array(out.loss, dtype=np.float32),
        pixel_loss=np.array(out.pixel_loss, dtype=np.float32),
        perceptual_loss=np.array(out.perceptual_loss, dtype=np.float32),
    )
    files["latent"] = folder / "latent.npz"
    if out.space in ("z", "z+"):
        entry = {
            "id": 0,
            "model": model_name,
            "kind": "projected",
            "seed": None,
            "z": out.latent.tolist(),
            "class_index": out.class_index,
            "truncation": None,
            "source": source,
            "space": out.space,
        }
        path = folder / "lineage.json"
        path.write_text(json.dumps({"format": LINEAGE_FORMAT, "entries": [entry]}, indent=1) + "\n")
        files["lineage"] = path
    return files


@dataclass
class Latent:
    latent: torch.Tensor  # as in ProjectOutput
    space: str
    class_index: int | None
    model: str
    loss: list[float]


def read_latent(path: str | Path) -> Latent:
    """Read a `latent.npz` written by `save_projection`."""
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["format"]) != LATENT_FORMAT:
                raise DataError(f"{path} is not a {LATENT_FORMAT} file")
            label = int(data["class_index"])
            return Latent(
                torch.from_numpy(data["latent"].copy()),
                str(data["space"]),
                None if label < 0 else label,
                str(data["model"]),
                data["loss"].tolist(),
            )
    except (OSError, KeyError, ValueError) as err:
        raise DataError(f"{path} is not a ganforge latent file ({str(err)[:120]})") from None
