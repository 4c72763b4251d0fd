"""Quality per CPU-minute: train every offline preset for its stated budget, score it on held-out
data beside the floor (real vs real), the ceiling (noise) and a trivial baseline, print one table.

Rows come from this file (the DCGAN presets) and from every `bench/quality_<topic>.py` module,
each of which defines

    ROWS = [{"preset": str, "budget": str, "target": str, "score": callable}]

where `score(threads: int, quick: bool) -> dict` trains and evaluates and returns
`{"cpu_min", "steps", "metrics", "floor", "ceiling", "baseline", "verdict", "notes"}` (keys may be
missing; metrics/floor/ceiling/baseline map a metric name to a number; verdict is pass/fail/n/a).

    python bench/quality.py                         # every row, at its budget (tens of CPU-minutes)
    python bench/quality.py --preset dcgan-mnist --threads 1 --json dcgan.json
    python bench/quality.py --quick                 # every row at a tiny budget: a smoke test
    python bench/quality.py --preset fastgan-emoji64 --seeds 3   # mean of training seeds 0, 1, 2

`--seeds N` trains a row N times (training seeds 0..N-1, `train.seed`) where its score function takes
a `seed` keyword, and reports each metric's mean with its lowest and highest value; the verdict is
taken on the mean where the row says its bounds (`"checks"`: metric -> (op, bound), and `"cpu_limit"`
in CPU-minutes), else from the seeds' own verdicts ("mixed k/N" when they disagree). One run of a
GAN moves by a few FD points from seed to seed, so a target near the figure wants N >= 3.

CPU-minutes are the training process's CPU time (all threads), so other work does not count, but it
still slows each CPU-second: a second training run beside this one (2 vCPUs) took
fastgan-emoji64-groups from 18.8 CPU-min alone to 20.7, so check budgets with the machine to
itself. "N min wall on 2 cores" budgets are checked as N minutes of that at --threads 1
(conservative: the small convolutions here gain little from a second thread, so 1-thread CPU time
is at least the 2-core wall time).
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import json
import math
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

HERE = Path(__file__).resolve().parent
GRIDS = Path(tempfile.gettempdir()) / "ganforge-quality"  # sample grids of the scored runs, to look at
EFFNET_N = 500  # images a side for FD-EffNetLite0 (--effnet-n); the README's protocol


# ------------------------------------------------------------------ scoring images


def _float_images(images: torch.Tensor) -> torch.Tensor:
    return images.float() / 127.5 - 1 if images.dtype == torch.uint8 else images


def score_images(
    images: torch.Tensor,
    source: str,
    lenet: str,
    labels: torch.Tensor | None = None,
    effnet_n: int = 500,
    size: int = 32,
) -> dict[str, float]:
    """Held-out figures of `images` (N, 1, H, W) against `source`'s test split: FD, confidence, class
    entropy and diversity on the domain LeNet, per-class diversity and accuracy when `labels` are
    given, and FD-EffNetLite0 on the first `effnet_n` images (0: skipped; it is 30x slower)."""
    from ganforge.metrics import diversity as dv
    from ganforge.metrics.evaluate import real_class_features
    from ganforge.metrics.features import get_extractor
    from ganforge.metrics.frechet import FeatureStats, frechet_distance
    from ganforge.metrics.reference import load_reference_images, reference_features

    images = _float_images(images)
    n = images.shape[0]
    net = get_extractor(lenet)
    ref = reference_features(net, source, "test", size=size, channels=1, n=1000, seed=0, progress=False)
    feats, logits = net.extract([images[i : i + 256] for i in range(0, n, 256)], n, progress=False)
    name = net.fd_name
    out = {
        name: frechet_distance(ref.stats, FeatureStats.of(feats)),
        "confidence": dv.classifier_confidence(logits),
        "class entropy": dv.class_histogram_entropy(logits),
        "diversity": dv.diversity(feats, ref.features),
    }
    if labels is not None:
        out["accuracy"] = float((logits.argmax(1) == labels).double().mean())
        real = load_reference_images(source, "test", size, 1)
        by_class = dv.per_class_diversity(feats, labels, *real_class_features(net, real))
        out["class diversity"] = sum(by_class.values()) / len(by_class)
    if effnet_n:
        eff = get_extractor("effnet-lite0")
        m = min(effnet_n, n)
        ref_e = reference_features(eff, source, "test", size=size, channels=1, n=m, seed=0, progress=False)
        fe, _ = eff.extract([images[i : i + 64] for i in range(0, m, 64)], m, progress=False)
        out[eff.fd_name] = frechet_distance(ref_e.stats, FeatureStats.of(fe))
    return out


def reference_rows(source: str, lenet: str, n: int, effnet_n: int, conditional: bool) -> dict[str, dict]:
    """Floor (n training-split images), ceiling (uniform noise) and baseline (the class-mean image of
    each class, cycled: what a generator that ignores its noise draws at best) on the same protocol."""
    from ganforge.metrics.reference import load_reference_images

    train = load_reference_images(source, "train", 32, 1)
    g = torch.Generator().manual_seed(1)
    pick = torch.randperm(len(train), generator=g)[:n]
    labels = torch.arange(n) % 10
    means = torch.stack([train.images[train.labels == c].float().mean(0) for c in range(10)])
    rows = {
        "floor": (train.images[pick], train.labels[pick]),
        "ceiling": (torch.rand(n, 1, 32, 32, generator=g) * 2 - 1, labels),
        "baseline": (means[labels] / 127.5 - 1, labels),
    }
    return {
        key: score_images(imgs, source, lenet, lab if conditional else None, effnet_n)
        for key, (imgs, lab) in rows.items()
    }


# ------------------------------------------------------------------ training a preset


def train_preset(
    preset: str, threads: int, overrides: list[str], seed: int = 0
) -> tuple[torch.nn.Module, float, int]:
    """Train `preset` as `ganforge train` does (a fresh run in a temporary folder, training seed
    `seed`); returns the EMA generator, the process CPU seconds of the whole run and its steps."""
    from ganforge.config import apply_overrides
    from ganforge.presets import get_preset
    from ganforge.training.trainer import Trainer

    torch.set_num_threads(threads)
    base = [f"train.threads={threads}", "train.device=cpu", f"train.seed={seed}"]
    cfg = apply_overrides(get_preset(preset), [*base, *overrides])
    with tempfile.TemporaryDirectory() as run_dir:
        start = time.process_time()
        trainer = Trainer(cfg, Path(run_dir), progress=False, tensorboard=False)
        trainer.fit()
        cpu = time.process_time() - start
        G = trainer.models_for_use()[trainer.recipe.generator_name].eval()
    return G, cpu, cfg.train.steps


def generate(G: torch.nn.Module, n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor | None]:
    """n images of seed `seed` as `ganforge sample` makes them (classes in turn when conditional)."""
    from ganforge.pipelines.generate import GeneratePipeline

    out = GeneratePipeline(G)(n, seed=seed)
    return out.images, out.labels


def grid_name(preset: str, seed: int) -> str:
    """The file stem of a scored run's kept grid: the preset's name, and its seed when not 0."""
    return preset if seed == 0 else f"{preset}-seed{seed}"


def verdict(metrics: dict[str, float], checks: dict[str, tuple[str, float]]) -> str:
    """pass when every checked metric meets its bound ("<=" or ">="), else fail; n/a without checks."""
    if not checks:
        return "n/a"
    for name, (op, bound) in checks.items():
        value = metrics.get(name, math.nan)
        if not (value <= bound if op == "<=" else value >= bound):
            return "fail"
    return "pass"


def dcgan_row(
    preset: str,
    source: str,
    lenet: str,
    budget: str,
    target: str,
    checks: Callable[[dict[str, dict]], dict[str, tuple[str, float]]],
    conditional: bool = False,
) -> dict[str, Any]:
    """A ROWS entry for a DCGAN preset on 28x28 gray data scored with `lenet` on `source`'s test split."""

    def score(threads: int, quick: bool, seed: int = 0) -> dict[str, Any]:
        overrides = ["train.steps=4", "data.limit=256", "train.sample_every=4"] if quick else []
        n, effnet_n = (64, 0) if quick else (1000, EFFNET_N)
        G, cpu, steps = train_preset(preset, threads, overrides, seed)
        images, labels = generate(G, n)
        from ganforge.imaging import save_image

        grid = GRIDS / f"{grid_name(preset, seed)}.png"
        save_image(images[:100], grid, nrow=10)
        if conditional:
            from ganforge.pipelines.generate import GeneratePipeline

            sevens = GeneratePipeline(G)(16, seed=123, class_index=7).images
            save_image(sevens, GRIDS / f"{grid_name(preset, seed)}-class7.png", nrow=4)
        metrics = score_images(images, source, lenet, labels if conditional else None, effnet_n)
        refs = reference_rows(source, lenet, n, effnet_n, conditional)
        return {
            "cpu_min": cpu / 60,
            "steps": steps,
            "metrics": metrics,
            **refs,
            "checks": checks(refs),
            "verdict": verdict(metrics, checks(refs)),
            "notes": f"{n} samples vs {source}:test; grid in {grid}",
        }

    return {"preset": preset, "budget": budget, "target": target, "score": score}


