"""Small domain classifiers that ganforge trains itself: `digits-lenet` and `fashion-lenet`.

A LeNet-style network (LeCun et al. 1998; ReLU and max-pooling in place of the original squashing
and subsampling) on 28x28 gray images. Its 128-d penultimate activations give a domain Fréchet
distance (FD-digits-lenet), which sees digits far better than an ImageNet network does, and its
logits give the class accuracy of generated or translated images.

On first use each network is trained on CPU from a fixed seed on offline data (digits: the `train`
split of mnist-5k, holding out its `test` split; fashion: the Fashion-MNIST training split), then
cached under `cache_dir()/extractors/` as safetensors, with the sha256 of that file recorded in
every figure computed with it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn
from torch.nn import functional as F

from ganforge.data.download import cache_dir, sha256_of
from ganforge.errors import DataError
from ganforge.fileio import save_safetensors
from ganforge.metrics.features.base import FeatureExtractor, register_extractor


class LeNet(nn.Module):
    def __init__(self, num_classes: int = 10, width: int = 32, hidden: int = 128):
        super().__init__()
        self.conv1 = nn.Conv2d(1, width, 5)  # 28 -> 24, pooled to 12
        self.conv2 = nn.Conv2d(width, 2 * width, 5)  # 12 -> 8, pooled to 4
        self.fc1 = nn.Linear(2 * width * 16, hidden)
        self.fc2 = nn.Linear(hidden, num_classes)

    def penultimate(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, 28, 28) normalized -> (B, hidden)."""
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return F.relu(self.fc1(x.flatten(1)))  # (B, 2*width, 4, 4) -> (B, 2*width*16) -> (B, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.penultimate(x))


@dataclass(frozen=True)
class LeNetRecipe:
    """How one cached classifier is trained; `version` is part of the cache file name."""

    name: str
    dataset: str
    split: str  # trained on this split of `dataset`
    held_out: str  # reported accuracy is on this split
    class_names: tuple[str, ...]
    epochs: int
    version: int = 1
    width: int = 16  # channels of the first convolution (the second has twice as many)
    seed: int = 0
    batch_size: int = 128
    lr: float = 4e-3  # peak of a one-cycle schedule (Smith & Topin 2019)
    shift: int = 2  # random translations of up to this many pixels (a cheap, deterministic augmentation)

    @property
    def cache_path(self) -> Path:
        return cache_dir() / "extractors" / f"{self.name}-v{self.version}.safetensors"


