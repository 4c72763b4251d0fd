"""Training throughput: ganforge's trainer against a plain eager PyTorch loop, per family.

For each family the same networks (DCGAN: the same architecture, written independently in
bench/plain_loops.py) train on the same in-memory uint8 images at the same batch size, in one
process, timed in interleaved trials (the median is reported):

- plain eager: the textbook loop, float32, contiguous memory;
- plain eager + bf16 autocast: the same loop with its step wrapped in `torch.autocast("cpu",
  torch.bfloat16)`, what a user who knows autocast writes (a separate copy of the networks);
- ganforge float32: the trainer with every speed switch off (train.precision=fp32,
  train.memory_format=contiguous, train.fused_optim=false), which shows what the trainer itself
  costs or saves;
- ganforge default: the trainer with its defaults (precision and memory format "auto");
- ganforge default with the fused Adam step (train.fused_optim=true, opt-in): what that lever gives.

It prints images/s, the ratio to plain eager, the model FLOPs of one step (counted with
torch.utils.flop_counter on the first step) and the model FLOPs utilization (MFU) against this
machine's peak, taken as the best large-matrix-multiply rate measured here in the precision used.

    python bench/train_throughput.py --family dcgan,pix2pix,stylegan --steps 8 --trials 3 --threads 2

`--profile 4` also prints torch.profiler's top 10 ops (self CPU time) over 4 steps of the default.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from feature_throughput import cpu_features
from plain_loops import dcgan_plain, pix2pix_plain, stylegan_plain, with_bf16_autocast
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from ganforge.config import DataConfig, RunConfig, TrainConfig, apply_overrides
from ganforge.data.dataset import ImageData
from ganforge.errors import ConfigError
from ganforge.presets import get_preset
from ganforge.recipes.gan import DCGANConfig
from ganforge.training.trainer import Trainer


def dcgan_config(batch: int) -> RunConfig:
    return RunConfig(
        name="bench",
        recipe="dcgan",
        data=DataConfig(source="bench", size=64, channels=3),
        train=TrainConfig(steps=10**6, batch_size=batch),
        model=DCGANConfig(z_dim=100, g_channels=64, d_channels=64, loss="ns"),
    )


def pix2pix_config(batch: int) -> RunConfig:
    cfg = apply_overrides(get_preset("pix2pix-colorize"), ["model.g_channels=64", "model.d_channels=64"])
    cfg.data.size, cfg.train.batch_size, cfg.train.steps = 128, batch, 10**6
    cfg.model.lr_g = cfg.model.lr_d = 2e-4
    cfg.model.holdout = 0
    return cfg


def stylegan_config(batch: int) -> RunConfig:
    cfg = get_preset("stylegan-emoji64")
    cfg.train.batch_size, cfg.train.steps = batch, 10**6
    return cfg


# family -> (ganforge config, plain loop, image size, default batch)
FAMILIES: dict[str, tuple[Callable[[int], RunConfig], Callable[..., Callable[[], None]], int, int]] = {
    "dcgan": (dcgan_config, lambda images, batch, cfg: dcgan_plain(images, batch), 64, 64),
    "pix2pix": (
        pix2pix_config,
        lambda images, batch, cfg: pix2pix_plain(images, batch, 64, 64, depth=7),
        128,
        8,
    ),
    "stylegan": (
        stylegan_config,
        lambda images, batch, cfg: stylegan_plain(images, batch, cfg.model, cfg.model.r1_interval),
        64,
        16,
    ),
}


class FlopCount(TorchDispatchMode):
    """Model FLOPs of the aten ops run inside it (convolutions, matmuls and their backward), by
    torch.utils.flop_counter's formulas; unlike FlopCounterMode it keeps no module hierarchy, whose
    hooks fail on double backward (R1)."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.total += formula(*args, **kwargs, out_val=out)
        return out


def first_step(step: Callable[[], None], warmup: int, count: bool = True) -> float:
    """Run `warmup` steps; return the model FLOPs of the first (0 unless `count`)."""
    with FlopCount() if count else contextlib.nullcontext() as counter:
        step()
    for _ in range(max(warmup - 1, 0)):
        step()
    return float(counter.total) if count else 0.0


def timed(step: Callable[[], None], steps: int) -> float:
    """Steps per second over `steps` steps."""
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps / (time.perf_counter() - start)


def gemm_peak(dtype: torch.dtype, sizes: tuple[int, ...] = (1024, 2048, 3072), repeats: int = 10) -> float:
    """FLOP/s of the fastest square matrix product in `dtype` over `sizes` and `repeats` tries:
    this machine's practical peak (a shared or throttled CPU makes single tries noisy)."""
    best = 0.0
    for n in sizes:
        a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
        a @ b
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            best = max(best, 2 * n**3 / (time.perf_counter() - start))
    return best


def ganforge_step(
    cfg: RunConfig, images: torch.Tensor, stack: contextlib.ExitStack
) -> tuple[Callable, Trainer]:
    data = ImageData(images=images, labels=None, class_names=None, source="bench")
    run_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
    trainer = Trainer(cfg, run_dir, data=data, progress=False, tensorboard=False)
    return trainer.train_step, trainer


