import os
import stat

import pytest
import torch

from conftest import tiny_config
from ganforge.errors import CheckpointError, ConfigError
from ganforge.training import checkpoint as ckpt
from ganforge.training.rundir import latest_run_dir, new_run_dir


def test_run_dirs_are_numbered_and_appear_with_their_config(tmp_path):
    cfg = tiny_config()
    a = new_run_dir(tmp_path, "dcgan-mnist", cfg)
    b = new_run_dir(tmp_path, "my data/x", cfg)
    assert a.name == "00000-dcgan-mnist" and b.name == "00001-my-data-x"
    assert (a / "config.json").read_text() == (b / "config.json").read_text()
    assert '"recipe": "dcgan"' in (a / "config.json").read_text()
    (tmp_path / "00007-old").mkdir()  # an empty folder (a failed start of an older version): not a run
    (tmp_path / "00009-notes.txt").write_text("a file, not a run")
    assert new_run_dir(tmp_path, "x", cfg).name == "00010-x"
    assert latest_run_dir(tmp_path).name == "00010-x"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "00000-dcgan-mnist", "00001-my-data-x", "00007-old", "00009-notes.txt", "00010-x"
    ]  # fmt: skip
    with pytest.raises(ConfigError, match="no runs in"):
        latest_run_dir(tmp_path / "empty")


def test_resume_last_skips_folders_that_are_not_runs(tmp_path):
    run = new_run_dir(tmp_path, "a", tiny_config())
    (tmp_path / "00005-empty").mkdir()
    (tmp_path / "00006-half").mkdir()
    (tmp_path / "00006-half" / "checkpoints").mkdir()
    assert latest_run_dir(tmp_path) == run
    (tmp_path / "00000-a" / "config.json").unlink()
    with pytest.raises(ConfigError, match="no runs in"):
        latest_run_dir(tmp_path)


def test_prune_keeps_newest(tmp_path):
    for step in (0, 5, 10, 15):
        ckpt.atomic_save({"format": ckpt.FORMAT, "step": step}, ckpt.checkpoint_path(tmp_path, step))
    ckpt.prune(tmp_path, keep=2)
    assert [s for s, _ in ckpt.list_checkpoints(tmp_path)] == [10, 15]
    assert ckpt.load_latest(tmp_path)["step"] == 15


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("writer", ["torch.save", "pickle.dump"])
def test_a_pickle_holding_code_is_refused_in_plain_words(tmp_path, writer):
    import pickle

    import torch

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "step-000001.pt"
    state = {"format": ckpt.FORMAT, "x": Evil()}
    if writer == "torch.save":
        torch.save(state, path)
    else:
        with open(path, "wb") as f:
            pickle.dump(state, f)
    with pytest.raises(ckpt.CheckpointError) as err:
        ckpt.load_checkpoint(path)
    assert str(err.value) == (
        f"{path} holds Python code (a pickle that would run it when loaded), not only tensors; "
        "it was not loaded. Use checkpoints written by ganforge, or bundles (safetensors)"
    )


def test_damaged_bytes_fail_the_checksum_and_fall_back(tmp_path, capsys):
    """64 random bytes written over a checkpoint in place (at any offset) make it unreadable; the older
    one loads, and the fallback is said once."""
    state = {"format": ckpt.FORMAT, "step": 0, "w": torch.linspace(-1, 1, 4096)}
    ckpt.atomic_save(state, ckpt.checkpoint_path(tmp_path, 0))
    newest = ckpt.checkpoint_path(tmp_path, 5)
    original = None
    g = torch.Generator().manual_seed(0)
    for offset_fraction in (0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99):
        ckpt.atomic_save({**state, "step": 5}, newest)
        original = original or newest.read_bytes()
        data = bytearray(original)
        at = min(int(len(data) * offset_fraction), len(data) - 64)
        data[at : at + 64] = bytes(torch.randint(0, 256, (64,), generator=g, dtype=torch.uint8).tolist())
        newest.write_bytes(bytes(data))
        with pytest.raises(CheckpointError, match="damaged|cannot be loaded safely"):
            ckpt.load_checkpoint(newest)
        loaded = ckpt.load_latest(tmp_path)
        assert loaded["step"] == 0 and torch.equal(loaded["w"], state["w"])
        err = capsys.readouterr().err
        assert f"checkpoint {newest} " in err and err.count("trying an older checkpoint") == 1


def test_every_checkpoint_unreadable_is_an_error_not_a_fresh_start(tmp_path):
    for step in (0, 4):
        path = ckpt.checkpoint_path(tmp_path, step)
        ckpt.atomic_save({"format": ckpt.FORMAT, "step": step}, path)
        path.write_bytes(path.read_bytes()[:-3] + b"xx\n")
    with pytest.raises(ckpt.UnreadableCheckpoints, match=r"none of the 2 checkpoint\(s\) .* can be loaded"):
        ckpt.load_latest(tmp_path)
    assert ckpt.load_latest(tmp_path / "none") is None  # no checkpoints at all: a fresh run


def test_checkpoint_from_before_checksums_still_loads(tmp_path):
    path = tmp_path / "step-000003.pt"
    torch.save({"format": "ganforge-checkpoint/1", "step": 3}, path)
    assert ckpt.load_checkpoint(path)["step"] == 3
    torch.save({"format": ckpt.FORMAT, "step": 3}, path)  # a current checkpoint that lost its trailer
    with pytest.raises(CheckpointError, match="trailer is missing"):
        ckpt.load_checkpoint(path)


def test_full_disk_is_one_line_and_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = ckpt.checkpoint_path(tmp_path, 0)
    ckpt.atomic_save({"format": ckpt.FORMAT, "step": 0}, path)

    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(CheckpointError) as caught:
        ckpt.atomic_save({"format": ckpt.FORMAT, "step": 4}, ckpt.checkpoint_path(tmp_path, 4))
    monkeypatch.undo()
    message = str(caught.value)
    assert (
        "\n" not in message
        and "No space left on device" in message
        and "earlier checkpoints are intact" in message
    )
    assert [s for s, _ in ckpt.list_checkpoints(tmp_path)] == [0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-000000.pt"]  # no temp file left
    assert ckpt.load_latest(tmp_path)["step"] == 0


def test_checkpoints_follow_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        path = ckpt.checkpoint_path(tmp_path, 0)
        ckpt.atomic_save({"format": ckpt.FORMAT, "step": 0}, path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
