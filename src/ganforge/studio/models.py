"""The studio's models: bundles loaded once at start, each offering only what it can do.

What a bundle can do is read from the capabilities its recipe declared (`model.json`, see
`ganforge.capabilities`; older bundles: derived from their recipe): generators generate, breed and
interpolate; translation models translate (a gray-input one also colorizes, a masked-input one
inpaints), in the directions they declare; super-resolution models upscale. No recipe is named
here, so a new family is served as soon as its recipe declares what it can do. Image-to-image
models are run through their pipelines (`ganforge.pipelines.translate` / `.upscale`), imported only
when such a bundle is served: while a pipeline module is absent, its capability is simply not offered.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ganforge.bundle import capabilities_in
from ganforge.capabilities import Capabilities
from ganforge.config import RunConfig
from ganforge.console import warn
from ganforge.errors import CheckpointError
from ganforge.pipelines.breed import BreedPipeline, layer_groups, supports_truncation, synthesize
from ganforge.pipelines.generate import latents
from ganforge.pipelines.interpolate import slerp
from ganforge.studio.jobs import report_progress
from ganforge.studio.limits import NotFound, StudioError

GENERATOR_NAMES = ("G_ema", "G")
IMAGE_TASKS = ("translate", "colorize", "upscale", "inpaint")
# a translation model's input kind -> the studio tab that offers it (any other input: translate)
INPUT_TABS = {"gray": "colorize", "masked": "inpaint"}


@dataclass
class GeneratorModel:
    """A noise-to-image generator: generate, breed, interpolate."""

    name: str
    recipe: str
    source: Path
    G: torch.nn.Module
    class_names: list[str] | None
    step: int

    @property
    def capabilities(self) -> list[str]:
        return ["generate", "breed", "interpolate"]

    def info(self) -> dict[str, Any]:
        G = self.G
        k = int(getattr(G, "num_classes", 0) or 0)
        names = [str(c) for c in self.class_names] if k and self.class_names else [str(i) for i in range(k)]
        return {
            "name": self.name,
            "recipe": self.recipe,
            "kind": "generator",
            "capabilities": self.capabilities,
            "z_dim": int(G.z_dim),
            "img_size": int(getattr(G, "img_size", 0) or 0),
            "channels": int(getattr(G, "img_channels", 0) or 0),
            "num_classes": k,
            "class_names": names,
            "truncation": supports_truncation(G),
            "layer_groups": list(layer_groups(G)),
            "step": self.step,
        }

    def labels(self, n: int, classes: list[int | None]) -> torch.Tensor | None:
        """Labels for n images from per-image classes (None: classes in turn, as `ganforge sample`)."""
        k = int(getattr(self.G, "num_classes", 0) or 0)
        if not k:
            if any(c is not None for c in classes):
                raise StudioError(f"model {self.name!r} is not class-conditional; leave out the class")
            return None
        chosen = [(i % k) if c is None else c for i, c in enumerate(classes)]
        bad = [c for c in chosen if not 0 <= c < k]
        if bad:
            raise StudioError(f"class {bad[0]} is out of range; model {self.name!r} has classes 0..{k - 1}")
        return torch.tensor(chosen, dtype=torch.long)

    def latents_from_json(self, rows: list[Any]) -> torch.Tensor:
        """Latents sent back by a client: each (z_dim,), or (groups, z_dim) for a style-based G."""
        try:
            z = torch.tensor(rows, dtype=torch.float32)
        except (TypeError, ValueError):
            raise StudioError("latents must be lists of numbers of equal length") from None
        groups = len(layer_groups(self.G))
        ok = (z.dim() == 2 and z.shape[1] == self.G.z_dim) or (
            groups and z.dim() == 3 and z.shape[1:] == (groups, self.G.z_dim)
        )
        if not ok or z.shape[0] == 0:
            raise StudioError(f"latents must be lists of {self.G.z_dim} numbers for model {self.name!r}")
        if not torch.isfinite(z).all():
            raise StudioError("latents must be finite numbers")
        return z

    def seed_latents(self, seeds: list[int]) -> torch.Tensor:
        """Seed s gives the latent of `ganforge sample --n 1 --seed s`."""
        return torch.cat([latents(1, self.G.z_dim, s) for s in seeds])

    def render(self, z: torch.Tensor, labels: torch.Tensor | None, truncation: float | None) -> torch.Tensor:
        return synthesize(self.G, z, labels, truncation)

    def breeder(self) -> BreedPipeline:
        return BreedPipeline(self.G)

    def interpolate(self, keys: torch.Tensor, frames: int) -> torch.Tensor:
        """Latents along the spherical path through `keys` (K, ...): frames per leg, ending on the last."""
        t = torch.arange(frames) / frames
        flat = keys.reshape(keys.shape[0], -1, keys.shape[-1])  # (K, groups or 1, z_dim)
        path = []
        for i in range(flat.shape[0] - 1):
            legs = [
                slerp(flat[i, g].expand(frames, -1), flat[i + 1, g].expand(frames, -1), t)
                for g in range(flat.shape[1])
            ]
            path.append(torch.stack(legs, dim=1))  # (frames, groups, z_dim)
        path.append(flat[-1:])
        z = torch.cat(path)
        return z.reshape(z.shape[0], *keys.shape[1:])


# An image-to-image runner: (image (1, C, H, W) in [-1, 1], mask (1, 1, H, W) or None, direction or
# None) -> result (1, C', H', W') in [-1, 1].
Runner = Callable[[torch.Tensor, torch.Tensor | None, str | None], torch.Tensor]


@dataclass
class ImageModel:
    """An image-to-image model: translate, colorize, upscale or inpaint."""

    name: str
    recipe: str
    source: Path
    task: str  # one of IMAGE_TASKS
    run: Runner
    in_channels: int | None = None  # channels the upload is converted to; None keeps its own (1 or 3)
    directions: list[str] = field(default_factory=list)  # ["AtoB", "BtoA"] for CycleGAN; [] for one way
    scale: int = 1  # output pixels per input pixel (super-resolution)
    step: int = 0

    @property
    def capabilities(self) -> list[str]:
        # a colorize model is a translation model too, as `ganforge translate` treats it
        return [self.task, "translate"] if self.task == "colorize" else [self.task]

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "recipe": self.recipe,
            "kind": "image",
            "capabilities": self.capabilities,
            "task": self.task,
            "directions": self.directions,
            "scale": self.scale,
            "channels": self.in_channels,
            "step": self.step,
        }


# capability task -> loader(bundle folder, model.json, capabilities) -> image models ([] when its
# pipeline is absent). An entry under a recipe's name replaces its task's loader for that recipe
# alone (test stand-ins, families served without a pipeline).
ImageLoader = Callable[[Path, dict[str, Any], Capabilities], list[ImageModel]]


def image_tab(caps: Capabilities) -> str | None:
    """The studio tab that offers an image-to-image bundle with these capabilities, or None."""
    if caps.task == "upscale":
        return "upscale"
    if caps.task == "translate":
        return INPUT_TABS.get(caps.input_kind, "translate")
    return None


def _pipeline_output(out: Any) -> torch.Tensor:
    images = getattr(out, "images", out)
    if not isinstance(images, torch.Tensor):
        raise StudioError(f"the pipeline returned {type(images).__name__}, not images")
    return images if images.dim() == 4 else images[None]


def _load_translation(folder: Path, meta: dict[str, Any], caps: Capabilities) -> list[ImageModel]:
    try:
        from ganforge.pipelines.translate import TranslatePipeline  # pix2pix, CycleGAN, DTN
    except ImportError:
        return []
    task, directions = image_tab(caps) or "translate", list(caps.directions)
    if directions:
        pipes = {d: TranslatePipeline.from_bundle(folder, d) for d in directions}
    else:
        pipes = {None: TranslatePipeline.from_bundle(folder)}
    for pipe in pipes.values():
        pipe.progress = report_progress  # tiles done / total for studio jobs; a cancel stops between tiles

    def run(image: torch.Tensor, mask: torch.Tensor | None, direction: str | None) -> torch.Tensor:
        pipe = pipes[direction if directions else None]
        return _pipeline_output(pipe(image) if mask is None else pipe(image, mask=mask))

    # the pipeline converts channels itself (a color photo into a colorize model becomes its luminance)
    return [ImageModel("", meta["recipe"], folder, task, run, None, directions)]


def _load_upscale(folder: Path, meta: dict[str, Any], caps: Capabilities) -> list[ImageModel]:
    try:
        from ganforge.pipelines.upscale import UpscalePipeline, pil_to_tensor, tensor_to_pil
    except ImportError:
        return []
    pipe = UpscalePipeline.from_bundle(folder)
    pipe.progress = report_progress  # tiles done / total for studio jobs; a cancel stops between tiles

    def run(image: torch.Tensor, mask: torch.Tensor | None, direction: str | None) -> torch.Tensor:
        # the pipeline's PIL entry point handles gray, color and alpha; 8-bit round trips are exact
        return pil_to_tensor(pipe(tensor_to_pil(image)))

    return [ImageModel("", meta["recipe"], folder, "upscale", run, None, [], int(pipe.scale))]


IMAGE_LOADERS: dict[str, ImageLoader] = {"translate": _load_translation, "upscale": _load_upscale}


def _bundle_folder(path: Path) -> Path | None:
    for folder in (path, path / "bundle"):
        if folder.is_dir() and (folder / "model.json").is_file():
            return folder
    return None


def _display_name(path: Path) -> str:
    path = path.resolve()
    if path.name == "bundle" and path.parent.name:
        return path.parent.name
    return path.stem if path.is_file() else path.name


class ModelManager:
    """Loads every bundle once, names each (after its run or folder), and hands them out by capability."""

    def __init__(self, paths: list[str | Path], device: torch.device | str = "cpu"):
        if not paths:
            raise StudioError("give at least one bundle or run directory to serve")
        self.device = torch.device(device)
        self.models: dict[str, GeneratorModel | ImageModel] = {}
        for path in paths:
            hub = isinstance(path, str) and path.startswith("hf:")
            model = self._load_hub(path) if hub else self._load(Path(path))
            if model is None:
                continue
            base, k = (path[3:].replace("/", "-") if hub else _display_name(Path(path))), 2
            name = base
            while name in self.models:
                name, k = f"{base}-{k}", k + 1
            model.name = name
            self.models[name] = model
        if not self.models:
            raise StudioError(
                "none of the given models can be served yet (their pipelines are not installed); "
                "serve a generator bundle (gan, dcgan, ...)"
            )

    def _load_hub(self, name: str) -> GeneratorModel:
        """A generator from the Hugging Face Hub (`hf:user/name`, the optional hub extra)."""
        from ganforge.pipelines import load_generator

        loaded = load_generator(name, self.device)
        return GeneratorModel(
            "", loaded.config.recipe, loaded.source, loaded.G, loaded.class_names, loaded.step
        )

    def _load(self, path: Path) -> GeneratorModel | ImageModel | None:
        from ganforge.pipelines import load_generator

        if not path.exists():
            raise CheckpointError(f"{path} does not exist; pass a bundle folder or a run directory")
        folder = _bundle_folder(path)
        meta: dict[str, Any] = {}
        if folder is not None:
            try:
                meta = json.loads((folder / "model.json").read_text())
            except json.JSONDecodeError as err:
                raise CheckpointError(f"{folder / 'model.json'} is not valid JSON ({err.msg})") from None
        recipe = str(meta.get("recipe", ""))
        caps = None
        if folder is not None:
            if not (folder / "config.json").is_file():
                raise CheckpointError(f"{folder / 'config.json'} is missing; the bundle is incomplete")
            caps = capabilities_in(meta, RunConfig.load(folder / "config.json"), folder / "model.json")
        loader = IMAGE_LOADERS.get(recipe) or IMAGE_LOADERS.get(caps.task if caps is not None else "")
        if caps is not None and loader is not None:
            loaded = loader(folder, meta, caps)
            if not loaded:
                warn(f"{path}: the studio cannot run {recipe} models yet (no pipeline installed); skipped")
                return None
            loaded[0].step = int(meta.get("step", 0))
            return loaded[0]
        names = list(meta.get("models", {}))
        if caps is not None and not (caps.can("generate") and any(n in names for n in GENERATOR_NAMES)):
            raise StudioError(
                f"{path}: the studio does not know what a {recipe or 'unknown'} model with "
                f"{', '.join(names) or 'no models'} can do"
            )
        loaded_g = load_generator(path, self.device)
        recipe = recipe or loaded_g.config.recipe
        return GeneratorModel("", recipe, loaded_g.source, loaded_g.G, loaded_g.class_names, loaded_g.step)

    def infos(self) -> list[dict[str, Any]]:
        return [m.info() for m in self.models.values()]

    def get(self, name: str | None, capability: str) -> GeneratorModel | ImageModel:
        """The model called `name` (or the first that can, when None), checked to offer `capability`."""
        able = [m for m in self.models.values() if capability in m.capabilities]
        if name is None:
            if not able:
                raise NotFound(f"no loaded model can {capability}")
            return able[0]
        if name not in self.models:
            raise NotFound(f"no model named {name!r}; loaded: {', '.join(self.models)}")
        model = self.models[name]
        if capability not in model.capabilities:
            others = ", ".join(m.name for m in able) or "none"
            raise StudioError(f"model {name!r} cannot {capability}; models that can: {others}")
        return model
