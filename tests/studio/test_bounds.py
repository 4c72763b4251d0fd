"""Every numeric parameter of the studio's API is bounded: hostile values get a 4xx JSON error (never
a 500, never a giant image), and the output size is computed from the grid actually drawn."""

import pytest
import torch

from ganforge.imaging import make_grid
from ganforge.studio.routes import grid_pixels


@pytest.mark.parametrize(
    "query, status, message",
    [
        ("count=2&nrow=2000&scale=16", 413, "over the limit of 100,000"),
        ("count=2&nrow=100000000", 422, "nrow: Input should be less than or equal to 4096"),
        ("count=100000000000000000000", 422, "count: Input should be less than or equal"),
        ("count=4&scale=17", 422, "scale: Input should be less than or equal to 16"),
        ("class_index=-1", 422, "class_index: Input should be greater than or equal to 0"),
        ("class_index=99999999999999999999", 422, "class_index: Input should be less than or equal"),
        ("seed=-1", 422, "seed: Input should be greater than or equal to 0"),
        ("truncation=nan", 422, "truncation"),
    ],
)
def test_generate_png_bounds(client, query, status, message):
    r = client.get(f"/api/generate.png?{query}")
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json" and message in r.json()["error"]


def test_generate_png_within_bounds_still_works(client):
    r = client.get("/api/generate.png?count=2&nrow=2&scale=2&class_index=0")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"


@pytest.mark.parametrize(
    "path, body, message",
    [
        ("/api/generate", {"seed": True}, "seed: Input should be a valid integer"),
        ("/api/generate", {"count": 2.0}, "count: Input should be a valid integer"),
        ("/api/generate", {"seeds": [1, False]}, "seeds.1: Input should be a valid integer"),
        ("/api/breed", {"parents": [{"seed": 1}, {"seed": 2}], "shares": [1e308, 1e308]}, "shares"),
        ("/api/breed", {"parents": [{"seed": 1}, {"seed": 2}], "shares": [-1, 1]}, "shares"),
        ("/api/breed", {"parents": [{"seed": True}]}, "parents.0.seed: Input should be a valid integer"),
        ("/api/interpolate", {"seeds": [1, 2], "fps": 0}, "fps: Input should be greater than or equal to 1"),
        ("/api/interpolate", {"seeds": [1, 2], "scale": True}, "scale: Input should be a valid integer"),
        ("/api/interpolate", {"seeds": [1, 2], "frames": 10**30}, "frames: Input should be less than"),
    ],
)
def test_json_bodies_refuse_coerced_and_overflowing_numbers(client, path, body, message):
    r = client.post(path, json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/json" and message in r.json()["error"]


def test_interpolation_output_size_is_checked(client):
    r = client.post("/api/interpolate", json={"seeds": [1, 2], "frames": 39, "scale": 16, "format": "png"})
    assert r.status_code == 413 and "over the limit" in r.json()["error"]


@pytest.mark.parametrize("n, nrow, scale", [(1, None, 1), (2, None, 3), (5, 2, 1), (2, 7, 2), (9, 3, 4)])
def test_grid_pixels_match_the_grid_drawn(n, nrow, scale):
    grid = make_grid(torch.zeros(n, 3, 6, 6), nrow=nrow, padding=2 if n > 1 else 0)
    assert grid_pixels(6, n, nrow, scale) == grid.shape[0] * grid.shape[1] * scale * scale