RECIPES = {
    "digits-lenet": LeNetRecipe(
        "digits-lenet", "mnist-5k", "train", "test", tuple(str(d) for d in range(10)), epochs=10
    ),
    "fashion-lenet": LeNetRecipe(
        "fashion-lenet",
        "fashion-mnist",
        "train",
        "test",
        (
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
        epochs=2,
        shift=0,
    ),
}


def _normalize(x: torch.Tensor) -> torch.Tensor:
    return x / 127.5 - 1.0  # [0, 255] -> [-1, 1]


def _shift(x: torch.Tensor, max_shift: int, g: torch.Generator) -> torch.Tensor:
    """Translate every image by its own integer offset in [-max_shift, max_shift], filling with -1."""
    if max_shift == 0:
        return x
    b = x.shape[0]
    padded = F.pad(x, (max_shift,) * 4, value=-1.0)
    dy, dx = (torch.randint(0, 2 * max_shift + 1, (2, b), generator=g)).tolist()
    h, w = x.shape[-2:]
    return torch.stack([padded[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(b)])


def load_split(recipe_name: str, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 images (N, 1, 28, 28) and labels (N,) of one split of the recipe's dataset."""
    from ganforge.metrics.reference import load_reference_images

    recipe = RECIPES[recipe_name]
    data = load_reference_images(recipe.dataset, split, size=28, channels=1)
    return data.images, data.labels


def accuracy(net: LeNet, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 500) -> float:
    net.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            x = _normalize(images[start : start + batch_size].float())
            correct += int((net(x).argmax(1) == labels[start : start + batch_size]).sum())
    return correct / len(images)


def _fit(recipe: LeNetRecipe, images: torch.Tensor, labels: torch.Tensor) -> LeNet:
    g = torch.Generator().manual_seed(recipe.seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(recipe.seed)
        net = LeNet(len(recipe.class_names), recipe.width)
    opt = torch.optim.Adam(net.parameters(), lr=recipe.lr)
    steps = recipe.epochs * (len(images) // recipe.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe.lr, total_steps=steps)
    net.train()
    for _ in range(recipe.epochs):
        order = torch.randperm(len(images), generator=g)
        for k in range(len(images) // recipe.batch_size):
            index = order[k * recipe.batch_size : (k + 1) * recipe.batch_size]
            x = _shift(_normalize(images[index].float()), recipe.shift, g)
            loss = F.cross_entropy(net(x), labels[index])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    return net.eval()


def train_lenet(recipe: LeNetRecipe) -> tuple[LeNet, dict[str, str]]:
    """Train one classifier from its fixed seed. Leaves the global torch RNG as it found it."""
    from ganforge.console import info

    images, labels = load_split(recipe.name, recipe.split)
    held_x, held_y = load_split(recipe.name, recipe.held_out)
    info(f"training the {recipe.name} feature network on {len(images):,} {recipe.dataset} images (once)")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same float reductions, so the same weights, on every machine
    try:
        with torch.enable_grad():  # first use may come from inside an evaluation under no_grad
            net = _fit(recipe, images, labels)
    finally:
        torch.set_num_threads(threads)
    held_acc = accuracy(net, held_x, held_y)
    meta = {
        "name": recipe.name,
        "version": str(recipe.version),
        "trained_on": f"{recipe.dataset}:{recipe.split} ({len(images)} images)",
        "held_out_accuracy": f"{held_acc:.4f}",
        "held_out": f"{recipe.dataset}:{recipe.held_out} ({len(held_x)} images)",
        "seed": str(recipe.seed),
        "class_names": json.dumps(list(recipe.class_names)),
    }
    info(f"{recipe.name}: {held_acc:.2%} on {meta['held_out']}; cached at {recipe.cache_path}")
    return net.eval(), meta


class LeNetExtractor(FeatureExtractor):
    input_size = 28
    channels = 1
    feature_dim = 128
    num_classes = 10

    def __init__(self, name: str, net: LeNet, weights_sha256: str | None, source: str, meta: dict[str, str]):
        super().__init__(weights_sha256, source)
        self.name = name
        self.fd_name = f"FD-{name}"
        self.net = net.eval().requires_grad_(False)
        self.class_names = json.loads(meta["class_names"]) if "class_names" in meta else None
        self.meta = meta

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return _normalize(x)

    def embed(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.net.penultimate(x)
        return h, self.net.fc2(h)

    def describe(self) -> dict:
        return {**super().describe(), **{k: v for k, v in self.meta.items() if k != "class_names"}}


def build_lenet(name: str, weights: str | None = None, random_init: bool = False) -> LeNetExtractor:
    recipe = RECIPES[name]
    meta = {"class_names": json.dumps(list(recipe.class_names))}
    if random_init:
        net = LeNet(len(recipe.class_names), recipe.width)
        return LeNetExtractor(name, net, None, "random init (untrained)", meta)
    path = Path(weights).expanduser() if weights else recipe.cache_path
    if weights and not path.is_file():
        raise DataError(f"--weights {path} does not exist; give a {name} .safetensors file")
    if not path.is_file():
        net, meta = train_lenet(recipe)
        save_safetensors(path, net.state_dict(), meta)
    try:
        from safetensors import safe_open

        with safe_open(str(path), "pt") as f:
            meta = dict(f.metadata() or meta)
        net = LeNet(len(recipe.class_names), recipe.width)
        net.load_state_dict(load_file(str(path)), strict=True)
    except Exception as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise DataError(
            f"{path} is not a {name} weights file ({first[:120]}); delete it to retrain, or fix --weights"
        ) from None
    return LeNetExtractor(name, net, sha256_of(path), str(path), meta)


@register_extractor("digits-lenet", description="LeNet trained by ganforge on mnist-5k (train split)")
def build_digits_lenet(weights: str | None = None, random_init: bool = False) -> LeNetExtractor:
    return build_lenet("digits-lenet", weights, random_init)


@register_extractor("fashion-lenet", description="LeNet trained by ganforge on Fashion-MNIST (train split)")
def build_fashion_lenet(weights: str | None = None, random_init: bool = False) -> LeNetExtractor:
    return build_lenet("fashion-lenet", weights, random_init)
