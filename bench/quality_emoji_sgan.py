"""Quality rows for the emoji and semi-supervised presets, read by `bench/quality.py` (issue 16).

`ROWS` lists one dict per preset: its budget and target in words, and `score(threads, quick)`, which
trains the preset for its stated length (a few steps with `quick=True`), scores it on data it never
trained on, and returns the figures beside a floor, a ceiling and a baseline with a verdict.

- `fastgan-emoji64`: FD-EffNetLite0 and KID of 1,000 generated emoji against the 1,000 emoji that
  `ganforge eval RUN --n 1000 --seed 0` takes as reference, which the preset holds out of training
  (`model.holdout`). Floor: 1,000 of the training emoji against the same set; ceiling: uniform noise.
- `sgan-mnist` / `sgan-fashion` with 100 labels: test accuracy on the held-out test split (mnist-5k's
  1,000 test digits, Fashion-MNIST's 10,000), beside the supervised-only baseline (same network, same
  labeled batches, same steps, trained in the same command) and chance (the ceiling of "no skill").

CPU time is this process's (time.process_time) over training alone: data loading and scoring are
not counted. With `--baseline` the sgan rows also train the baseline in the same process, so their
CPU time covers both classifiers.

    python bench/quality_emoji_sgan.py --quick            # every row, a few steps each
    python bench/quality_emoji_sgan.py --preset sgan-mnist --threads 1
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ganforge.presets import get_preset
from ganforge.training.trainer import Trainer

EMOJI_HELD_OUT = 1000  # the README's protocol: 1,000 real emoji as reference
GRIDS = Path(tempfile.gettempdir()) / "ganforge-quality"  # as bench/quality.py keeps its grids


def train(
    preset: str, threads: int, root: Path, quick: bool, **overrides: Any
) -> tuple[Path, float, int, dict]:
    """Train `preset` under `root`; returns (run directory, CPU seconds of training, steps, metrics)."""
    cfg = get_preset(preset)
    cfg.train.threads = threads
    for key, value in overrides.items():
        section, name = key.split(".")
        setattr(getattr(cfg, section), name, value)
    if quick:
        cfg.train.steps, cfg.train.sample_every, cfg.train.checkpoint_every = 4, 4, 4
    torch.set_num_threads(threads)
    trainer = Trainer.new_run(cfg.validate(), root, progress=False, tensorboard=False)
    start = time.process_time()
    result = trainer.fit()
    return result.run_dir, time.process_time() - start, result.step, result.metrics or {}


def keep_grid(run: Path, preset: str, seed: int) -> Path:
    """Copy the run's last sample grid out of its folder (which goes away) to look at; its path."""
    kept = GRIDS / (f"{preset}.png" if seed == 0 else f"{preset}-seed{seed}.png")
    grids = sorted((run / "samples").glob("step-*.png"))
    if grids:
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(grids[-1], kept)
    return kept


def score_emoji(threads: int, quick: bool, preset: str = "fastgan-emoji64", seed: int = 0) -> dict[str, Any]:
    from ganforge.data import load_source
    from ganforge.metrics.features import get_extractor
    from ganforge.metrics.frechet import FeatureStats, frechet_distance
    from ganforge.metrics.reference import choose, reference_features
    from ganforge.pipelines.evaluate import evaluate_generator
    from ganforge.recipes.fastgan import training_index

    n = 64 if quick else EMOJI_HELD_OUT
    with tempfile.TemporaryDirectory(prefix="quality-emoji-") as root:
        run, cpu, steps, _ = train(preset, threads, Path(root), quick, **{"train.seed": seed})
        report = evaluate_generator(
            run, data="emoji", features="effnet-lite0", n=n, seed=0, kid_subset_size=n // 2, progress=False
        )
        cfg = get_preset(preset)
        kept = keep_grid(run, preset, seed)
    # floor: real training emoji (never the held-out ones) against the reference; ceiling: noise
    extractor = get_extractor("effnet-lite0")
    reference = reference_features(
        extractor, "emoji", "all", size=64, channels=3, n=n, seed=0, progress=False
    )
    emoji = load_source("emoji", size=64, channels=3)
    train_rows = training_index(len(emoji), cfg.model.holdout, cfg.model.holdout_seed)
    floor_rows = train_rows[choose(len(train_rows), n, 1)]
    floor = frechet_distance(reference.stats, FeatureStats.of(extractor.features(emoji.images[floor_rows])))
    noise = torch.randint(
        0, 256, (n, 3, 64, 64), generator=torch.Generator().manual_seed(0), dtype=torch.uint8
    )
    ceiling = frechet_distance(reference.stats, FeatureStats.of(extractor.features(noise)))
    fd = report.values["fd"]
    return {
        "cpu_min": cpu / 60,
        "steps": steps,
        "metrics": {"FD-EffNetLite0": fd, "KID-EffNetLite0": report.values["kid"]},
        "floor": {"FD-EffNetLite0": floor},
        "ceiling": {"FD-EffNetLite0": ceiling},
        "baseline": {},
        "checks": {"FD-EffNetLite0": ("<=", 100)},
        "cpu_limit": 20,
        "verdict": "n/a" if quick else ("pass" if fd <= 100 and cpu <= 20 * 60 else "fail"),
        "notes": f"{n} generated vs the {n} held-out emoji (ganforge eval --n {n} --seed 0), "
        f"trained on the other {len(train_rows)}; a person must also name most of a 64-sample grid "
        f"(last training grid: {kept})",
    }


