import json
import math

import pytest
import torch

from conftest import tiny_config, tiny_images
from ganforge.errors import CheckpointError, ConfigError, TrainingDiverged
from ganforge.training import checkpoint as ckpt
from ganforge.training.trainer import Trainer


def make(cfg, run_dir, data=None):
    return Trainer(cfg, run_dir, data=data or tiny_images(), progress=False, tensorboard=False)


def test_fit_writes_the_run_directory(tmp_path):
    result = make(tiny_config(steps=8), tmp_path / "run").fit()
    run = tmp_path / "run"
    assert result.step == 8 and not result.interrupted
    assert json.loads((run / "config.json").read_text())["data"]["channels"] == 1  # resolved from the data
    lines = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    steps = [line["step"] for line in lines if "D_loss" in line]
    assert steps == [2, 4, 6, 8]
    assert all(math.isfinite(line["G_loss"]) for line in lines if "G_loss" in line)
    assert lines[-1]["event"] == "finished"
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step-000004.png", "step-000008.png"]
    assert [s for s, _ in ckpt.list_checkpoints(run / "checkpoints")] == [4, 8]  # keep_checkpoints=2
    assert {"config.json", "model.json", "G_ema.safetensors", "README.md", "samples.png"} <= {
        p.name for p in (run / "bundle").iterdir()
    }


def state_tensors(trainer):
    state = trainer.state_dict()
    out = {}
    for group in ("models", "optimizers"):
        for name, sd in state[group].items():
            flat = (
                sd
                if group == "models"
                else {f"{i}.{k}": v for i, s in sd["state"].items() for k, v in s.items()}
            )
            for k, v in flat.items():
                out[f"{group}.{name}.{k}"] = v
    return out


@pytest.mark.parametrize(
    "recipe, overrides",
    [
        ("dcgan", {}),
        ("gan", {}),
        ("dcgan", {"conditional": True}),
        ("dcgan", {"loss": "wgan", "gp_weight": 10.0, "d_norm": "none", "d_steps": 2}),
    ],
)
def test_resume_is_bitwise_exact(tmp_path, recipe, overrides):
    whole = make(tiny_config(recipe, steps=10, **overrides), tmp_path / "whole")
    whole.fit()

    first = make(tiny_config(recipe, steps=6, **overrides), tmp_path / "split")
    first.fit()
    second = make(tiny_config(recipe, steps=10, **overrides), tmp_path / "split")
    assert second.fit().step == 10

    a, b = state_tensors(whole), state_tensors(second)
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert different == []
    assert torch.equal(whole.stream.order, second.stream.order)
    assert whole.stream.position == second.stream.position


def test_killed_checkpoint_write_keeps_the_previous_one(tmp_path, monkeypatch):
    trainer = make(tiny_config(steps=4), tmp_path / "run")
    trainer.fit()
    folder = tmp_path / "run" / "checkpoints"
    before = ckpt.load_latest(folder)
    assert before["step"] == 4

    def dying_save(obj, f):
        f.write(b"PK\x03\x04 half a checkpoint")
        raise KeyboardInterrupt("killed mid-write")

    monkeypatch.setattr(torch, "save", dying_save)
    trainer.step = 5
    with pytest.raises(KeyboardInterrupt):
        trainer.save_checkpoint()
    monkeypatch.undo()
    assert [s for s, _ in ckpt.list_checkpoints(folder)] == [0, 4]
    assert not list(folder.glob(".*tmp*"))
    assert ckpt.load_latest(folder)["step"] == 4

    # a hard kill (no cleanup) leaves a temp file: it is ignored and cleaned on the next start
    (folder / ".step-000008.pt.tmp-12345").write_bytes(b"garbage")
    assert ckpt.load_latest(folder)["step"] == 4
    ckpt.clean_temp_files(folder)
    assert not list(folder.glob(".*tmp*"))


def test_truncated_newest_checkpoint_falls_back(tmp_path, capsys):
    make(tiny_config(steps=8), tmp_path / "run").fit()
    folder = tmp_path / "run" / "checkpoints"
    newest = ckpt.list_checkpoints(folder)[-1][1]
    newest.write_bytes(newest.read_bytes()[:100])
    assert ckpt.load_latest(folder)["step"] == 4
    assert "cannot be loaded safely" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_malicious_checkpoint_is_refused(tmp_path):
    import pickle

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "step-000001.pt"
    with open(path, "wb") as f:
        pickle.dump({"format": ckpt.FORMAT, "x": Evil()}, f)
    with pytest.raises(ckpt.CheckpointError, match="holds Python code .* it was not loaded"):
        ckpt.load_checkpoint(path)
    foreign = tmp_path / "step-000002.pt"
    torch.save({"weights": torch.zeros(1)}, foreign)
    with pytest.raises(ckpt.CheckpointError, match="not a ganforge checkpoint"):
        ckpt.load_checkpoint(foreign)


