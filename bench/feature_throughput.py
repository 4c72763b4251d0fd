"""Feature-extraction throughput of the metrics' extractors: images per second, resize included.

Each extractor embeds `--n` random 32x32 uint8 images (gray, as MNIST-size GAN output) in batches
of `--batch-size`, after `--warmup` batches; building the network is not timed. Throughput does
not depend on the weights' values, so extractors whose weights are not on this machine (the FID
Inception offline, an untrained LeNet) run with random weights and say so.

    python bench/feature_throughput.py --n 256 [--extractors effnet-lite0,digits-lenet] [--threads 2]

`--effnet-levers` instead times EfficientNet-Lite0's levers on the same images, interleaved
(A B C D A B C D ..., median): the eager contiguous float32 network (before), channels_last,
channels_last + torch.compile (what extractions of 2,000+ images use), and opt-in bf16. It prints
wall images/s, images per process-CPU second, the projected time of a 10,000-sample FD (20,000
images: both sides, reference not cached) and the load average, since wall figures on a shared
machine are inflated by the others.

    python bench/feature_throughput.py --effnet-levers --n 64 --trials 3 --threads 2
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import time

import torch

from ganforge.errors import DataError
from ganforge.metrics.features import FeatureExtractor, get_extractor


def cpu_features() -> str:
    """The CPU's matrix features as this torch build sees them (AVX2, AVX-512, AVX512-BF16, AMX)."""
    cpu = getattr(torch, "cpu", None)
    probes = {
        "AVX2": "_is_avx2_supported",
        "AVX-512": "_is_avx512_supported",
        "AVX512-BF16": "_is_avx512_bf16_supported",
        "AMX": "_is_amx_tile_supported",
    }
    found = []
    for label, name in probes.items():
        try:
            found.append(f"{label} {'yes' if getattr(cpu, name)() else 'no'}")
        except Exception:
            found.append(f"{label} ?")
    return ", ".join(found)


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


def effnet_levers(n: int, batch_size: int, trials: int, size: int) -> None:
    """Interleaved trials of EfficientNet-Lite0's speed levers (see the module docstring)."""
    from ganforge.metrics.features import effnet

    fp32, weights = build("effnet-lite0", "cpu")
    bf16 = get_extractor("effnet-lite0", random_init=weights != "real weights", precision="bf16")
    before = copy.deepcopy(fp32)
    before.net.to(memory_format=torch.contiguous_format)
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 1, size, size), generator=g, dtype=torch.uint8)

    def eager_contiguous() -> None:
        with torch.no_grad():
            for batch in images.split(batch_size):
                before.net.pooled(before.normalize(before.prepare(batch)).contiguous())

    effnet.COMPILE_MIN_IMAGES = 0  # compile for this run's batch shape
    start = time.perf_counter()
    fp32.extract(images[:batch_size].split(batch_size), total=batch_size)  # compiles
    compile_s = time.perf_counter() - start
    effnet.COMPILE_MIN_IMAGES = 10**9
    variants = {
        "fp32 eager, contiguous (before)": eager_contiguous,
        "fp32 eager, channels_last": lambda: fp32.extract(images.split(batch_size), total=n),
        "fp32 channels_last + compile (default)": lambda: fp32.extract(images.split(batch_size), total=n),
        "bf16 autocast, channels_last (opt-in)": lambda: bf16.extract(images.split(batch_size), total=n),
    }
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in variants}
    for _ in range(trials):
        for label, run in variants.items():
            effnet.COMPILE_MIN_IMAGES = 0 if "compile" in label else 10**9
            run() if not times[label] else None  # untimed warm-up in the first trial
            cpu, wall = time.process_time(), time.perf_counter()
            run()
            times[label].append((time.process_time() - cpu, time.perf_counter() - wall))
    print(
        f"effnet-lite0 ({weights}), {n} images {size}x{size} gray -> 224, batch {batch_size}, "
        f"median of {trials} interleaved trials; compiling took {compile_s:.1f} s wall"
    )
    print(f"{'':42} {'wall img/s':>10} {'img/CPU-s':>10} {'10k FD, wall':>13} {'10k FD, CPU':>12}")
    for label, rows in times.items():
        cpu = statistics.median(r[0] for r in rows)
        wall = statistics.median(r[1] for r in rows)
        print(
            f"{label:42} {n / wall:10.1f} {n / cpu:10.1f} {20000 * wall / n / 60:10.1f} min "
            f"{20000 * cpu / n / 60:8.1f} min"
        )
    print(f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extractors", default="digits-lenet,effnet-lite0,inception")
    parser.add_argument("--n", type=int, default=256, help="images timed per extractor")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=1, help="untimed batches first")
    parser.add_argument("--size", type=int, default=32, help="side of the input images")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--effnet-levers", action="store_true", help="time EfficientNet-Lite0's levers")
    parser.add_argument("--trials", type=int, default=3, help="interleaved trials (--effnet-levers)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}")
    print(f"cpu {torch.backends.cpu.get_cpu_capability()}, {cpu_features()}")
    if args.effnet_levers:
        effnet_levers(args.n, args.batch_size, args.trials, args.size)
        return
    print(f"{'extractor':<14} {'input':>7} {'images/s':>10}  weights")
    for name in args.extractors.split(","):
        extractor, weights = build(name.strip(), args.device)
        rate = throughput(extractor, args.n, args.batch_size, args.warmup, args.size)
        side = extractor.input_size
        print(f"{extractor.name:<14} {side:>3}x{side:<3} {rate:>10.1f}  {weights}")


if __name__ == "__main__":
    main()
