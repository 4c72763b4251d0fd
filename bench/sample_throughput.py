"""Sampling throughput of every family's generator: batch 1 latency and batch 64 images/s.

Each preset's generator is built untrained (speed does not depend on the weights) and run in
inference mode on its own kind of input (noise, or an image for the translators), first as the
pipelines run it (float32, contiguous), then with bf16 autocast and channels_last memory.

    python bench/sample_throughput.py [--presets dcgan-mnist,stylegan-emoji64] [--threads 2]
"""

from __future__ import annotations

import argparse
import contextlib
import time

import torch

from ganforge.config import apply_overrides
from ganforge.presets import get_preset
from ganforge.recipes.base import DataInfo
from ganforge.registry import RECIPES, load_all

PRESETS = (
    "gan-mnist,dcgan-mnist,dcgan-emoji64,progan,stylegan-emoji64,pix2pix-colorize,cyclegan-digits,"
    "dtn-digits,srgan-x4"
)
OVERRIDES = {"dtn-digits": ["model.encoder=digits-lenet"], "progan": ["data.size=64"]}


def generator_and_input(preset: str) -> tuple[torch.nn.Module, callable]:
    """The preset's generator (untrained) and a function n -> a batch of its input."""
    load_all()
    cfg = apply_overrides(get_preset(preset), OVERRIDES.get(preset, []))
    recipe_class = RECIPES.get(cfg.recipe)
    info = DataInfo(channels=cfg.data.channels or 1, size=cfg.data.size, num_classes=0)
    recipe = recipe_class(cfg.model, info, torch.device("cpu"), torch.Generator().manual_seed(0))
    recipe.begin_step(cfg.train.steps, cfg.train.steps)  # the final stage (ProGAN: full resolution)
    name = "G_AB" if "G_AB" in recipe.models else recipe.generator_name
    G = recipe.models[name].eval()
    z_dim = getattr(cfg.model, "z_dim", None)
    if z_dim is not None and cfg.recipe not in ("pix2pix", "cyclegan", "dtn", "srgan"):
        return G, lambda n: torch.randn(n, z_dim)
    channels = getattr(G, "in_channels", None) or info.channels
    size = cfg.data.size // getattr(cfg.model, "scale", 1)
    return G, lambda n: torch.rand(n, channels, size, size) * 2 - 1


def timed(G: torch.nn.Module, inputs: torch.Tensor, fast: bool, repeats: int) -> float:
    """Seconds per call, best of `repeats` after one warm-up call."""
    ctx = torch.autocast("cpu", dtype=torch.bfloat16) if fast else contextlib.nullcontext()
    if fast:
        inputs = inputs.contiguous(memory_format=torch.channels_last) if inputs.dim() == 4 else inputs
    best = float("inf")
    with torch.inference_mode(), ctx:
        G(inputs)
        for _ in range(repeats):
            start = time.perf_counter()
            G(inputs)
            best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default=PRESETS)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; best of {args.repeats}")
    columns = ("b1 fp32 ms", "b64 fp32 img/s", "b1 fast ms", "b64 fast img/s")
    print(f"{'preset':18} {'output':>10} " + " ".join(f"{c:>{len(c)}}" for c in columns))
    for preset in args.presets.split(","):
        G, make = generator_and_input(preset)
        with torch.inference_mode():
            shape = tuple(G(make(1)).shape[1:])
        row = []
        for fast in (False, True):
            if fast:
                G = G.to(memory_format=torch.channels_last)
            one = timed(G, make(1), fast, args.repeats)
            many = timed(G, make(64), fast, args.repeats)
            row += [one * 1e3, 64 / many]
        size = "x".join(str(s) for s in shape)
        print(f"{preset:18} {size:>10} {row[0]:10.2f} {row[1]:14.1f} {row[2]:10.2f} {row[3]:14.1f}")
    print("fast: bf16 autocast + channels_last (what train.precision/memory_format=auto use in training)")


if __name__ == "__main__":
    main()
