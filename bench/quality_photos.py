"""Quality rows of the presets on the offline `photos` source, for bench/quality.py.

Each row trains its preset for the stated budget (a tiny one with quick=True) at `threads` torch
threads, scores it on the held-out photos (never trained on) beside the trivial baseline, and
checks the issue's target. CPU-minutes are the process's CPU time over training and scoring.

    python bench/quality_photos.py                      # every row, at its budget (~60 CPU-minutes)
    python bench/quality_photos.py --preset srgan-x4-photos --quick
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from ganforge.presets import get_preset
from ganforge.training.trainer import Trainer

FD_CROPS_PER_PHOTO = 24  # 8 held-out photos x 24 crops = 192 images for the Fréchet distances


def _train(name: str, threads: int, quick: bool, **model: Any) -> tuple[Any, Any, float]:
    """(config, trainer after fit, CPU minutes) of a preset, with model overrides."""
    cfg = get_preset(name)
    cfg.train.threads = threads
    cfg.train.sample_every = cfg.train.checkpoint_every = 10**9
    for key, value in model.items():
        setattr(cfg.model, key, value)
    if quick:
        cfg.train.steps = 20
    start = time.process_time()
    run_dir = Path(tempfile.mkdtemp(prefix=f"ganforge-{name}-"))
    trainer = Trainer(cfg, run_dir, progress=False, tensorboard=False)
    result = trainer.fit()
    trainer.final_metrics = result.metrics or {}
    return cfg, trainer, (time.process_time() - start) / 60


def _colorize(threads: int, quick: bool) -> dict:
    cfg, trainer, cpu = _train("pix2pix-colorize-photos", threads, quick)
    m = trainer.final_metrics
    gain, share = m["psnr"] - m["baseline_psnr"], m["colorfulness"] / m["real_colorfulness"]
    return {
        "cpu_min": cpu,
        "steps": cfg.train.steps,
        "metrics": {k: m[k] for k in ("psnr", "ssim", "l1", "colorfulness")},
        "floor": {"colorfulness": m["real_colorfulness"]},  # the real photos
        "ceiling": {},
        "baseline": {"psnr": m["baseline_psnr"], "ssim": m["baseline_ssim"], "colorfulness": 0.0},
        "verdict": "pass" if gain >= 0.5 and share >= 0.6 else "fail",
        "notes": f"{m['heldout_images']:.0f} held-out photos at 128 px; PSNR {gain:+.2f} dB over gray, "
        f"colorfulness {share:.0%} of the real photos'",
    }


def _push_pull_scores(cfg: Any) -> dict[str, float]:
    """Held-out scores of the push-pull fill alone (no network): what a smooth fill achieves, so the
    U-Net's own share of the gain over the mean-color fill shows."""
    from ganforge.models.unet import push_pull_fill
    from ganforge.recipes.pix2pix import heldout_pairs

    A, B = heldout_pairs(cfg, seed=0)  # the same holes as the recipe's evaluation
    holes = (A[:, -1:] > 0).float()
    filled = push_pull_fill(A[:, :-1], 1 - holes)
    hole_mse = ((filled - B) * holes).square().sum((1, 2, 3)) / (holes.sum((1, 2, 3)) * B.shape[1]).clamp(
        min=1
    )
    return {"hole_psnr": float((10 * torch.log10(4 / hole_mse.clamp(min=1e-10))).mean())}


def _inpaint(threads: int, quick: bool) -> dict:
    cfg, trainer, cpu = _train("pix2pix-inpaint-photos", threads, quick)
    m = trainer.final_metrics
    gain = m["hole_psnr"] - m["baseline_hole_psnr"]
    smooth = _push_pull_scores(cfg)
    return {
        "cpu_min": cpu,
        "steps": cfg.train.steps,
        "metrics": {k: m[k] for k in ("hole_psnr", "psnr", "ssim", "hole_l1")},
        "floor": {},
        "ceiling": {},
        "baseline": {k: m[f"baseline_{k}"] for k in ("hole_psnr", "psnr", "ssim", "hole_l1")},
        "push_pull_fill": smooth,  # a second, stronger trivial baseline (no learning)
        "verdict": "pass" if gain >= 3.0 else "fail",
        "notes": f"free-form strokes and boxes (seed 0) on {m['heldout_images']:.0f} held-out photos; "
        f"PSNR inside the holes {gain:+.2f} dB over the mean-color fill, "
        f"{m['hole_psnr'] - smooth['hole_psnr']:+.2f} dB over the push-pull fill alone",
    }


