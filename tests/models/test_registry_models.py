"""Every registered model, built from its `tiny` metadata: forward, shapes, range, backward, determinism."""

from __future__ import annotations

import inspect
import json

import pytest
import torch

import ganforge.models  # noqa: F401  (registers every model)
from ganforge.registry import MODELS, create_model

NAMES = MODELS.names()


def _is_generator(model: torch.nn.Module) -> bool:
    return hasattr(model, "z_dim")


def _build(name: str, **overrides) -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model(name, **{**MODELS.entry(name).meta["tiny"], **overrides})


def _variants(name: str) -> list[dict]:
    """The tiny config, plus a class-conditional one when the model takes `num_classes`."""
    params = inspect.signature(MODELS.get(name)).parameters
    return [{}, {"num_classes": 3}] if "num_classes" in params else [{}]


def test_registry_is_populated():
    assert {"gan_mlp.G", "gan_mlp.D", "dcgan.G", "dcgan.D"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_constructor_is_a_json_config(name):
    """The typed __init__ is the config: keyword args with JSON-serializable defaults, and `tiny` works."""
    entry = MODELS.entry(name)
    assert "tiny" in entry.meta, f"{name} has no `tiny` metadata"
    params = list(inspect.signature(entry.obj).parameters.values())
    defaults = {}
    for p in params:
        assert p.default is not inspect.Parameter.empty, f"{name}: argument {p.name} needs a default"
        assert p.annotation is not inspect.Parameter.empty, f"{name}: argument {p.name} needs a type hint"
        defaults[p.name] = p.default
    config = {**defaults, **entry.meta["tiny"]}
    assert json.loads(json.dumps(config)) == config
    assert set(entry.meta["tiny"]) <= set(defaults)


@pytest.mark.parametrize("name", NAMES)
def test_forward_backward(name):
    for overrides in _variants(name):
        model = _build(name, **overrides)
        inputs = model.example_inputs(4, torch.Generator().manual_seed(0))
        if getattr(model, "num_classes", 0):
            assert len(inputs) == 2 and inputs[1].dtype == torch.int64
        out = model(*inputs)
        kind = MODELS.entry(name).meta.get("kind")
        if isinstance(out, tuple):  # models that also return features: the first output is the main one
            out = out[0]
        if kind == "image-to-image":
            assert out.dim() == 4 and out.shape[0] == 4
        elif kind == "patch-discriminator":
            assert out.dim() == 4 and out.shape[:2] == (4, 1)
        elif kind is not None:  # encoders, classifiers: one row per image
            assert out.shape[0] == 4
        elif _is_generator(model):
            assert out.shape == (4, model.img_channels, model.img_size, model.img_size)
            assert out.min() >= -1 and out.max() <= 1
        else:
            assert out.shape == (4,)
        assert torch.isfinite(out).all()
        out.mean().backward()
        aux = MODELS.entry(name).meta.get("aux_params", ())  # parameters only other methods use
        for pname, p in model.named_parameters():
            if pname.startswith(tuple(aux)):
                continue
            assert p.grad is not None, f"{name} {overrides}: {pname} got no gradient"
            assert torch.isfinite(p.grad).all(), f"{name} {overrides}: {pname} has a non-finite gradient"
        assert any(p.grad.abs().sum() > 0 for p in model.parameters())


@pytest.mark.parametrize("name", NAMES)
def test_deterministic(name):
    """Same seed -> same weights, same example inputs, same outputs (train mode included, dropout too)."""
    outputs = []
    for _ in range(2):
        model = _build(name)
        inputs = model.example_inputs(4, torch.Generator().manual_seed(1))
        torch.manual_seed(2)
        train_out = model(*inputs)
        model.eval()
        outputs.append((train_out, model(*inputs)))
    assert torch.equal(outputs[0][0], outputs[1][0])
    assert torch.equal(outputs[0][1], outputs[1][1])


@pytest.mark.parametrize("name", NAMES)
def test_wrong_labels_raise(name):
    model = _build(name)
    inputs = model.example_inputs(2, torch.Generator().manual_seed(0))
    if "num_classes" not in inspect.signature(type(model)).parameters:
        pytest.skip("model has no class-conditional variant")
    with pytest.raises(ValueError, match="unconditional"):
        model(inputs[0], torch.zeros(2, dtype=torch.int64))
    conditional = _build(name, num_classes=3)
    with pytest.raises(ValueError, match="class-conditional"):
        conditional(inputs[0])