def _fd_quarter(refs: dict[str, dict], name: str) -> float:
    """A quarter of the way from the floor to the ceiling."""
    return refs["floor"][name] + 0.25 * (refs["ceiling"][name] - refs["floor"][name])


ROWS = [
    dcgan_row(
        "dcgan-mnist",
        "mnist-5k",
        "digits-lenet",
        "3 min wall, 2 cores",
        "FD-EffNetLite0 <= 18, FD-digits-lenet <= 20, confidence >= 0.92, class entropy >= 2.25",
        lambda refs: {
            "FD-EffNetLite0": ("<=", 18),
            "FD-digits-lenet": ("<=", 20),
            "confidence": (">=", 0.92),
            "class entropy": (">=", 2.25),
        },
    ),
    dcgan_row(
        "cdcgan-mnist",
        "mnist-5k",
        "digits-lenet",
        "4 min wall, 2 cores",
        "accuracy >= 0.97, class diversity >= 0.7 x real's, FD-digits-lenet <= 20",
        lambda refs: {
            "accuracy": (">=", 0.97),
            "class diversity": (">=", 0.7 * refs["floor"]["class diversity"]),
            "FD-digits-lenet": ("<=", 20),
        },
        conditional=True,
    ),
    dcgan_row(
        "dcgan-fashion",
        "fashion-mnist",
        "fashion-lenet",
        "5 min wall, 2 cores",
        "FD-fashion-lenet and FD-EffNetLite0 under 25% of the floor-to-ceiling distance",
        lambda refs: {
            "FD-fashion-lenet": ("<=", _fd_quarter(refs, "FD-fashion-lenet")),
            "FD-EffNetLite0": ("<=", _fd_quarter(refs, "FD-EffNetLite0")),
        },
    ),
]


