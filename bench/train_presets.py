"""Before and after the speed switches for every family: each preset's training step with
train.precision=fp32 and train.memory_format=contiguous, then with the defaults ("auto").

Each preset trains on its own offline data (at most --limit images), as `ganforge train` would;
the two trainers are timed in interleaved trials and the medians printed. The trainer's other
speed-ups (one G forward per step, backward into the phase's own parameters) are in both columns;
bench/train_throughput.py compares against a plain PyTorch loop.

    python bench/train_presets.py [--presets dcgan-mnist,cyclegan-digits] [--threads 2]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
from pathlib import Path

import torch
from train_throughput import timed

from ganforge.config import apply_overrides
from ganforge.presets import get_preset
from ganforge.registry import RECIPES, load_all
from ganforge.training.trainer import Trainer

PRESETS = (
    "gan-mnist,dcgan-mnist,dcgan-emoji64,progan,stylegan-emoji64,pix2pix-colorize,cyclegan-digits,"
    "dtn-digits,srgan-x4,sgan-mnist"
)
# progan: one-step stages, timed from step 16 on (its last stage, 64 px);
# dtn: an encoder that needs no pretraining
EXTRA = {
    "progan": ["data.size=64", "model.stable_steps=1", "model.fade_steps=1"],
    "dtn-digits": ["model.encoder=digits-lenet"],
}
START = {"progan": 16}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default=PRESETS)
    parser.add_argument("--steps", type=int, default=5, help="steps per timed trial")
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--limit", type=int, default=512, help="images per dataset")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    load_all()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, cpu")
    print(f"{'preset':18} {'batch':>5} {'fp32 img/s':>11} {'default img/s':>14} {'speed-up':>9}  default")
    for name in args.presets.split(","):
        base = ["train.device=cpu", f"data.limit={args.limit}", "train.steps=1000000", *EXTRA.get(name, [])]
        cfg = apply_overrides(get_preset(name), base)
        data = RECIPES.get(cfg.recipe).load_data(cfg)
        with contextlib.ExitStack() as stack:
            trainers = []
            for sets in (["train.precision=fp32", "train.memory_format=contiguous"], []):
                run_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
                trainer = Trainer(
                    apply_overrides(get_preset(name), base + sets), run_dir, data=data, progress=False
                )
                trainer.step = START.get(name, 0)
                for _ in range(args.warmup):
                    trainer.train_step()
                trainers.append((trainer, []))
            for _ in range(args.trials):
                for trainer, rates in trainers:
                    rates.append(timed(trainer.train_step, args.steps))
            (_, slow), (fast_trainer, fast) = trainers
            batch = fast_trainer.global_batch
            before, after = statistics.median(slow) * batch, statistics.median(fast) * batch
            s = fast_trainer.speed_settings()
            print(
                f"{name:18} {batch:5d} {before:11.1f} {after:14.1f} {after / before:8.2f}x  "
                f"{s['precision']}, {s['memory_format']}"
            )


if __name__ == "__main__":
    main()
