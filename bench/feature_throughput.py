"""Feature-extraction throughput of the metrics' extractors: images per second, resize included.

Each extractor embeds `--n` random 32x32 uint8 images (gray, as MNIST-size GAN output) in batches
of `--batch-size`, after `--warmup` batches; building the network is not timed. Throughput does
not depend on the weights' values, so extractors whose weights are not on this machine (the FID
Inception offline, an untrained LeNet) run with random weights and say so.

    python bench/feature_throughput.py --n 256 [--extractors effnet-lite0,digits-lenet] [--threads 2]
"""

from __future__ import annotations

import argparse
import time

import torch

from ganforge.errors import DataError
from ganforge.metrics.features import FeatureExtractor, get_extractor


def build(name: str, device: str) -> tuple[FeatureExtractor, str]:
    """The extractor with its real weights when they are here (never downloading or training)."""
    from ganforge.metrics.features import inception, lenet

    offline = {
        "inception": lambda: inception.cached_weights().is_file(),
        "digits-lenet": lambda: lenet.RECIPES["digits-lenet"].cache_path.is_file(),
        "fashion-lenet": lambda: lenet.RECIPES["fashion-lenet"].cache_path.is_file(),
    }
    if name in offline and not offline[name]():
        return get_extractor(name, device=device, random_init=True), "random weights"
    try:
        return get_extractor(name, device=device), "real weights"
    except DataError:
        return get_extractor(name, device=device, random_init=True), "random weights"


def throughput(extractor: FeatureExtractor, n: int, batch_size: int, warmup: int, size: int) -> float:
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 1, size, size), generator=g, dtype=torch.uint8)
    warm = images[: batch_size * warmup]
    extractor.extract(warm.split(batch_size), progress=False)
    start = time.perf_counter()
    extractor.extract(images.split(batch_size), progress=False)
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extractors", default="digits-lenet,effnet-lite0,inception")
    parser.add_argument("--n", type=int, default=256, help="images timed per extractor")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=1, help="untimed batches first")
    parser.add_argument("--size", type=int, default=32, help="side of the input images")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}")
    print(f"{'extractor':<14} {'input':>7} {'images/s':>10}  weights")
    for name in args.extractors.split(","):
        extractor, weights = build(name.strip(), args.device)
        rate = throughput(extractor, args.n, args.batch_size, args.warmup, args.size)
        side = extractor.input_size
        print(f"{extractor.name:<14} {side:>3}x{side:<3} {rate:>10.1f}  {weights}")


if __name__ == "__main__":
    main()
