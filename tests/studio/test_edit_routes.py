"""The studio's genes API: directions, edits (JSON and PNG), validation, and breeding that passes
gene values on by share and replays exactly through /api/edit."""

from __future__ import annotations

import base64

import pytest
import torch
from fastapi.testclient import TestClient

from conftest import tiny_config, tiny_images
from ganforge.editing.directions import pca
from ganforge.editing.store import save_directions
from ganforge.imaging import to_uint8
from ganforge.pipelines import GeneratePipeline, load_generator
from ganforge.studio import StudioLimits, create_app
from ganforge.training.trainer import Trainer


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    run = tmp_path_factory.mktemp("genes") / "digits"
    threads = torch.get_num_threads()
    Trainer(
        tiny_config(steps=2, conditional=True),
        run,
        data=tiny_images(classes=3),
        progress=False,
        tensorboard=False,
    ).fit()
    torch.set_num_threads(threads)
    G = load_generator(run).G
    save_directions(run / "bundle", pca(G, k=3, n=100))
    return run / "bundle"


@pytest.fixture(scope="module")
def client(bundle):
    app = create_app([bundle], StudioLimits(timeout_s=60))
    with TestClient(app) as c:
        yield c


def png_pixels(data: bytes) -> torch.Tensor:
    import io

    import numpy as np
    from PIL import Image

    return torch.from_numpy(np.array(Image.open(io.BytesIO(data)).convert("L")))


def from_data_url(url: str) -> bytes:
    assert url.startswith("data:image/png;base64,")
    return base64.b64decode(url.split(",", 1)[1])


def test_directions_lists_the_saved_ones_and_the_class_count(client):
    body = client.get("/api/directions", params={"model": "digits"}).json()
    assert [d["name"] for d in body["directions"]] == ["pca:0", "pca:1", "pca:2"]
    first = body["directions"][0]
    assert set(first) == {"name", "method", "scale", "layers", "label"}
    assert first["method"] == "pca" and first["layers"] == "all" and first["scale"] > 0
    assert body["classes"] == 3
    assert client.get("/api/directions", params={"model": "nope"}).status_code == 404


def test_edit_at_strength_zero_is_the_sample_and_png_matches_json(client, bundle):
    G = load_generator(bundle).G
    sample = to_uint8(GeneratePipeline(G)(1, seed=5, class_index=2).images)[0, 0]
    r = client.post("/api/edit", json={"model": "digits", "seed": 5, "class": 2, "genes": {"pca:0": 0}})
    assert r.status_code == 200 and r.json()["genes"] == {"pca:0": 0.0}
    assert png_pixels(from_data_url(r.json()["image"])).equal(sample)
    edited = client.post("/api/edit", json={"seed": 5, "class": 2, "genes": {"pca:0": 2.5, "class:1": 0.6}})
    png = client.post("/api/edit.png", json={"seed": 5, "class": 2, "genes": {"pca:0": 2.5, "class:1": 0.6}})
    assert png.headers["content-type"] == "image/png"
    assert png.content == from_data_url(edited.json()["image"])
    assert not png_pixels(png.content).equal(sample)


@pytest.mark.parametrize(
    "body, message",
    [
        ({"seed": 1, "genes": {"smile": 1}}, "unknown direction 'smile'"),
        ({"seed": 1, "genes": {"pca:0": "a lot"}}, "genes.pca:0"),
        ({"seed": 1, "genes": {"pca:0": 1000}}, "genes.pca:0"),
        ({"seed": 1, "genes": {"class:1": 1.5}}, "must lie in [0, 1]"),
        ({"seed": 1, "class": 9}, "--class 9 is out of range"),
        ({"seed": -1}, "seed"),
        ({"seed": 1, "latent": [0.0] * 8}, "either as a seed or as a latent"),
        ({"latent": [0.0] * 5}, "edits z latents of 8 values"),
        ({"seed": 1, "layers": "coarse"}, "--layers needs a style-based generator"),
        ({"seed": 1, "colour": 3}, "colour"),
        ({"seed": 1, "genes": {f"pca:{i}": 0 for i in range(65)}}, "genes"),
    ],
)
def test_bad_edits_are_422_with_a_message(client, body, message):
    r = client.post("/api/edit", json=body)
    assert r.status_code == 422 and message in r.json()["error"], r.json()


def test_non_finite_strengths_are_refused(client):
    raw = b'{"seed": 1, "genes": {"pca:0": NaN}}'
    r = client.post("/api/edit", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422 and "finite" in r.json()["error"]
    raw = b'{"latent": [Infinity, 0, 0, 0, 0, 0, 0, 0]}'
    r = client.post("/api/edit", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422


def test_children_inherit_genes_by_share_and_replay_exactly(client):
    parents = [
        {"seed": 1, "class_index": 0, "genes": {"pca:0": 2.0, "class:2": 0.5}},
        {"seed": 2, "class_index": 1, "genes": {"pca:1": -1.0}},
    ]
    r = client.post("/api/edit/breed", json={"parents": parents, "shares": [3, 1], "count": 2, "seed": 4})
    assert r.status_code == 200, r.json()
    children = r.json()["children"]
    assert len(children) == 2
    for child in children:
        assert child["genes"] == {"class:2": 0.375, "pca:0": 1.5, "pca:1": -0.25}
        assert child["class_index"] == 0  # the main parent's class
        replay = client.post(
            "/api/edit", json={"latent": child["z"], "class": child["class_index"], "genes": child["genes"]}
        ).json()
        assert replay["image"] == child["png"]  # the lineage entry reproduces the image exactly
    plain = client.post(
        "/api/breed",
        json={
            "parents": [{"seed": 1, "class_index": 0}, {"seed": 2, "class_index": 1}],
            "shares": [3, 1],
            "count": 2,
            "seed": 4,
        },
    ).json()
    assert [c["z"] for c in plain["children"]] == [
        c["z"] for c in children
    ]  # genes do not change the latents
    bad = client.post("/api/edit/breed", json={"parents": [{"seed": 1, "genes": {"smile": 1}}], "count": 1})
    assert bad.status_code == 422 and "unknown direction 'smile'" in bad.json()["error"]
