"""Classify image files with the classifier a semi-supervised GAN bundle carries (the `sgan` recipe:
Odena 2016; Salimans et al. 2016). Files are read as the training data was: the bundle's
`data.size`, `data.channels` and `data.fit`, decoded by `ganforge.data.images`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ganforge.bundle import capabilities_of, load_bundle
from ganforge.data.folder import find_images
from ganforge.data.images import decode_image
from ganforge.data.transforms import to_channels
from ganforge.errors import CheckpointError, DataError
from ganforge.imaging import to_float
from ganforge.registry import load_all


@dataclass
class LoadedClassifier:
    C: nn.Module  # images (B, C, H, W) in [-1, 1] -> `class_logits` (B, K)
    class_names: list[str]
    size: int  # images are read at size x size ...
    channels: int  # ... with this many channels ...
    fit: str  # ... made square by "crop" or "pad"
    source: Path  # the bundle folder
    name: str  # "C_ema"/"C" (semi-supervised) or "C_base_ema"/"C_base" (the supervised-only baseline)


def load_classifier(
    path: str | Path, device: torch.device | str = "cpu", baseline: bool = False
) -> LoadedClassifier:
    """The classifier of a bundle folder, or of a finished run directory's bundle; `baseline` picks
    the supervised-only `C_base` that `--baseline` trains alongside."""
    load_all()
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path} does not exist; pass a bundle folder or a finished run directory")
    folder = path / "bundle" if not (path / "model.json").is_file() else path
    if not (folder / "model.json").is_file():
        raise CheckpointError(
            f"{path} holds no bundle (no model.json); "
            "classify needs a finished `ganforge train --model sgan` run"
        )
    capabilities_of(folder).require("classify", path)  # names the verb that fits, before weights load
    loaded = load_bundle(folder, device)
    base = "C_base" if baseline else "C"
    name = f"{base}_ema" if f"{base}_ema" in loaded.models else base  # the moving average when exported
    if name not in loaded.models:
        if baseline and ("C" in loaded.models or "C_ema" in loaded.models):
            raise CheckpointError(
                f"{folder} has no baseline classifier; train with --baseline to get one, or drop --baseline"
            )
        raise CheckpointError(
            f"{folder} holds no classifier (recipe {loaded.config.recipe!r}); "
            "train one with `ganforge train --model sgan` (or --preset sgan-mnist)"
        )
    if not loaded.class_names:
        raise CheckpointError(f"{folder}/model.json lists no class_names; the bundle is incomplete")
    data = loaded.config.data
    channels = data.channels if data.channels is not None else int(loaded.models[name].img_channels)
    return LoadedClassifier(
        loaded.models[name], list(loaded.class_names), data.size, channels, data.fit, folder, name
    )


def image_files(paths: Sequence[str | Path]) -> list[Path]:
    """Files as given and the images in folders (recursively, sorted), in the order given."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            found = find_images(path)
            if not found:
                raise DataError(f"folder {path} holds no images (jpg, png, webp, bmp, gif, tiff)")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise DataError(f"{path} does not exist; pass image files or folders of images")
    return files


def read_images(
    files: Sequence[Path], size: int, channels: int, fit: str = "crop"
) -> tuple[torch.Tensor, list[Path]]:
    """(images (N, channels, size, size) float in [-1, 1], the files they came from). A file that
    cannot be read is skipped with one warning line; none readable is an error."""
    images, kept = [], []
    for file in files:
        array = decode_image(file, size, fit)  # type: ignore[arg-type]
        if array is None:
            continue
        image = torch.from_numpy(array[None, None] if array.ndim == 2 else array.transpose(2, 0, 1)[None])
        images.append(to_channels(image, channels))
        kept.append(file)
    if not images:
        raise DataError(f"none of the {len(files)} files could be read as an image (see the warnings above)")
    return to_float(torch.cat(images)), kept


@dataclass
class ClassifyOutput:
    labels: torch.Tensor  # (N,) the most probable class of each image
    probabilities: torch.Tensor  # (N, K) p(class | image, image is real): softmax over the K classes
    class_names: list[str]

    @property
    def confidence(self) -> torch.Tensor:
        """(N,) the probability of the predicted class."""
        return self.probabilities.gather(1, self.labels[:, None])[:, 0]

    def names(self) -> list[str]:
        return [self.class_names[int(k)] for k in self.labels]


class ClassifyPipeline:
    """`ClassifyPipeline(C, class_names)(images)` -> `ClassifyOutput`; images (N, C, H, W) in [-1, 1]."""

    def __init__(self, C: nn.Module, class_names: Sequence[str], device: torch.device | str = "cpu"):
        if len(class_names) != C.classes:
            raise CheckpointError(f"{len(class_names)} class names for a classifier of {C.classes} classes")
        self.C = C.to(device).eval()
        self.class_names = list(class_names)
        self.device = torch.device(device)

    @torch.no_grad()
    def __call__(self, images: torch.Tensor, batch_size: int = 256) -> ClassifyOutput:
        if images.dim() != 4 or images.shape[0] == 0:
            raise DataError(f"images must be a non-empty (N, C, H, W) batch, got {tuple(images.shape)}")
        chunks = [
            torch.softmax(self.C.class_logits(images[i : i + batch_size].to(self.device)).float(), 1).cpu()
            for i in range(0, images.shape[0], batch_size)
        ]
        probabilities = torch.cat(chunks)  # (N, K)
        return ClassifyOutput(probabilities.argmax(1), probabilities, self.class_names)

    @classmethod
    def from_loaded(cls, loaded: LoadedClassifier, device: torch.device | str = "cpu") -> ClassifyPipeline:
        return cls(loaded.C, loaded.class_names, device)
