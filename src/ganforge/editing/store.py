"""Direction files beside a bundle's weights: `directions.safetensors` (one unit vector per
direction, keyed by its name) and `directions.json` (format version, then per direction its method,
scale, space, layer group and caption). Both are checked on load: no pickles, names, shapes,
finiteness and the model's latent size, each failure one clear line.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ganforge.editing.directions import NAME, Direction
from ganforge.editing.model import GeneratorFacts
from ganforge.errors import CheckpointError, ConfigError
from ganforge.fileio import atomic_path, save_safetensors

DIRECTIONS_FORMAT = "ganforge-directions"
DIRECTIONS_VERSION = 1
WEIGHTS_FILE = "directions.safetensors"
INDEX_FILE = "directions.json"
METHODS = ("pca", "sefa", "classes", "labels")
SPACES = ("z", "w", "class")
LAYER_GROUPS = ("coarse", "middle", "fine")


@dataclass
class DirectionSet:
    """The directions of one bundle, by name, in the order they were saved."""

    directions: dict[str, Direction] = field(default_factory=dict)
    folder: Path | None = None

    def __len__(self) -> int:
        return len(self.directions)

    def names(self) -> list[str]:
        return list(self.directions)

    def get(self, name: str) -> Direction:
        if name not in self.directions:
            known = (
                ", ".join(self.names()[:12]) or "none saved yet (run `ganforge directions RUN --method pca`)"
            )
            raise ConfigError(f"unknown direction {name!r}; this model has: {known}")
        return self.directions[name]


def directions_folder(path: str | Path) -> Path:
    """The bundle folder of a bundle path or a run directory (where direction files live)."""
    path = Path(path)
    for folder in (path, path / "bundle"):
        if folder.is_dir() and (folder / "model.json").is_file():
            return folder
    raise CheckpointError(
        f"{path} is not a bundle or a run directory with a bundle; directions are kept in a bundle "
        "(finish training, or pass the run's bundle/ folder)"
    )


def valid_layers(text: str) -> bool:
    parts = [p.strip() for p in text.split(",")]
    return text == "all" or (bool(parts) and all(p in LAYER_GROUPS for p in parts))


def save_directions(folder: str | Path, new: list[Direction], replace: bool = True) -> DirectionSet:
    """Add `new` to the bundle's directions; with `replace`, first drop every saved direction of the
    same methods (a rerun of `--method pca` replaces the old PCA directions). Written atomically."""
    folder = Path(folder)
    current = load_directions(folder)
    methods = {d.method for d in new}
    kept = {n: d for n, d in current.directions.items() if not (replace and d.method in methods)}
    for d in new:
        _check_entry(d.name, d.method, d.scale, d.space, d.layers, folder / INDEX_FILE, ConfigError)
        if d.name in kept:
            raise ConfigError(
                f"direction name {d.name!r} is already used by a {kept[d.name].method} direction"
            )
        kept[d.name] = d
    spaces = {d.space for d in kept.values() if d.space != "class"}
    if len(spaces) > 1:
        raise ConfigError(f"directions in {folder} would mix latent spaces {sorted(spaces)}")
    tensors = {n: d.vector.detach().float().cpu().contiguous() for n, d in kept.items()}
    save_safetensors(folder / WEIGHTS_FILE, tensors, {"format": DIRECTIONS_FORMAT})
    index = {
        "format": DIRECTIONS_FORMAT,
        "version": DIRECTIONS_VERSION,
        "directions": [
            {
                "name": d.name,
                "method": d.method,
                "scale": float(d.scale),
                "space": d.space,
                "layers": d.layers,
                "label": d.label,
                "variance": d.variance,
                "dim": int(d.vector.numel()),
            }
            for d in kept.values()
        ],
    }
    with atomic_path(folder / INDEX_FILE) as tmp:
        Path(tmp).write_text(json.dumps(index, indent=1) + "\n")
    return DirectionSet(kept, folder)


def load_directions(folder: str | Path, facts: GeneratorFacts | None = None) -> DirectionSet:
    """The bundle's directions (an empty set when it has none), checked; with `facts`, also against
    the generator: latent space, vector length and number of classes."""
    folder = Path(folder)
    index_path, weights_path = folder / INDEX_FILE, folder / WEIGHTS_FILE
    if not index_path.exists() and not weights_path.exists():
        return DirectionSet({}, folder)
    if not index_path.is_file() or not weights_path.is_file():
        missing = index_path if not index_path.is_file() else weights_path
        raise CheckpointError(
            f"{missing} is missing; delete the other direction file and find directions again"
        )
    try:
        index = json.loads(index_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{index_path} is not valid JSON ({getattr(err, 'msg', err)})") from None
    if not isinstance(index, dict) or index.get("format") != DIRECTIONS_FORMAT:
        raise CheckpointError(f"{index_path} is not a {DIRECTIONS_FORMAT} file")
    if index.get("version") != DIRECTIONS_VERSION:
        raise CheckpointError(
            f"{index_path} has version {index.get('version')!r}; "
            f"this ganforge reads version {DIRECTIONS_VERSION}"
        )
    entries = index.get("directions")
    if not isinstance(entries, list):
        raise CheckpointError(f"{index_path}: 'directions' must be a list")
    try:
        from safetensors.torch import load_file

        tensors = load_file(str(weights_path))
    except Exception as err:  # safetensors raises its own error types for corrupt files
        raise CheckpointError(f"{weights_path} is not a safetensors file ({str(err)[:120]})") from None
    names = [e.get("name") if isinstance(e, dict) else None for e in entries]
    if len(set(map(str, names))) != len(names):
        raise CheckpointError(f"{index_path} names a direction twice")
    extra = sorted(set(tensors) - set(map(str, names)))
    if extra:
        raise CheckpointError(f"{weights_path} holds {extra[0]!r}, which {index_path.name} does not list")
    out: dict[str, Direction] = {}
    for entry in entries:
        d = _entry(entry, tensors, index_path)
        if facts is not None:
            _check_against(d, facts, index_path)
        out[d.name] = d
    return DirectionSet(out, folder)


def _entry(entry: Any, tensors: dict[str, torch.Tensor], where: Path) -> Direction:
    if not isinstance(entry, dict):
        raise CheckpointError(f"{where}: every direction must be an object")
    name, method, space = entry.get("name"), entry.get("method"), entry.get("space")
    scale, layers, label = entry.get("scale"), entry.get("layers", "all"), entry.get("label", "")
    _check_entry(name, method, scale, space, layers, where)
    if name not in tensors:
        raise CheckpointError(f"{where}: direction {name!r} has no vector in {WEIGHTS_FILE}")
    vector = tensors[name]
    if vector.dim() != 1 or vector.numel() == 0 or not vector.is_floating_point():
        raise CheckpointError(
            f"{where}: direction {name!r} must be a 1-D float vector, got {tuple(vector.shape)}"
        )
    if entry.get("dim") is not None and entry.get("dim") != vector.numel():
        raise CheckpointError(
            f"{where}: direction {name!r} has {vector.numel()} values, not {entry.get('dim')}"
        )
    if not torch.isfinite(vector).all():
        raise CheckpointError(f"{where}: direction {name!r} holds NaN or inf")
    if space != "class" and abs(float(vector.double().norm()) - 1.0) > 1e-3:
        raise CheckpointError(f"{where}: direction {name!r} is not a unit vector")
    variance = entry.get("variance")
    return Direction(
        name,
        method,
        vector.float(),
        float(scale),
        space,
        str(layers),
        str(label),
        float(variance) if isinstance(variance, int | float) else None,
    )


def _check_entry(
    name: Any, method: Any, scale: Any, space: Any, layers: Any, where: Path, error: type = CheckpointError
) -> None:
    if not isinstance(name, str) or not NAME.match(name):
        raise error(f"{where}: direction name {name!r} must be letters, digits, _ . - (e.g. pca:0, thick)")
    if method not in METHODS:
        raise error(
            f"{where}: direction {name!r} has method {method!r}; expected one of {', '.join(METHODS)}"
        )
    if space not in SPACES:
        raise error(f"{where}: direction {name!r} has space {space!r}; expected one of {', '.join(SPACES)}")
    ok = isinstance(scale, int | float) and not isinstance(scale, bool) and math.isfinite(scale) and scale > 0
    if not ok:
        raise error(f"{where}: direction {name!r} has scale {scale!r}; it must be a finite number > 0")
    if not isinstance(layers, str) or not valid_layers(layers):
        raise error(f"{where}: direction {name!r} has layers {layers!r}; use all, coarse, middle, fine")


def _check_against(d: Direction, facts: GeneratorFacts, where: Path) -> None:
    if d.space == "class":
        if d.vector.numel() != facts.num_classes:
            raise CheckpointError(
                f"{where}: class gene {d.name!r} has {d.vector.numel()} classes; "
                f"the model has {facts.num_classes}"
            )
        return
    if d.space != facts.space or d.vector.numel() != facts.latent_dim:
        raise CheckpointError(
            f"{where}: direction {d.name!r} lives in {d.space} ({d.vector.numel()} values) but the model's "
            f"edits use {facts.space} ({facts.latent_dim} values); were these found for another model?"
        )
    if d.layers != "all" and not facts.style_based:
        raise CheckpointError(f"{where}: direction {d.name!r} names layers, but the model has one latent")