def _edges(task: str, threads: int, quick: bool) -> dict:
    """FD-EffNetLite0 on crops of the held-out photos: G's outputs and the trivial input, each
    against the real targets (photos for edges2photo, their XDoG drawings for photo2edges)."""
    from ganforge.data.derived import derive_pair
    from ganforge.data.photos import heldout_crops
    from ganforge.imaging import to_float
    from ganforge.metrics.features import get_extractor
    from ganforge.metrics.frechet import frechet_distance
    from ganforge.recipes.pix2pix import baseline

    cfg, trainer, cpu = _train(f"pix2pix-{task}-photos", threads, quick)
    m = trainer.final_metrics
    start = time.process_time()
    A, B = derive_pair(task, to_float(heldout_crops(FD_CROPS_PER_PHOTO, cfg.data.size)))
    G = trainer.recipe.models["G"].eval()
    with torch.no_grad():
        out = torch.cat([G(A[i : i + 32]).float() for i in range(0, len(A), 32)]).clamp(-1, 1)
    trivial = baseline(task, A, B.shape[1])

    def rgb(x: torch.Tensor) -> torch.Tensor:
        return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x

    extractor = get_extractor("effnet-lite0")
    real = extractor.features(rgb(B), 32)
    fd = frechet_distance(extractor.features(rgb(out), 32), real)
    fd_base = frechet_distance(extractor.features(rgb(trivial), 32), real)
    cpu += (time.process_time() - start) / 60
    what = "the drawings" if task == "edges2photo" else "the gray photos"
    return {
        "cpu_min": cpu,
        "steps": cfg.train.steps,
        "metrics": {"fd_effnetlite0": fd, "psnr": m["psnr"], "ssim": m["ssim"]},
        "floor": {},
        "ceiling": {},
        "baseline": {"fd_effnetlite0": fd_base, "psnr": m["baseline_psnr"], "ssim": m["baseline_ssim"]},
        "verdict": "pass" if fd < fd_base else "fail",
        "notes": f"FD on {len(A)} crops of the held-out photos at {cfg.data.size} px; baseline: {what}",
    }


def _sr(scale: int, threads: int, quick: bool) -> dict:
    cfg, trainer, cpu = _train(f"srgan-x{scale}-photos", threads, quick)
    m = trainer.final_metrics
    gain = m["psnr_y"] - m["bicubic_psnr_y"]
    keys = ("psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb")
    return {
        "cpu_min": cpu,
        "steps": cfg.train.steps,
        "metrics": {k: m[k] for k in keys},
        "floor": {},
        "ceiling": {},
        "baseline": {k: m[f"bicubic_{k}"] for k in keys},
        "verdict": "pass" if gain >= 1.0 and m["ssim_y"] > m["bicubic_ssim_y"] else "fail",
        "notes": f"{m['heldout_images']:.0f} held-out photos at 256 px, border {m['border_px']:.0f} px; "
        f"Y-PSNR {gain:+.2f} dB over bicubic",
    }


ROWS = [
    {
        "preset": "pix2pix-colorize-photos",
        "budget": "15 CPU-min",
        "target": "PSNR >= gray + 0.5 dB; colorfulness >= 60% of the real photos'",
        "score": _colorize,
    },
    {
        "preset": "srgan-x4-photos",
        "budget": "15 CPU-min",
        "target": "Y-PSNR >= bicubic + 1.0 dB, SSIM-Y above bicubic",
        "score": lambda threads, quick: _sr(4, threads, quick),
    },
    {
        "preset": "srgan-x2-photos",
        "budget": "15 CPU-min",
        "target": "Y-PSNR >= bicubic + 1.0 dB, SSIM-Y above bicubic",
        "score": lambda threads, quick: _sr(2, threads, quick),
    },
    {
        "preset": "pix2pix-inpaint-photos",
        "budget": "15 CPU-min",
        "target": "PSNR inside the holes >= mean-color fill + 3 dB",
        "score": _inpaint,
    },
    {
        "preset": "pix2pix-edges2photo-photos",
        "budget": "15 CPU-min",
        "target": "FD-EffNetLite0 of the outputs below that of the drawings",
        "score": lambda threads, quick: _edges("edges2photo", threads, quick),
    },
    {
        "preset": "pix2pix-photo2edges-photos",
        "budget": "15 CPU-min",
        "target": "FD-EffNetLite0 of the outputs below that of the gray photos",
        "score": lambda threads, quick: _edges("photo2edges", threads, quick),
    },
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", action="append", help="only these rows (repeatable)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="20 steps: a smoke test of every row")
    parser.add_argument("--json", type=Path, help="write the rows here too")
    args = parser.parse_args()
    results = []
    for row in ROWS:
        if args.preset and row["preset"] not in args.preset:
            continue
        result = row["score"](args.threads, args.quick)
        results.append({k: v for k, v in row.items() if k != "score"} | result)
        print(json.dumps(results[-1], default=float), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=float))
    if any(r["verdict"] == "fail" for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
