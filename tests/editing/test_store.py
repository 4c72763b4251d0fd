"""Direction files: round trips, replacement by method, and every validation error."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from ganforge.editing.directions import Direction
from ganforge.editing.model import GeneratorFacts
from ganforge.editing.store import (
    INDEX_FILE,
    WEIGHTS_FILE,
    directions_folder,
    load_directions,
    save_directions,
)
from ganforge.errors import CheckpointError, ConfigError

FACTS = GeneratorFacts(False, "z", 4, 3, 0, ())


def unit(i: int, d: int = 4) -> torch.Tensor:
    return torch.eye(d)[i]


def pcs() -> list[Direction]:
    return [Direction(f"pca:{i}", "pca", unit(i), 1.0 + i, "z", "all", f"PCA {i}", 2.0 - i) for i in range(2)]


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "model.json").write_text("{}")
    return tmp_path


def test_round_trip_and_replacement_by_method(folder):
    save_directions(folder, pcs())
    save_directions(folder, [Direction("thick", "labels", unit(3), 0.9, "z", label="more thick")])
    loaded = load_directions(folder, FACTS)
    assert loaded.names() == ["pca:0", "pca:1", "thick"]
    assert loaded.get("pca:1").vector.equal(unit(1)) and loaded.get("pca:1").scale == 2.0
    assert loaded.get("thick").label == "more thick" and loaded.get("pca:0").variance == 2.0
    save_directions(folder, [Direction("pca:0", "pca", unit(2), 1.5, "z")])  # a rerun replaces pca
    assert load_directions(folder).names() == ["thick", "pca:0"]
    index = json.loads((folder / INDEX_FILE).read_text())
    assert index["format"] == "ganforge-directions" and index["version"] == 1
    with pytest.raises(ConfigError, match="unknown direction 'pca:5'; this model has: thick, pca:0"):
        load_directions(folder).get("pca:5")


def test_no_files_is_an_empty_set_and_the_folder_is_found(folder, tmp_path_factory):
    assert len(load_directions(folder)) == 0
    run = tmp_path_factory.mktemp("run")
    (run / "bundle").mkdir()
    (run / "bundle" / "model.json").write_text("{}")
    assert directions_folder(run) == run / "bundle"
    with pytest.raises(CheckpointError, match="is not a bundle or a run directory with a bundle"):
        directions_folder(run / "checkpoints")


def test_saving_bad_directions_is_refused(folder):
    with pytest.raises(ConfigError, match="direction name 'bad name'"):
        save_directions(folder, [Direction("bad name", "pca", unit(0), 1.0, "z")])
    with pytest.raises(ConfigError, match="scale -1.0; it must be a finite number > 0"):
        save_directions(folder, [Direction("a", "pca", unit(0), -1.0, "z")])
    with pytest.raises(ConfigError, match="would mix latent spaces"):
        save_directions(
            folder, [Direction("a", "pca", unit(0), 1.0, "z"), Direction("b", "sefa", unit(0), 1.0, "w")]
        )
    assert not (folder / INDEX_FILE).exists()


def rewrite(folder, change):
    index = json.loads((folder / INDEX_FILE).read_text())
    change(index)
    (folder / INDEX_FILE).write_text(json.dumps(index))


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda i: i.update(format="other"), "is not a ganforge-directions file"),
        (lambda i: i.update(version=7), "has version 7; this ganforge reads version 1"),
        (lambda i: i["directions"][0].update(method="magic"), "has method 'magic'"),
        (lambda i: i["directions"][0].update(scale=float("inf")), "it must be a finite number > 0"),
        (lambda i: i["directions"][0].update(layers="middle-ish"), "has layers 'middle-ish'"),
        (lambda i: i["directions"][1].update(name="pca:0"), "names a direction twice"),
        (lambda i: i["directions"].pop(), "holds 'pca:1', which directions.json does not list"),
        (lambda i: i["directions"][0].update(dim=5), "has 4 values, not 5"),
    ],
)
def test_bad_index_files_name_the_problem(folder, change, message):
    save_directions(folder, pcs())
    rewrite(folder, change)
    with pytest.raises(CheckpointError, match=message):
        load_directions(folder)


def test_bad_weight_files_name_the_problem(folder):
    save_directions(folder, pcs())
    save_file({"pca:0": unit(0) * 2, "pca:1": unit(1)}, str(folder / WEIGHTS_FILE))
    with pytest.raises(CheckpointError, match="'pca:0' is not a unit vector"):
        load_directions(folder)
    save_file({"pca:0": torch.full((4,), float("nan")), "pca:1": unit(1)}, str(folder / WEIGHTS_FILE))
    with pytest.raises(CheckpointError, match="'pca:0' holds NaN or inf"):
        load_directions(folder)
    save_file({"pca:0": torch.eye(4), "pca:1": unit(1)}, str(folder / WEIGHTS_FILE))
    with pytest.raises(CheckpointError, match="must be a 1-D float vector, got \\(4, 4\\)"):
        load_directions(folder)
    (folder / WEIGHTS_FILE).write_bytes(b"\x80\x04not safetensors")  # e.g. a pickle
    with pytest.raises(CheckpointError, match="is not a safetensors file"):
        load_directions(folder)
    (folder / WEIGHTS_FILE).unlink()
    with pytest.raises(CheckpointError, match="directions.safetensors is missing"):
        load_directions(folder)
    (folder / INDEX_FILE).write_text("{not json")
    save_file({"pca:0": unit(0)}, str(folder / WEIGHTS_FILE))
    with pytest.raises(CheckpointError, match="is not valid JSON"):
        load_directions(folder)


def test_directions_are_checked_against_the_model(folder):
    save_directions(folder, pcs())
    with pytest.raises(
        CheckpointError, match="lives in z \\(4 values\\) but the model's edits use w \\(8 values\\)"
    ):
        load_directions(folder, GeneratorFacts(True, "w", 8, 0, 5, ("coarse", "middle", "fine")))
    save_directions(folder, [Direction("class:0", "classes", unit(0, 2), 1.0, "class")])
    with pytest.raises(CheckpointError, match="class gene 'class:0' has 2 classes; the model has 3"):
        load_directions(folder, FACTS)