def score_sgan(preset: str, target: float) -> Callable[..., dict[str, Any]]:
    def score(threads: int, quick: bool, seed: int = 0) -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix=f"quality-{preset}-") as root:
            overrides = {"model.baseline": True, "train.seed": seed}
            run, cpu, steps, metrics = train(preset, threads, Path(root), quick, **overrides)
            kept = keep_grid(run, preset, seed)
        acc, base = metrics["test_accuracy"], metrics["baseline_test_accuracy"]
        passed = acc >= target and acc - base >= 0.10 and cpu <= 10 * 60
        if preset == "sgan-fashion":  # its target is the accuracy alone
            passed = acc >= target and cpu <= 10 * 60
        return {
            "cpu_min": cpu / 60,
            "steps": steps,
            "metrics": {"test accuracy": acc},
            "floor": {},
            "ceiling": {"test accuracy (chance)": 0.1},
            "baseline": {"test accuracy (supervised only)": base},
            "verdict": "n/a" if quick else ("pass" if passed else "fail"),
            "notes": f"{int(metrics['labeled_images'])} labels, {int(metrics['test_images'])} test images "
            "never trained on; CPU time includes the baseline trained in the same process; "
            f"G's last grid: {kept}",
        }

    return score


def score_emoji_groups(threads: int, quick: bool, seed: int = 0) -> dict[str, Any]:
    """The conditional preset: its 1,000 samples draw the groups at the training emoji's frequencies."""
    return score_emoji(threads, quick, "fastgan-emoji64-groups", seed)


ROWS = [
    {
        "preset": "fastgan-emoji64",
        "budget": "<= 20 CPU-min",
        "target": "FD-EffNetLite0 <= 100 vs 1,000 held-out emoji",
        "score": score_emoji,
    },
    {
        "preset": "fastgan-emoji64-groups",
        "budget": "<= 20 CPU-min",
        "target": "FD-EffNetLite0 <= 100 vs 1,000 held-out emoji",
        "score": score_emoji_groups,
    },
    {
        "preset": "sgan-mnist --labels 100",
        "budget": "<= 10 CPU-min",
        "target": ">= 92% test accuracy, >= 10 points over the supervised baseline",
        "score": score_sgan("sgan-mnist", 0.92),
    },
    {
        "preset": "sgan-fashion --labels 100",
        "budget": "<= 10 CPU-min",
        "target": ">= 75% test accuracy",
        "score": score_sgan("sgan-fashion", 0.75),
    },
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", help="one row (its preset name, e.g. sgan-mnist)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="a few steps per row: checks the plumbing")
    args = parser.parse_args()
    for row in ROWS:
        if args.preset and row["preset"].split()[0] != args.preset:
            continue
        result = row["score"](args.threads, args.quick)
        print(
            json.dumps({"preset": row["preset"], "budget": row["budget"], "target": row["target"], **result})
        )


if __name__ == "__main__":
    main()