# ------------------------------------------------------------------ collecting and printing


def load_module(path: Path) -> Any:
    """Import a bench module by file path (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))  # so that it may import its neighbours
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module


def collect_rows(folder: Path = HERE) -> list[dict[str, Any]]:
    """This file's ROWS, then those of every quality_*.py beside it (by file name)."""
    rows = list(ROWS) if folder == HERE else []
    for path in sorted(folder.glob("quality_*.py")):
        for row in getattr(load_module(path), "ROWS", []):
            missing = {"preset", "score"} - set(row)
            if missing:
                raise ValueError(f"{path.name}: a ROWS entry lacks {', '.join(sorted(missing))}")
            rows.append({"budget": "", "target": "", **row, "module": path.name})
    return rows


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        value += 0.0  # no "-0"
        return "nan" if math.isnan(value) else f"{value:.3g}" if abs(value) < 100 else f"{value:.1f}"
    return str(value)


def table(results: list[dict[str, Any]]) -> str:
    """One markdown table: a line per (preset, metric), the figures beside floor, ceiling, baseline."""
    head = "| preset | CPU-min | steps | metric | value | floor | ceiling | baseline | target | verdict |"
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    for r in results:
        metrics = r.get("metrics") or {"(error)": math.nan}
        spread = r.get("spread") or {}
        for i, (name, value) in enumerate(metrics.items()):
            first = i == 0
            shown = _fmt(value)
            if name in spread:  # the mean of several seeds, and their range
                shown += f" ({_fmt(spread[name][0])} to {_fmt(spread[name][1])})"
            cells = [
                r["preset"] if first else "",
                _fmt(r["cpu_min"]) if first and "cpu_min" in r else "",
                _fmt(r["steps"]) if first and "steps" in r else "",
                name,
                shown,
                *(_fmt(r.get(k, {}).get(name, "")) for k in ("floor", "ceiling", "baseline")),
                r.get("target", "") if first else "",
                r.get("verdict", "n/a") if first else "",
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def takes_seed(score: Callable[..., Any]) -> bool:
    """Whether a row's score function takes a `seed` keyword (then --seeds can repeat it)."""
    try:
        return "seed" in inspect.signature(score).parameters
    except (TypeError, ValueError):
        return False


def _mean_dict(runs: list[dict[str, Any]], key: str) -> dict[str, float]:
    """Per name, the mean over `runs` of run[key][name] (names every run has)."""
    names = [n for n in runs[0].get(key) or {} if all(n in (r.get(key) or {}) for r in runs)]
    return {n: sum(float(r[key][n]) for r in runs) / len(runs) for n in names}


def combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One result from the results of several training seeds: metrics (and floor, ceiling, baseline)
    averaged, each metric's lowest and highest value in "spread", the verdict taken on the mean."""
    first, n = runs[0], len(runs)
    out = {**first, "seeds": n, "per_seed": [r.get("metrics", {}) for r in runs]}
    out["metrics"] = _mean_dict(runs, "metrics")
    for key in ("floor", "ceiling", "baseline"):
        out[key] = _mean_dict(runs, key)
    out["spread"] = {
        name: (min(r["metrics"][name] for r in runs), max(r["metrics"][name] for r in runs))
        for name in out["metrics"]
    }
    if all("cpu_min" in r for r in runs):
        out["cpu_min"] = sum(r["cpu_min"] for r in runs) / n
    verdicts = [r.get("verdict", "n/a") for r in runs]
    if "checks" in first and "n/a" not in verdicts:
        out["verdict"] = verdict(out["metrics"], first["checks"])
        if out["verdict"] == "pass" and out.get("cpu_min", 0) > first.get("cpu_limit", math.inf):
            out["verdict"] = "fail"
    elif len(set(verdicts)) == 1:
        out["verdict"] = verdicts[0]
    else:
        out["verdict"] = f"mixed {verdicts.count('pass')}/{n}"
    per_seed = "; ".join(
        f"{name}: " + " / ".join(_fmt(float(r["metrics"][name])) for r in runs) for name in out["metrics"]
    )
    out["notes"] = f"mean of training seeds 0-{n - 1} (per seed, {per_seed}); {first.get('notes', '')}"
    return out


def seed_summary(got: dict[str, Any]) -> str:
    """One seed's figures on one line, for the progress log: its metrics, CPU-minutes and verdict."""
    figures = [f"{name} {_fmt(float(value))}" for name, value in got.get("metrics", {}).items()]
    if "cpu_min" in got:
        figures.append(f"{float(got['cpu_min']):.1f} CPU-min")
    return ", ".join(figures) + f" ({got.get('verdict', 'n/a')})"


def score_row(row: dict[str, Any], threads: int, quick: bool, seeds: int) -> dict[str, Any]:
    """A row's result: one run, or with seeds > 1 and a score that takes a seed, their combination.
    A row that raises is reported as a failure with its error, not fatal."""
    try:
        if seeds <= 1 or not takes_seed(row["score"]):
            got = row["score"](threads, quick)
            if seeds > 1:
                got["notes"] = f"one run: this row takes no seed; {got.get('notes', '')}"
            return got
        runs = []
        for seed in range(seeds):
            print(f"  training seed {seed} of 0-{seeds - 1} ...", file=sys.stderr, flush=True)
            runs.append(row["score"](threads, quick, seed=seed))
            print(f"  seed {seed}: {seed_summary(runs[-1])}", file=sys.stderr, flush=True)
        return combine(runs)
    except Exception as err:  # one broken row must not hide the others' figures
        traceback.print_exc()
        return {"verdict": "fail", "notes": f"error: {type(err).__name__}: {err}"}


def run_rows(rows: list[dict[str, Any]], threads: int, quick: bool, seeds: int = 1) -> list[dict[str, Any]]:
    """Score each row (`seeds` training seeds where it takes one), in order."""
    results = []
    for row in rows:
        print(f"scoring {row['preset']} ({row.get('budget', '')}) ...", file=sys.stderr, flush=True)
        got = score_row(row, threads, quick, seeds)
        base = {k: v for k, v in row.items() if k != "score"}
        results.append({**base, **got})
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", help="score only this preset")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for training and scoring")
    parser.add_argument("--quick", action="store_true", help="tiny budgets: a smoke test in seconds")
    parser.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="train each row this many times (seeds 0..N-1) and judge the mean (default 1)",
    )
    parser.add_argument(
        "--effnet-n", type=int, default=EFFNET_N, help="FD-EffNetLite0 images a side (0: skip)"
    )
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {args.seeds}")
    globals()["EFFNET_N"] = args.effnet_n  # read by the rows' score functions
    torch.set_num_threads(args.threads)
    rows = collect_rows()
    if args.preset:
        rows = [r for r in rows if r["preset"] == args.preset]
        if not rows:
            known = ", ".join(r["preset"] for r in collect_rows())
            parser.error(f"no row for preset {args.preset!r}; rows: {known}")
    results = run_rows(rows, args.threads, args.quick, args.seeds)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    seeds = f", training seeds 0-{args.seeds - 1} (mean, lowest to highest)" if args.seeds > 1 else ""
    print(f"ganforge quality, {stamp}, torch {torch.__version__}, {args.threads} thread(s){seeds}")
    print(table(results))
    for r in results:
        if r.get("notes"):
            print(f"- {r['preset']}: {r['notes']}")
    if args.json:
        record = {"time": stamp, "threads": args.threads, "seeds": args.seeds, "rows": results}
        args.json.write_text(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
