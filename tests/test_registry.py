import pytest

from ganforge.errors import ConfigError
from ganforge.registry import MODELS, RECIPES, Registry, create_model, load_all


def test_duplicate_name_raises():
    reg = Registry("thing")
    reg.add("a", 1)
    with pytest.raises(KeyError, match="thing 'a' is already registered"):
        reg.add("a", 2)
    assert reg.get("a") == 1


def test_unknown_name_suggests_close_matches():
    reg = Registry("recipe")
    for name in ("dcgan", "gan", "cyclegan"):
        reg.add(name, name)
    with pytest.raises(ConfigError) as err:
        reg.get("dcgna")
    assert "unknown recipe 'dcgna'; did you mean dcgan" in str(err.value)
    assert reg.names() == ["cyclegan", "dcgan", "gan"]
    assert "gan" in reg and len(reg) == 3


def test_project_registries_are_populated():
    load_all()
    assert {"gan", "dcgan"} <= set(RECIPES.names())
    assert {"dcgan.G", "dcgan.D", "gan_mlp.G", "gan_mlp.D"} <= set(MODELS.names())
    G = create_model("dcgan.G", z_dim=8, img_channels=3, img_size=16, base_channels=4)
    assert (G.z_dim, G.img_channels, G.img_size) == (8, 3, 16)


def test_a_lookup_finds_what_is_registered_where_it_is_defined():
    """The registry imports no family: asked for a name it lacks, it imports the packages its entries
    are defined in (`homes`), and those import every module of theirs, so a new family's file needs
    no import line anywhere (issue #20)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys\n"
        "from ganforge.config import RunConfig\n"
        "assert 'ganforge.recipes' not in sys.modules\n"
        "cfg = RunConfig(recipe='stylegan')\n"
        "print(type(cfg.model).__name__)\n"
        "import pkgutil, ganforge.models, ganforge.recipes\n"
        "from ganforge.registry import MODELS\n"
        "assert 'dcgan.G' in MODELS\n"
        "for pkg in (ganforge.models, ganforge.recipes):\n"
        "    for m in pkgutil.iter_modules(pkg.__path__):\n"
        "        assert f'{pkg.__name__}.{m.name}' in sys.modules, m.name\n"
    )
    src = Path(__file__).resolve().parents[1] / "src"
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "StyleGANConfig"


def test_discovery_imports_each_home_once(monkeypatch):
    imported = []
    monkeypatch.setattr("importlib.import_module", lambda name: imported.append(name))
    reg = Registry("thing", homes=("pkg.a", "pkg.b"))
    with pytest.raises(ConfigError, match="unknown thing 'x'"):
        reg.get("x")
    assert reg.names() == [] and imported == ["pkg.a", "pkg.b"]
