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


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_files_get_the_users_umask_not_mkstemps_0600(tmp_path, umask, mode):
    import os
    import stat

    from conftest import tiny_config
    from ganforge import bundle
    from ganforge.recipes.base import ModelSpec

    old = os.umask(umask)
    try:
        with atomic_path(tmp_path / "out.png") as tmp:
            open(tmp, "wb").write(b"png")
        save_safetensors(tmp_path / "w.safetensors", {"w": torch.zeros(2)}, {})
        net = torch.nn.Linear(2, 2)
        folder = bundle.write_bundle(
            tmp_path / "bundle", tiny_config(), {"G_ema": net},
            {"G_ema": ModelSpec("none", {})}, None, step=0, images_seen=0,
        )  # fmt: skip
    finally:
        os.umask(old)
    for path in (tmp_path / "out.png", tmp_path / "w.safetensors", folder / "G_ema.safetensors"):
        assert stat.S_IMODE(path.stat().st_mode) == mode, path
