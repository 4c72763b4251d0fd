"""Metrics during training: rows in metrics.jsonl and log.jsonl, checkpoints/best.pt by the first
metric, resume that remembers the best, and no change at all to what is trained."""

import json

import torch

from conftest import tiny_config, tiny_images
from ganforge.training import checkpoint as ckpt
from ganforge.training.trainer import Trainer


def eval_config(steps, eval_every):
    cfg = tiny_config(steps=steps)
    cfg.train.eval_every = eval_every
    cfg.train.eval_metrics = ["kid", "fid"]
    cfg.train.eval_n = 16
    cfg.train.eval_features = "digits-lenet"
    return cfg.validate()


def fit(cfg, run_dir):
    return Trainer(cfg, run_dir, data=tiny_images(), progress=False, tensorboard=False).fit()


def rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_eval_every_logs_keeps_best_and_changes_nothing_else(tmp_path):
    run = tmp_path / "run"
    fit(eval_config(8, 4), run)
    metrics = rows(run / "metrics.jsonl")
    assert [r["step"] for r in metrics] == [4, 8]
    for r in metrics:
        assert r["features"] == "digits-lenet" and r["KID-digits-lenet std"] >= 0
        assert r["FD-digits-lenet"] > 0 and r["best_kid"] == min(
            m["KID-digits-lenet"] for m in metrics if m["step"] <= r["step"]
        )
    logged = {r["step"]: r for r in rows(run / "log.jsonl") if "KID-digits-lenet" in r}
    assert {s: r["KID-digits-lenet"] for s, r in logged.items()} == {
        r["step"]: r["KID-digits-lenet"] for r in metrics
    }
    best_step = min(metrics, key=lambda r: r["KID-digits-lenet"])["step"]
    assert ckpt.load_checkpoint(run / "checkpoints" / "best.pt")["step"] == best_step
    assert "during training at step 8" in (run / "bundle" / "README.md").read_text()

    # evaluation draws nothing from the training RNGs: the same weights as a run without it
    plain = tmp_path / "plain"
    fit(eval_config(8, 0), plain)
    with_eval = ckpt.load_checkpoint(ckpt.checkpoint_path(run / "checkpoints", 8))
    without = ckpt.load_checkpoint(ckpt.checkpoint_path(plain / "checkpoints", 8))
    for name in ("G", "D", "G_ema"):
        for key, value in without["models"][name].items():
            assert torch.equal(with_eval["models"][name][key], value), (name, key)
    assert not (plain / "metrics.jsonl").exists() and not (plain / "checkpoints" / "best.pt").exists()

    # resume to 12 steps: the best so far is remembered from metrics.jsonl
    fit(eval_config(12, 4), run)
    metrics = rows(run / "metrics.jsonl")
    assert [r["step"] for r in metrics] == [4, 8, 12]
    assert metrics[-1]["best_kid"] == min(r["KID-digits-lenet"] for r in metrics)
