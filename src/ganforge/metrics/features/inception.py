"""The standard FID network: Inception-v3 as in TensorFlow's 2015-12-05 graph (Szegedy et al. 2016),
used by Heusel et al. 2017 for FID and by Salimans et al. 2016 for the Inception Score.

It differs from torchvision's Inception-v3 in three details that move FID: average pools that do
not count padding (Mixed_5*, Mixed_6*, Mixed_7b), a max pool in the last block's pool branch
(Mixed_7c), and 1008 output classes. Parameter names follow the widely mirrored PyTorch port of
the TF weights, so that file loads with strict=True. Only figures from those weights (checked by
sha256) are called FID; random or other weights are reported as "FD-InceptionV3*".
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from ganforge.data.download import cache_dir, download, sha256_of
from ganforge.errors import DataError
from ganforge.metrics.features.base import FeatureExtractor, register_extractor

WEIGHTS_FILE = "pt_inception-2015-12-05-6726825d.pth"
WEIGHTS_URLS = (
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/" + WEIGHTS_FILE,
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth",
)
WEIGHTS_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"


class BasicConv2d(nn.Module):
    def __init__(self, cin: int, cout: int, kernel: int | tuple[int, int], stride: int = 1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def _avg_pool(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)  # TF's pooling at borders


class InceptionA(nn.Module):
    def __init__(self, cin: int, pool_features: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 64, 1)
        self.branch5x5_1 = BasicConv2d(cin, 48, 1)
        self.branch5x5_2 = BasicConv2d(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, padding=1)
        self.branch_pool = BasicConv2d(cin, pool_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch1x1(x), b5, b3, self.branch_pool(_avg_pool(x))], 1)


class InceptionB(nn.Module):
    def __init__(self, cin: int):
        super().__init__()
        self.branch3x3 = BasicConv2d(cin, 384, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), b3, F.max_pool2d(x, 3, stride=2)], 1)


class InceptionC(nn.Module):
    def __init__(self, cin: int, c7: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 192, 1)
        self.branch7x7_1 = BasicConv2d(cin, c7, 1)
        self.branch7x7_2 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, 1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(cin, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d = x
        for layer in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3):
            d = layer(d)
        d = self.branch7x7dbl_5(self.branch7x7dbl_4(d))
        return torch.cat([self.branch1x1(x), b7, d, self.branch_pool(_avg_pool(x))], 1)


class InceptionD(nn.Module):
    def __init__(self, cin: int):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(cin, 192, 1)
        self.branch3x3_2 = BasicConv2d(192, 320, 3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(cin, 192, 1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = x
        for layer in (self.branch7x7x3_1, self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4):
            b7 = layer(b7)
        return torch.cat([b3, b7, F.max_pool2d(x, 3, stride=2)], 1)


class InceptionE(nn.Module):
    def __init__(self, cin: int, max_pool: bool):
        super().__init__()
        self.max_pool = max_pool  # the TF graph's last block pools with max, the one before with average
        self.branch1x1 = BasicConv2d(cin, 320, 1)
        self.branch3x3_1 = BasicConv2d(cin, 384, 1)
        self.branch3x3_2a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(cin, 448, 1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(cin, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        d = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
        pool = F.max_pool2d(x, 3, stride=1, padding=1) if self.max_pool else _avg_pool(x)
        return torch.cat([self.branch1x1(x), b3, d, self.branch_pool(pool)], 1)


class FIDInceptionV3(nn.Module):
    """Inception-v3 up to the 2048-d pool3 features, plus the 1008-way classifier `fc`."""

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3)
        self.Mixed_5b = InceptionA(192, 32)
        self.Mixed_5c = InceptionA(256, 64)
        self.Mixed_5d = InceptionA(288, 64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, 128)
        self.Mixed_6c = InceptionC(768, 160)
        self.Mixed_6d = InceptionC(768, 160)
        self.Mixed_6e = InceptionC(768, 192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, max_pool=False)
        self.Mixed_7c = InceptionE(2048, max_pool=True)
        self.fc = nn.Linear(2048, 1008)

    def pool3(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, 299, 299) in [-1, 1] -> (B, 2048)."""
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, 3, stride=2)
        x = F.max_pool2d(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x)), 3, stride=2)
        for name in ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"):
            x = getattr(self, f"Mixed_{name}")(x)
        return x.mean(dim=(2, 3))  # (B, 2048, 8, 8) -> (B, 2048)


class InceptionExtractor(FeatureExtractor):
    """pool3 features (2048-d) and 1008 logits at 299x299.

    The logits omit the classifier's bias, as the reference Inception Score code does (it multiplies
    pool3 by the weight of `softmax/logits/MatMul` only).
    """

    name = "inception"
    input_size = 299
    channels = 3
    feature_dim = 2048
    num_classes = 1008

    def __init__(self, net: FIDInceptionV3, weights_sha256: str | None, weights_source: str):
        super().__init__(weights_sha256, weights_source)
        self.net = net.eval().requires_grad_(False)
        self.official = weights_sha256 == WEIGHTS_SHA256
        self.fd_name = "FID" if self.official else "FD-InceptionV3*"  # * : not the standard weights

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return x / 127.5 - 1.0

    def embed(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        pool = self.net.pool3(x)
        return pool, pool @ self.net.fc.weight.t()


def cached_weights() -> Path:
    return cache_dir() / "extractors" / WEIGHTS_FILE


@register_extractor("inception", description="the standard FID Inception-v3 (downloaded once, sha256-pinned)")
def build_inception(weights: str | None = None, random_init: bool = False) -> InceptionExtractor:
    """The FID network with the pinned weights: `weights` (a local file), else the cache, else a download."""
    net = FIDInceptionV3()
    if random_init:
        return InceptionExtractor(net, None, "random init (not the FID weights)")
    if weights:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise DataError(f"--weights {path} does not exist; give the path of {WEIGHTS_FILE}")
    else:
        path = cached_weights()
        if not path.is_file():
            try:
                download(list(WEIGHTS_URLS), path, WEIGHTS_SHA256)
            except DataError as err:
                raise DataError(
                    "the FID Inception weights are not cached and could not be downloaded "
                    f"({str(err)[:200]}); "
                    f"put {WEIGHTS_FILE} (sha256 {WEIGHTS_SHA256[:16]}...) at {path}, pass --weights PATH, "
                    "or use --features effnet-lite0 offline"
                ) from None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        net.load_state_dict(state, strict=True)
    except Exception as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise DataError(f"{path} is not the FID Inception state dict ({first[:160]})") from None
    return InceptionExtractor(net, sha256_of(path), str(path))
