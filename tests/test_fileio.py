import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from ganforge.fileio import atomic_path, save_safetensors


def test_atomic_path_replaces_on_success_and_keeps_the_old_file_on_error(tmp_path):
    path = tmp_path / "new" / "file.txt"  # the folder is created
    with atomic_path(path) as tmp:
        open(tmp, "w").write("one")
    assert path.read_text() == "one"
    with pytest.raises(RuntimeError, match="crash"), atomic_path(path) as tmp:
        open(tmp, "w").write("half")
        raise RuntimeError("crash")
    assert path.read_text() == "one"
    assert sorted(p.name for p in path.parent.iterdir()) == ["file.txt"]  # no temp file left


def test_save_safetensors_writes_contiguous_tensors_and_metadata(tmp_path):
    weight = torch.arange(12.0).view(3, 4).t()  # not contiguous
    save_safetensors(tmp_path / "w.safetensors", {"w": weight}, {"note": "x"})
    assert torch.equal(load_file(str(tmp_path / "w.safetensors"))["w"], weight)
    with safe_open(str(tmp_path / "w.safetensors"), "pt") as f:
        assert f.metadata() == {"note": "x"}
