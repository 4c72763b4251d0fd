"""Quality row for `dtn-digits` (Taigman et al. 2016's DTN, printed digits -> MNIST), read by
`bench/quality.py` (issue 16).

The preset trains for its stated length and scores itself as Taigman et al. do: the MNIST classifier
`digits-lenet` reads the 2,000 translated `printed-digits-test` images (never trained on: the preset
trains on `printed-digits`) against their own labels. Beside it:

- floor: the same classifier on the 1,000 real `mnist-5k:test` digits, the best a translation into
  MNIST can be read (digits-lenet trained on the other 4,000);
- ceiling: chance, 10% (a translation that loses the digit);
- baseline: the classifier on the same printed digits untranslated (what doing nothing gives).

CPU time is this process's (time.process_time) over building the trainer (data, and f's pretraining
unless it is cached) and training, evaluation included; the notes say whether f came from the cache.

    python bench/quality_dtn.py --quick             # a few steps: checks the plumbing
    python bench/quality_dtn.py --threads 1         # the row at its budget
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from quality_emoji_sgan import keep_grid  # bench/ is on the path: as a script, or via bench/quality.py

TARGET = 0.90  # the bar: stays >= 90%
BUDGET_MIN = 6.0  # CPU-minutes


def floor_accuracy(classifier: str = "digits-lenet", source: str = "mnist-5k") -> float:
    """`classifier`'s accuracy on `source`'s held-out test split (real target-domain digits)."""
    from ganforge.metrics.features import get_extractor
    from ganforge.metrics.reference import load_reference_images

    real = load_reference_images(source, "test", 32, 1)
    with torch.enable_grad():  # a ganforge classifier trains itself on first use
        net = get_extractor(classifier)
    with torch.no_grad():
        predicted = net.logits(real.images, 250).argmax(1)
    return float((predicted == real.labels).double().mean())


def encoder_is_cached(cfg: Any) -> bool:
    """Whether dtn-digits' f is already pretrained and cached (then its CPU time is not counted)."""
    from ganforge.data.unpaired import load_unpaired
    from ganforge.recipes.dtn import encoder_cache_path, encoder_kwargs

    m = cfg.model
    source = load_unpaired(cfg.data, m.data_a, m.data_b)["A"]  # in the order the recipe hashes
    path = encoder_cache_path(source, encoder_kwargs(m, source), m.encoder_steps, cfg.train.seed)
    return path.exists()


def score_dtn(threads: int, quick: bool, preset: str = "dtn-digits", seed: int = 0) -> dict[str, Any]:
    from ganforge.config import apply_overrides
    from ganforge.presets import get_preset
    from ganforge.training.trainer import Trainer

    torch.set_num_threads(threads)
    overrides = [f"train.threads={threads}", "train.device=cpu", f"train.seed={seed}"]
    if quick:
        overrides += ["train.steps=4", "train.sample_every=4", "train.checkpoint_every=4"]
    cfg = apply_overrides(get_preset(preset), overrides)
    cached = encoder_is_cached(cfg)
    with tempfile.TemporaryDirectory(prefix="quality-dtn-") as root:
        start = time.process_time()
        trainer = Trainer.new_run(cfg.validate(), Path(root), progress=False, tensorboard=False)
        result = trainer.fit()
        cpu = time.process_time() - start
        kept = keep_grid(result.run_dir, preset, seed)
    metrics = result.metrics or {}
    acc, untranslated = metrics["accuracy_translated"], metrics["accuracy_untranslated"]
    passed = acc >= TARGET and cpu <= BUDGET_MIN * 60
    return {
        "cpu_min": cpu / 60,
        "steps": result.step,
        "metrics": {"translated accuracy": acc},
        "floor": {"translated accuracy": floor_accuracy(cfg.model.eval_classifier)},
        "ceiling": {"translated accuracy": 0.1},
        "baseline": {"translated accuracy": untranslated},
        "verdict": "n/a" if quick else ("pass" if passed else "fail"),
        "notes": f"digits-lenet reads {cfg.model.eval_data} translated (floor: real mnist-5k:test digits; "
        f"baseline: the printed digits untranslated; ceiling: chance); f "
        f"{'cached, its pretraining not counted' if cached else 'pretrained in this run, counted'}; "
        f"last grid (rows: printed digit, its translation): {kept}",
    }


ROWS = [
    {
        "preset": "dtn-digits",
        "budget": f"<= {BUDGET_MIN:g} CPU-min",
        "target": ">= 90% of translated printed-digits-test read as their digit by digits-lenet",
        "score": score_dtn,
    },
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="a few steps: checks the plumbing")
    args = parser.parse_args()
    for row in ROWS:
        result = row["score"](args.threads, args.quick)
        print(json.dumps({k: v for k, v in row.items() if k != "score"} | result))


if __name__ == "__main__":
    main()
