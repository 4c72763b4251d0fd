"""`POST /api/mix`: style-mixing grids in the per-group latent space, equal to `ganforge mix`'s w-space
mixes, with every cell re-renderable from its latent."""

import torch

from ganforge.models.stylegan import StyleGANGenerator
from ganforge.pipelines.generate import latents
from ganforge.pipelines.mix import StyleMixPipeline
from ganforge.studio.mix_routes import mix_latents


def test_group_mixing_equals_the_style_mix_pipeline():
    torch.manual_seed(0)
    G = StyleGANGenerator(
        z_dim=8, w_dim=8, img_size=16, channel_base=64, max_channels=8, mapping_layers=2
    ).eval()
    rows, cols = [1, 2], [3, 4, 5]
    expected = StyleMixPipeline(G)(rows, cols, layers="middle", truncation_psi=0.7).mixes  # (2, 3, C, H, W)
    z = lambda seeds: torch.cat([latents(1, 8, s) for s in seeds])[:, None, :].expand(-1, 3, -1)  # noqa: E731
    cells = mix_latents(z(rows), z(cols), [1])  # (2, 3, groups, z_dim)
    with torch.no_grad():
        got = G.forward_groups(cells.flatten(0, 1), truncation_psi=0.7).view(expected.shape)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


def test_mix_grid_cells_take_the_chosen_groups_from_the_column(api):
    body = {
        "model": "style",
        "rows": [{"seed": 1}, {"seed": 2}],
        "cols": [{"seed": 3}, {"seed": 4}, {"seed": 5}],
        "layers": ["coarse", "fine"],
        "truncation": 0.8,
    }
    r = api.post("/api/mix", json=body)
    assert r.status_code == 200, r.text
    grid = r.json()
    assert grid["layers"] == ["coarse", "fine"] and len(grid["rows"]) == 2 and len(grid["cols"]) == 3
    assert [len(row) for row in grid["cells"]] == [3, 3]
    cell, row, col = grid["cells"][1][2], grid["rows"][1], grid["cols"][2]
    assert cell["z"][0] == col["z"][0] and cell["z"][2] == col["z"][2] and cell["z"][1] == row["z"][1]
    again = api.post("/api/generate", json={"model": "style", "z": [cell["z"]], "truncation": 0.8}).json()
    assert again["images"][0]["png"] == cell["png"]  # a cell joins the tree by its latent alone
    # the stand-in paints group k into channel k: coarse and fine channels come from the column
    seed_rows = api.post("/api/generate", json={"model": "style", "seeds": [2, 5], "truncation": 0.8}).json()
    assert row["png"] == seed_rows["images"][0]["png"] and col["png"] == seed_rows["images"][1]["png"]


def test_mix_takes_bred_latents_and_refuses_what_it_cannot_mix(api):
    child = api.post("/api/breed", json={"model": "style", "parents": [{"seed": 1}, {"seed": 2}], "count": 1})
    z = child.json()["children"][0]["z"]
    r = api.post(
        "/api/mix", json={"model": "style", "rows": [{"z": z}], "cols": [{"seed": 9}], "layers": ["middle"]}
    )
    assert r.status_code == 200 and r.json()["rows"][0]["z"] == [z, z, z]  # a plain latent drives every group
    r = api.post("/api/mix", json={"model": "digits", "rows": [{"seed": 1}], "cols": [{"seed": 2}]})
    assert r.status_code == 400 and "not style-based" in r.json()["error"]
    r = api.post(
        "/api/mix", json={"model": "style", "rows": [{"seed": 1}], "cols": [{"seed": 2}], "layers": ["top"]}
    )
    assert (
        r.status_code == 400 and r.json()["error"] == "layer group 'top' is not one of coarse, middle, fine"
    )
    r = api.post("/api/mix", json={"model": "style", "rows": [{"seed": 1, "z": z}], "cols": [{"seed": 2}]})
    assert r.status_code == 400 and "row parent 1: give either its seed or its latent z" in r.json()["error"]
    r = api.post("/api/mix", json={"model": "style", "rows": [], "cols": [{"seed": 2}]})
    assert r.status_code == 422
