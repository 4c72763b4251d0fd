"""Find and load a generator from a bundle, a run directory or a checkpoint file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ganforge.bundle import build_checked, capabilities_of, derive_capabilities, load_bundle
from ganforge.capabilities import Capabilities
from ganforge.config import RunConfig
from ganforge.errors import CheckpointError
from ganforge.registry import ModelSpec, load_all
from ganforge.training import checkpoint as ckpt


@dataclass
class LoadedGenerator:
    G: torch.nn.Module
    config: RunConfig
    class_names: list[str] | None
    source: Path
    step: int
    capabilities: Capabilities | None = None


def load_generator(
    path: str | Path, device: torch.device | str = "cpu", verb: str | None = "sample"
) -> LoadedGenerator:
    """`path` may be a bundle folder, a run directory (its bundle, else its newest checkpoint),
    or one checkpoint file, or `hf:user/name` on the Hugging Face Hub. The EMA generator is used
    when there is one. The model must be able to do what `verb` does (a WrongModelError naming the
    verb that fits, before any weights load, where it cannot); None skips the check."""
    load_all()
    ref = path
    if isinstance(path, str) and path.startswith("hf:"):
        from ganforge.hub import pull  # optional [hub] extra; raises a one-line HubError without it

        path = pull(path)
    path = Path(path)
    if not path.exists():
        raise CheckpointError(
            f"{path} does not exist; pass a run directory, a bundle folder or a checkpoint file"
        )
    if path.is_dir() and (path / "model.json").is_file():
        return _from_bundle(path, device, verb, ref)
    if path.is_dir() and (path / "bundle" / "model.json").is_file():
        return _from_bundle(path / "bundle", device, verb, ref)
    if path.is_dir():
        if verb and (path / "config.json").is_file():  # refuse the wrong kind before reading weights
            _require(RunConfig.load(path / "config.json"), verb, ref)
        state = ckpt.load_latest(path / "checkpoints")
        if state is None:
            raise CheckpointError(
                f"{path} has neither a bundle nor a checkpoint; is it a ganforge run directory?"
            )
        return _from_checkpoint(state, path, device, verb, ref)
    return _from_checkpoint(ckpt.load_checkpoint(path), path, device, verb, ref)


def model_capabilities(path: str | Path) -> Capabilities | None:
    """What the model at `path` (a bundle folder, or a run directory with a bundle or a config.json)
    can do, read without loading weights; None where that cannot be told cheaply (a checkpoint
    file, a Hub name)."""
    if isinstance(path, str) and path.startswith("hf:"):
        return None
    path = Path(path)
    for folder in (path, path / "bundle"):
        if folder.is_dir() and (folder / "model.json").is_file():
            return capabilities_of(folder)
    if path.is_dir() and (path / "config.json").is_file():
        load_all()
        return derive_capabilities(RunConfig.load(path / "config.json"), 0)
    return None


def _require(config: RunConfig, verb: str, ref: object) -> Capabilities:
    caps = derive_capabilities(config, 0)
    caps.require(verb, ref)
    return caps


def _from_bundle(folder: Path, device: torch.device | str, verb: str | None, ref: object) -> LoadedGenerator:
    if verb:
        capabilities_of(folder).require(verb, ref)  # from model.json alone: no weights are read
    b = load_bundle(folder, device)
    name = next((n for n in b.models if n.endswith("_ema")), next(iter(b.models)))
    return LoadedGenerator(b.models[name], b.config, b.class_names, folder, b.step, b.capabilities)


def _from_checkpoint(
    state: dict, source: Path, device: torch.device | str, verb: str | None, ref: object
) -> LoadedGenerator:
    config = RunConfig.from_dict(state["config"])
    caps = _require(config, verb, ref) if verb else None
    specs = state["specs"]
    name = "G_ema" if "G_ema" in state["models"] else "G"
    if "G" not in specs:
        raise CheckpointError(f"{source} holds no generator")
    G = build_checked(ModelSpec.from_dict(specs["G"]), f"{source} (G)")  # sizes checked before allocating
    G.load_state_dict(state["models"][name])
    G = G.to(device).eval().requires_grad_(False)
    return LoadedGenerator(G, config, None, source, int(state["step"]), caps)
