"""Reference images and their cached features: computed once per dataset, split, size and extractor.

Splits are fixed: `mnist` and `fashion-mnist` use their official train (first 60,000) and test
(last 10,000) parts; `mnist-5k` has no official split, so a fixed permutation (seed 0) gives 4,000
`train` and 1,000 `test` digits. Every dataset and folder also has `all`.

The cache file name is a hash of everything that changes the features (source, split, image size,
channels, sample count and seed, extractor and its weights' sha256, resize method), so a cached
entry is reused only when it is exactly what would be computed again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from ganforge.data.dataset import ImageData
from ganforge.data.download import cache_dir
from ganforge.data.splits import MNIST5K_TEST, split_index  # noqa: F401  (re-exported)
from ganforge.fileio import save_safetensors
from ganforge.metrics.features.base import FeatureExtractor, batched
from ganforge.metrics.frechet import FeatureStats

CACHE_VERSION = 1


def load_reference_images(
    source: str, split: str = "all", size: int | None = None, channels: int | None = None
) -> ImageData:
    """The images (and labels) of one split of a built-in dataset or folder."""
    from ganforge.data import load_source

    data = load_source(source, size=size, channels=channels, labels=True)
    index = split_index(source, split, len(data))
    return data if index is None else data.subset(index)


def choose(total: int, n: int | None, seed: int) -> torch.Tensor | None:
    """A fixed random choice of n of `total` items (sorted), or None for all."""
    if n is None or n >= total:
        return None
    return torch.randperm(total, generator=torch.Generator().manual_seed(seed))[:n].sort().values


@dataclass
class Reference:
    """Features of a reference set plus how they were made (for metrics.json)."""

    features: torch.Tensor  # (N, D) float32
    stats: FeatureStats
    info: dict[str, Any]
    cache_file: Path | None


def _folder_fingerprint(source: str) -> str:
    """Changes when files in a folder are added, removed, renamed or rewritten."""
    from ganforge.data.folder import find_images

    digest = hashlib.sha256()
    for path in find_images(source):
        stat = path.stat()
        digest.update(f"{path}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def reference_features(
    extractor: FeatureExtractor,
    source: str,
    split: str = "all",
    size: int | None = None,
    channels: int | None = None,
    n: int | None = None,
    seed: int = 0,
    batch_size: int = 64,
    progress: bool | None = None,
    use_cache: bool = True,
) -> Reference:
    """Features of (a fixed random `n` of) a split of `source` at `size`, cached on disk.

    Random-weight extractors are never cached (they have no sha256 to key on).
    """
    from ganforge.registry import DATASETS

    is_folder = source not in DATASETS
    key = {
        "version": CACHE_VERSION,
        "source": str(Path(source).expanduser().resolve()) if is_folder else source,
        "folder_fingerprint": _folder_fingerprint(source) if is_folder else None,
        "split": split,
        "size": size,
        "channels": channels,
        "n": n,
        "seed": seed,
        "extractor": extractor.name,
        "weights_sha256": extractor.weights_sha256,
        "resize": extractor.resize_method,
        **_numerics_key(extractor),
    }
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
    label = Path(source).name if is_folder else source
    path = cache_dir() / "reference" / f"{label}-{split}-{extractor.name}-{digest}.safetensors"
    cacheable = use_cache and extractor.weights_sha256 is not None
    if cacheable and path.is_file():
        try:
            tensors = load_file(str(path))
            info = json.loads(_metadata(path)["info"])
            stats = FeatureStats(tensors["mu"], tensors["sigma"], int(tensors["features"].shape[0]))
            return Reference(tensors["features"], stats, info, path)
        except Exception:  # a damaged cache entry is recomputed, not trusted
            path.unlink(missing_ok=True)
    data = load_reference_images(source, split, size, channels)
    index = choose(len(data), n, seed)
    images = data.images if index is None else data.images[index]
    features, _ = extractor.extract(
        batched(images, batch_size), len(images), progress, description=f"reference {label}:{split}"
    )
    stats = FeatureStats.of(features)
    info = {
        "dataset": source,
        "split": split,
        "images": len(images),
        "of": len(data),
        "size": int(images.shape[-1]),
        "channels": int(images.shape[1]),
        "seed": seed,
        "folder_fingerprint": key["folder_fingerprint"],
    }
    if cacheable:
        save_safetensors(
            path, {"features": features, "mu": stats.mu, "sigma": stats.sigma}, {"info": json.dumps(info)}
        )
    return Reference(features, stats, info, path if cacheable else None)


def _numerics_key(extractor: FeatureExtractor) -> dict[str, str]:
    """Features computed in bf16 differ a little from float32 ones, so they are cached apart;
    float32 keys stay as they were (caches written before the bf16 path remain valid)."""
    return {} if extractor.numerics == "fp32" else {"numerics": extractor.numerics}


def _metadata(path: Path) -> dict[str, str]:
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        return dict(f.metadata() or {})


def reference_from_images(
    extractor: FeatureExtractor,
    images: torch.Tensor,
    label: str,
    n: int | None = None,
    seed: int = 0,
    batch_size: int = 64,
    progress: bool | None = None,
) -> Reference:
    """Features of a fixed random `n` of in-memory uint8 images (N, C, H, W), cached by their content."""
    index = choose(len(images), n, seed)
    chosen = images if index is None else images[index]
    content = hashlib.sha256(chosen.contiguous().numpy().tobytes()).hexdigest()
    key = {
        "version": CACHE_VERSION,
        "content": content,
        "extractor": extractor.name,
        "weights_sha256": extractor.weights_sha256,
        "resize": extractor.resize_method,
        **_numerics_key(extractor),
    }
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in Path(label).name)[:40] or "data"
    path = cache_dir() / "reference" / f"{safe}-{extractor.name}-{digest}.safetensors"
    info = {"dataset": label, "split": "all", "images": len(chosen), "of": len(images), "seed": seed}
    info |= {"size": int(images.shape[-1]), "channels": int(images.shape[1]), "content_sha256": content}
    cacheable = extractor.weights_sha256 is not None
    if cacheable and path.is_file():
        try:
            tensors = load_file(str(path))
            stats = FeatureStats(tensors["mu"], tensors["sigma"], int(tensors["features"].shape[0]))
            return Reference(tensors["features"], stats, info, path)
        except Exception:
            path.unlink(missing_ok=True)
    features, _ = extractor.extract(
        batched(chosen, batch_size), len(chosen), progress, description=f"reference {label}"
    )
    stats = FeatureStats.of(features)
    if cacheable:
        save_safetensors(
            path, {"features": features, "mu": stats.mu, "sigma": stats.sigma}, {"info": json.dumps(info)}
        )
    return Reference(features, stats, info, path if cacheable else None)
