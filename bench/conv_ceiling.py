"""The convolution ceiling of a training step: how fast this machine runs the step's own conv
kernels when nothing else runs, as a fraction of its matrix-multiply peak.

One step of ganforge's default trainer (train_throughput.py's configs: bf16 autocast and
channels_last where native) runs under a dispatch mode that records every convolution and
convolution backward call: shapes, strides, dtypes and arguments. Each recorded call is then run
again alone on fresh tensors of the same layout, `--repeats` times, and its best time kept. The
sum of those times is the least time the step can spend in its convolutions with these kernels;
their FLOPs over that time is the best MFU the step could reach even if everything else (norms,
activations, optimizer, casts) cost nothing. Convolutions carry almost all of these steps' FLOPs,
so the step's MFU cannot pass this figure without faster kernels.

    python bench/conv_ceiling.py --family dcgan,pix2pix,stylegan --threads 2

Per kind of pass (forward, gradient of the input, gradient of the weight) it prints the calls,
GFLOP, time and GFLOP/s; `--layers` also prints every recorded call.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections import defaultdict
from dataclasses import dataclass

import torch
from feature_throughput import cpu_features
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry
from train_throughput import FAMILIES, chosen_families, ganforge_step, gemm_peak

from ganforge.config import apply_overrides

CONVS = (torch.ops.aten.convolution.default, torch.ops.aten.convolution_backward.default)


@dataclass(frozen=True)
class Layout:
    """What a tensor argument looked like: enough to make a fresh one laid out the same way."""

    shape: tuple[int, ...]
    stride: tuple[int, ...]
    dtype: torch.dtype

    def make(self, gen: torch.Generator) -> torch.Tensor:
        t = torch.empty_strided(self.shape, self.stride, dtype=self.dtype)
        return t.copy_(torch.randn(self.shape, generator=gen))


class RecordConvs(TorchDispatchMode):
    """Records each convolution (and its backward) run inside it as (op, arguments with tensors
    replaced by their Layout)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        kwargs = kwargs or {}
        if func in CONVS and not kwargs:
            spec = tuple(
                Layout(tuple(a.shape), tuple(a.stride()), a.dtype) if isinstance(a, torch.Tensor) else a
                for a in args
            )
            self.calls.append((func, spec))
        return func(*args, **kwargs)


def kind(func, spec: tuple) -> str:  # noqa: ANN001
    """forward, grad input, grad weight, or grad input+weight (what the backward call computes)."""
    if func is CONVS[0]:
        return "forward"
    mask = spec[-1]  # output_mask: (input, weight, bias)
    parts = [name for name, wanted in zip(("input", "weight"), mask[:2], strict=True) if wanted]
    return "grad " + "+".join(parts)


def replay(func, spec: tuple, repeats: int, gen: torch.Generator) -> tuple[float, float]:  # noqa: ANN001
    """(FLOPs, best seconds) of one recorded call run alone on fresh tensors."""
    args = [a.make(gen) if isinstance(a, Layout) else a for a in spec]
    out = func(*args)
    flops = flop_registry[func._overloadpacket](*args, out_val=out)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        func(*args)
        best = min(best, time.perf_counter() - start)
    return float(flops), best


def ceiling(name: str, args: argparse.Namespace, peak: float) -> None:
    make_config, _, size, default_batch = FAMILIES[name]
    batch = args.batch or default_batch
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (max(4 * batch, 64), 3, size, size), dtype=torch.uint8, generator=gen)
    cfg = apply_overrides(make_config(batch), ["train.device=cpu"])
    with contextlib.ExitStack() as stack:
        step, trainer = ganforge_step(cfg, images, stack)
        for _ in range(args.warmup):
            step()
        recorder = RecordConvs()
        with recorder:
            step()
        start = time.perf_counter()
        for _ in range(args.steps):
            step()
        step_time = (time.perf_counter() - start) / args.steps
        settings = trainer.speed_settings()
    totals: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    lines = []
    for func, spec in recorder.calls:
        flops, seconds = replay(func, spec, args.repeats, gen)
        label = kind(func, spec)
        row = totals[label]
        row[0] += 1
        row[1] += flops
        row[2] += seconds
        if args.layers:
            shapes = " ".join("x".join(map(str, a.shape)) for a in spec if isinstance(a, Layout))
            lines.append(f"  {label:20} {shapes:60} {flops / seconds / 1e9:8.1f} GFLOP/s")
    print(
        f"\n{name}: {size}x{size}, batch {batch}, {settings['precision']}, {settings['memory_format']}; "
        f"the whole step: {step_time * 1e3:.1f} ms"
    )
    print(f"{'pass':22} {'calls':>5} {'GFLOP':>8} {'ms':>8} {'GFLOP/s':>8} {'of peak':>8}")
    all_flops = sum(r[1] for r in totals.values())
    all_time = sum(r[2] for r in totals.values())
    for label, (calls, flops, seconds) in sorted(totals.items()):
        rate = flops / seconds
        figures = f"{flops / 1e9:8.2f} {seconds * 1e3:8.1f} {rate / 1e9:8.1f} {rate / peak:8.1%}"
        print(f"{label:22} {calls:5d} {figures}")
    rate = all_flops / all_time
    print(
        f"{'all convolutions':22} {len(recorder.calls):5d} {all_flops / 1e9:8.2f} {all_time * 1e3:8.1f} "
        f"{rate / 1e9:8.1f} {rate / peak:8.1%}  <- the step's MFU ceiling with these kernels"
    )
    achieved = all_flops / step_time
    print(
        f"the step ran at {achieved / 1e9:.1f} GFLOP/s of convolution ({achieved / peak:.1%} of peak); "
        f"its convolutions alone take {all_time / step_time:.0%} of its time"
    )
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    families = ", ".join(FAMILIES)
    parser.add_argument("--family", default="dcgan,pix2pix,stylegan", help=f"comma-separated: {families}")
    parser.add_argument("--batch", type=int, default=None, help="default: 64 dcgan, 8 pix2pix, 16 stylegan")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=4, help="steps timed whole, for the comparison")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each recorded call; the best is kept")
    parser.add_argument("--layers", action="store_true", help="print every recorded call")
    args = parser.parse_args()
    families = chosen_families(args.family)
    if args.threads:
        torch.set_num_threads(args.threads)
    peak = gemm_peak(torch.bfloat16)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {cpu_features()}")
    print(f"bf16 peak (fastest square matmul here): {peak / 1e9:.1f} GFLOP/s")
    for name in families:
        ceiling(name, args, peak)


if __name__ == "__main__":
    main()
