import pytest

from ganforge.errors import ConfigError
from ganforge.training import checkpoint as ckpt
from ganforge.training.rundir import latest_run_dir, new_run_dir


def test_run_dirs_are_numbered(tmp_path):
    a = new_run_dir(tmp_path, "dcgan-mnist")
    b = new_run_dir(tmp_path, "my data/x")
    assert a.name == "00000-dcgan-mnist" and b.name == "00001-my-data-x"
    (tmp_path / "00007-old").mkdir()
    assert new_run_dir(tmp_path, "x").name == "00008-x"
    assert latest_run_dir(tmp_path).name == "00008-x"
    with pytest.raises(ConfigError, match="no runs in"):
        latest_run_dir(tmp_path / "empty")


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