def profile_table(label: str, step: Callable[[], None], steps: int) -> str:
    """torch.profiler's top 10 ops by their own CPU time over `steps` steps: where a step's time goes."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=10, max_name_column_width=40)
    return f"\nprofile of {label}, {steps} steps, top 10 by self CPU time:\n{table}"


def bench_family(name: str, args: argparse.Namespace, peaks: dict[str, float]) -> None:
    """Build every variant, then time them in turn `--trials` times (interleaved, so that a noisy
    or throttled machine slows each alike) and report each one's median."""
    make_config, make_plain, size, default_batch = FAMILIES[name]
    batch = args.batch or default_batch
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (512, 3, size, size), dtype=torch.uint8, generator=gen)
    off = ["train.precision=fp32", "train.memory_format=contiguous", "train.fused_optim=false"]
    variants = [
        ("ganforge, switches off", off),
        ("ganforge default", []),
        ("ganforge default + fused Adam", ["train.fused_optim=true"]),
    ]
    if args.compile:
        variants.append(("ganforge default + compile", ["train.compile=true"]))
    with contextlib.ExitStack() as stack:
        plain = make_plain(images, batch, make_config(batch))
        rows = [["plain eager (fp32)", plain, first_step(plain, args.warmup), "fp32", []]]
        autocast = with_bf16_autocast(make_plain(images, batch, make_config(batch)))
        rows.append(["plain eager + bf16 autocast", autocast, first_step(autocast, args.warmup), "bf16", []])
        for label, sets in variants:
            cfg = apply_overrides(make_config(batch), [f"train.device={args.device}", *sets])
            try:
                step, trainer = ganforge_step(cfg, images, stack)
            except ConfigError as err:  # e.g. compile with R1: say so, time the others
                print(f"{name}: no row for {label}: {err}")
                continue
            compiled = "train.compile=true" in sets  # compiled kernels bypass the FLOP counter
            flops = rows[-1][2] if compiled else first_step(step, args.warmup)
            if compiled:
                first_step(step, args.warmup, count=False)
            s = trainer.speed_settings()
            rows.append(
                [f"{label} ({s['precision']}, {s['memory_format']})", step, flops, s["precision"], []]
            )
        for _ in range(args.trials):
            for row in rows:
                row[4].append(timed(row[1], args.steps))
        profiled = ""
        if args.profile:  # while the run folders still exist
            default = next(row for row in rows if row[0].startswith("ganforge default ("))
            profiled = profile_table(f"{name}, {default[0]}", default[1], args.profile)
    base = statistics.median(rows[0][4])
    print(
        f"\n{name}: {size}x{size}, batch {batch}, median of {args.trials} interleaved trials of "
        f"{args.steps} steps after {args.warmup} warmup"
    )
    print(f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min)")
    print(f"{'':50} {'images/s':>9} {'ratio':>6} {'GFLOP/step':>11} {'GFLOP/s':>8} {'MFU':>6}")
    for label, _, flops, precision, rates in rows:
        per_second = statistics.median(rates)
        achieved = flops * per_second
        print(
            f"{label:50} {per_second * batch:9.1f} {per_second / base:6.2f} {flops / 1e9:11.2f} "
            f"{achieved / 1e9:8.1f} {achieved / peaks[precision]:6.1%}"
        )
    print(profiled)


def chosen_families(spec: str) -> list[str]:
    """The comma-separated family names of `--family`, checked against FAMILIES."""
    names = spec.split(",")
    unknown = [name for name in names if name not in FAMILIES]
    if unknown:
        raise SystemExit(f"unknown family {unknown[0]!r}; choose from {', '.join(FAMILIES)}")
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--family", default="dcgan,pix2pix,stylegan", help="comma-separated: " + ", ".join(FAMILIES)
    )
    parser.add_argument("--steps", type=int, default=8, help="steps per timed trial")
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch", type=int, default=None, help="default: 64 dcgan, 8 pix2pix, 16 stylegan")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--compile", action="store_true", help="add a row with train.compile=true")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="STEPS", help="print torch.profiler's top 10 of the default"
    )
    args = parser.parse_args()
    families = chosen_families(args.family)
    if args.device != "cpu":
        raise SystemExit("this benchmark's plain loops run on the CPU; use --device cpu")
    if args.threads:
        torch.set_num_threads(args.threads)
    peaks = {"fp32": gemm_peak(torch.float32), "bf16": gemm_peak(torch.bfloat16)}
    cpu = torch.backends.cpu.get_cpu_capability()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, cpu {cpu}, {cpu_features()}")
    print(
        f"peak (fastest square matmul here): fp32 {peaks['fp32'] / 1e9:.1f} GFLOP/s, "
        f"bf16 {peaks['bf16'] / 1e9:.1f} GFLOP/s; MFU is against the peak of the precision used"
    )
    for name in families:
        bench_family(name, args, peaks)


if __name__ == "__main__":
    main()
