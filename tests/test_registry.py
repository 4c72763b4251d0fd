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
