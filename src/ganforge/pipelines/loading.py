"""Find and load a generator from a bundle, a run directory or a checkpoint file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ganforge.bundle import load_bundle
from ganforge.config import RunConfig
from ganforge.errors import CheckpointError
from ganforge.recipes.base import ModelSpec
from ganforge.registry import load_all
from ganforge.training import checkpoint as ckpt


@dataclass
class LoadedGenerator:
    G: torch.nn.Module
    config: RunConfig
    class_names: list[str] | None
    source: Path
    step: int


def load_generator(path: str | Path, device: torch.device | str = "cpu") -> LoadedGenerator:
    """`path` may be a bundle folder, a run directory (its bundle, else its newest checkpoint),
    or one checkpoint file, or `hf:user/name` on the Hugging Face Hub. The EMA generator is used
    when there is one."""
    load_all()
    if isinstance(path, str) and path.startswith("hf:"):
        from ganforge.hub import pull  # optional [hub] extra; raises a one-line HubError without it

        path = pull(path)
    path = Path(path)
    if not path.exists():
        raise CheckpointError(
            f"{path} does not exist; pass a run directory, a bundle folder or a checkpoint file"
        )
    if path.is_dir() and (path / "model.json").is_file():
        return _from_bundle(path, device)
    if path.is_dir() and (path / "bundle" / "model.json").is_file():
        return _from_bundle(path / "bundle", device)
    if path.is_dir():
        state = ckpt.load_latest(path / "checkpoints")
        if state is None:
            raise CheckpointError(
                f"{path} has neither a bundle nor a checkpoint; is it a ganforge run directory?"
            )
        return _from_checkpoint(state, path, device)
    return _from_checkpoint(ckpt.load_checkpoint(path), path, device)


def _from_bundle(folder: Path, device: torch.device | str) -> LoadedGenerator:
    b = load_bundle(folder, device)
    name = next((n for n in b.models if n.endswith("_ema")), next(iter(b.models)))
    return LoadedGenerator(b.models[name], b.config, b.class_names, folder, b.step)


def _from_checkpoint(state: dict, source: Path, device: torch.device | str) -> LoadedGenerator:
    config = RunConfig.from_dict(state["config"])
    specs = state["specs"]
    name = "G_ema" if "G_ema" in state["models"] else "G"
    if "G" not in specs:
        raise CheckpointError(f"{source} holds no generator")
    G = ModelSpec.from_dict(specs["G"]).build()
    G.load_state_dict(state["models"][name])
    G = G.to(device).eval().requires_grad_(False)
    return LoadedGenerator(G, config, None, source, int(state["step"]))