def inject_nan(trainer, at_steps):
    """Make D_main's loss NaN the first time each of `at_steps` is reached."""
    phase = trainer.phases[0]
    original, pending = phase.run, set(at_steps)

    def run(batch):
        loss, logs = original(batch)
        if trainer.step in pending:
            pending.discard(trainer.step)
            return loss * float("nan"), logs
        return loss, logs

    phase.run = run


def test_nan_loss_rolls_back_and_lowers_the_learning_rate(tmp_path, capsys):
    trainer = make(tiny_config(steps=8), tmp_path / "run")
    lr = trainer.recipe.optimizers["D"].param_groups[0]["lr"]
    inject_nan(trainer, {6})
    assert trainer.fit().step == 8
    events = [json.loads(x) for x in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    rollback = [e for e in events if e.get("event") == "rollback"]
    assert len(rollback) == 1
    assert rollback[0]["step"] == 6 and rollback[0]["to_step"] == 4 and rollback[0]["lr_scale"] == 0.5
    assert "D_main loss is nan" in rollback[0]["reason"]
    assert trainer.recipe.optimizers["D"].param_groups[0]["lr"] == pytest.approx(lr * 0.5)
    assert "rolled back to step 4" in capsys.readouterr().err
    assert ckpt.load_latest(tmp_path / "run" / "checkpoints")["lr_scale"] == 0.5


def test_nan_weight_is_caught(tmp_path):
    trainer = make(tiny_config(steps=4), tmp_path / "run")
    opt = trainer.recipe.optimizers["G"]
    step = opt.step

    def poisoned_step(*args, **kwargs):
        out = step(*args, **kwargs)
        if trainer.step == 2 and trainer.rollbacks == 0:
            with torch.no_grad():
                next(trainer.recipe.G.parameters()).fill_(float("inf"))
        return out

    opt.step = poisoned_step
    trainer.fit()
    assert trainer.rollbacks == 1
    assert all(torch.isfinite(p).all() for p in trainer.recipe.G.parameters())
    assert all(torch.isfinite(p).all() for p in trainer.ema["G_ema"].parameters())


def test_gives_up_after_max_retries(tmp_path):
    cfg = tiny_config(steps=8)
    cfg.train.health.max_retries = 1
    trainer = make(cfg, tmp_path / "run")
    inject_nan(trainer, {2, 3})
    with pytest.raises(TrainingDiverged, match=r"diverged at step 3 .* after 1 rollbacks"):
        trainer.fit()
    assert ckpt.load_latest(tmp_path / "run" / "checkpoints")["step"] == 0


def test_stop_request_checkpoints_and_resumes(tmp_path):
    trainer = make(tiny_config(steps=8), tmp_path / "run")
    g_main = trainer.phases[1].run

    def stop_at_3(batch):
        if trainer.step == 2:
            trainer._stop.set()  # what Ctrl-C does
        return g_main(batch)

    trainer.phases[1].run = stop_at_3
    result = trainer.fit()
    assert result.interrupted and result.step == 3 and result.bundle_dir is None
    assert ckpt.load_latest(tmp_path / "run" / "checkpoints")["step"] == 3
    assert make(tiny_config(steps=8), tmp_path / "run").fit().step == 8


def test_data_smaller_than_a_batch_trains_with_the_batch_lowered(tmp_path, capsys):
    cfg = tiny_config(steps=2)
    cfg.train.batch_size = 64
    trainer = make(cfg, tmp_path / "run", data=tiny_images(49))
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "the data has 49 images, fewer than one batch of 64: training with batch 49" in err
    assert trainer.fit().step == 2 and trainer.stream.batch_size == 49
    assert json.loads((tmp_path / "run" / "config.json").read_text())["train"]["batch_size"] == 49
    assert make(tiny_config(steps=2), tmp_path / "run2", data=tiny_images(8)).batch_size == 8  # fits: as is


def test_conditional_needs_labels(tmp_path):
    data = tiny_images()
    data.labels, data.class_names = None, None
    with pytest.raises(Exception, match="conditional training needs class labels"):
        make(tiny_config(conditional=True), tmp_path / "run", data=data)


def test_a_failed_start_leaves_no_run_directory(tmp_path):
    data = tiny_images()
    data.labels, data.class_names = None, None
    with pytest.raises(ConfigError, match="conditional training needs class labels"):
        Trainer.new_run(tiny_config(conditional=True), tmp_path / "runs", data=data, progress=False)
    assert not (tmp_path / "runs").exists() or list((tmp_path / "runs").iterdir()) == []
    trainer = Trainer.new_run(tiny_config(steps=2), tmp_path / "runs", data=tiny_images(), progress=False)
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["00000-tiny-dcgan"]
    assert (trainer.run_dir / "config.json").is_file()


def damage(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = bytes(range(64))  # in place: the file still unpickles
    path.write_bytes(bytes(data))


def test_damaged_newest_checkpoint_falls_back_on_resume(tmp_path, capsys):
    make(tiny_config(steps=8), tmp_path / "run").fit()
    folder = tmp_path / "run" / "checkpoints"
    damage(ckpt.checkpoint_path(folder, 8))
    resumed = make(tiny_config(steps=8), tmp_path / "run")
    assert resumed.fit().step == 8
    err = capsys.readouterr().err
    assert f"checkpoint {folder / 'step-000008.pt'} is damaged" in err and "trying an older checkpoint" in err
    redone = [json.loads(x) for x in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in redone if "D_loss" in e] == [2, 4, 6, 8]  # 6 and 8 were redone: once each


def test_every_checkpoint_damaged_refuses_unless_starting_over(tmp_path, capsys):
    make(tiny_config(steps=8), tmp_path / "run").fit()
    folder = tmp_path / "run" / "checkpoints"
    for _, path in ckpt.list_checkpoints(folder):
        damage(path)
    with pytest.raises(ckpt.UnreadableCheckpoints, match="none of the 2 checkpoint.*add --start-over"):
        make(tiny_config(steps=8), tmp_path / "run").fit()
    assert [s for s, _ in ckpt.list_checkpoints(folder)] == [4, 8]  # left as they were
    again = Trainer(tiny_config(steps=8), tmp_path / "run", data=tiny_images(), progress=False,
                    tensorboard=False, start_over=True)  # fmt: skip
    assert again.fit().step == 8 and "starting" in capsys.readouterr().err
    assert sorted(p.name for p in folder.glob("*.set-aside")) == [
        "step-000004.pt.set-aside",
        "step-000008.pt.set-aside",
    ]
    log = [json.loads(x) for x in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in log if "D_loss" in e] == [2, 4, 6, 8]


def test_edited_config_is_one_clear_error_and_keeps_the_checkpoints(tmp_path):
    make(tiny_config(steps=4), tmp_path / "run").fit()
    with pytest.raises(
        CheckpointError, match=r"model.g_channels: 4 in the checkpoint, 8 now\); restore config"
    ):
        make(tiny_config(steps=8, g_channels=8), tmp_path / "run").fit()
    assert ckpt.load_latest(tmp_path / "run" / "checkpoints")["step"] == 4
    # settings that do not change the result may change
    cfg = tiny_config(steps=8)
    cfg.train.threads, cfg.train.log_every, cfg.train.checkpoint_every = 1, 1, 2
    assert make(cfg, tmp_path / "run").fit().step == 8


def test_resume_drops_log_entries_past_the_checkpoint(tmp_path):
    make(tiny_config(steps=6), tmp_path / "run").fit()
    log = tmp_path / "run" / "log.jsonl"
    with open(log, "a") as f:  # as if killed at step 7 after logging 6 and half a line of 8
        f.write(json.dumps({"step": 7, "event": "rollback"}) + "\n" + '{"step": 8, "D_lo')
    cfg = tiny_config(steps=8)
    cfg.train.checkpoint_every = 4  # the newest checkpoint is 6 (the end of the first run)
    make(cfg, tmp_path / "run").fit()
    entries = [json.loads(x) for x in log.read_text().splitlines()]
    assert [e["step"] for e in entries if "D_loss" in e] == [2, 4, 6, 8]
    assert not any(e.get("event") == "rollback" for e in entries)


def test_tensorboard_purges_redone_steps(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "run"
    Trainer(tiny_config(steps=6), run, data=tiny_images(), progress=False).fit()
    Trainer(tiny_config(steps=8), run, data=tiny_images(), progress=False).fit()
    events = EventAccumulator(str(run / "tensorboard")).Reload()
    assert [e.step for e in events.Scalars("D_loss")] == [2, 4, 6, 8]
