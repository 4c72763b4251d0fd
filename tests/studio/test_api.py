"""The JSON/PNG API against a real server on loopback: every generator route's status, content type,
image size and values, determinism, and the JSON errors of bad requests."""

import asyncio
import base64
import io
import threading

import pytest
import torch
from PIL import Image

from ganforge.imaging import to_uint8
from ganforge.pipelines import GeneratePipeline, InterpolatePipeline, load_generator
from ganforge.pipelines.breed import BreedPipeline
from ganforge.pipelines.generate import latents
from ganforge.studio.limits import Busy
from ganforge.studio.queue import InferenceQueue


def decode(data_url: str) -> Image.Image:
    assert data_url.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1])))


def pixels(image: Image.Image) -> torch.Tensor:
    return torch.tensor(list(image.getdata()), dtype=torch.uint8)


@pytest.fixture(scope="module")
def G(bundles):
    return load_generator(bundles["digits"]).G


def test_models_lists_each_model_with_what_it_can_do(client):
    r = client.get("/api/models")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    models = {m["name"]: m for m in r.json()["models"]}
    assert set(models) == {"digits", "invert", "fill", "double", "style"}
    digits = models["digits"]
    assert digits["capabilities"] == ["generate", "breed", "interpolate"]
    assert (digits["z_dim"], digits["img_size"], digits["channels"], digits["num_classes"]) == (8, 8, 1, 3)
    assert digits["class_names"] == ["c0", "c1", "c2"] and digits["truncation"] is False
    assert models["invert"]["capabilities"] == ["translate"] and models["invert"]["directions"] == [
        "AtoB",
        "BtoA",
    ]
    assert models["fill"]["capabilities"] == ["inpaint"] and models["double"]["scale"] == 2
    assert models["style"]["truncation"] is True and models["style"]["layer_groups"] == [
        "coarse",
        "middle",
        "fine",
    ]
    assert r.json()["limits"]["max_pixels"] == 128 * 128


def test_generate_gives_each_seed_its_own_reproducible_image(client, G):
    r = client.post("/api/generate", json={"model": "digits", "seed": 40, "count": 3, "class_index": 2})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    images = r.json()["images"]
    assert [(i["seed"], i["class_index"]) for i in images] == [(40, 2), (41, 2), (42, 2)]
    for item in images:
        picture = decode(item["png"])
        assert picture.size == (8, 8) and picture.mode == "L"
        z = latents(1, 8, item["seed"])
        assert item["z"] == z[0].tolist()
        expected = to_uint8(GeneratePipeline(G)(1, z=z, labels=torch.tensor([2])).images)[0, 0].flatten()
        assert torch.equal(pixels(picture), expected)
    again = client.post("/api/generate", json={"model": "digits", "seeds": [41], "class_index": 2}).json()
    assert again["images"][0]["png"] == images[1]["png"]
    by_latent = client.post(
        "/api/generate", json={"model": "digits", "z": [images[2]["z"]], "classes": [2]}
    ).json()
    assert by_latent["images"][0]["png"] == images[2]["png"] and by_latent["images"][0]["seed"] is None
    other_class = client.post(
        "/api/generate", json={"model": "digits", "seeds": [41], "class_index": 0}
    ).json()
    assert other_class["images"][0]["png"] != images[1]["png"]


def test_generate_png_grid_and_download(client):
    one = client.get("/api/generate.png", params={"model": "digits", "seed": 5, "class_index": 1})
    assert one.status_code == 200 and one.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(one.content)).size == (8, 8)
    assert client.get("/api/generate.png", params={"seed": 5, "class_index": 1}).content == one.content
    json_png = client.post("/api/generate", json={"seeds": [5], "class_index": 1}).json()["images"][0]["png"]
    assert pixels(decode(json_png)).tolist() == pixels(Image.open(io.BytesIO(one.content))).tolist()
    grid = client.get("/api/generate.png", params={"seed": 5, "count": 4, "scale": 3, "class_index": 1})
    assert Image.open(io.BytesIO(grid.content)).size == (3 * 22, 3 * 22)  # 2x2 of 8 px + 2 px padding
    assert 'filename="digits-seed5-4.png"' in grid.headers["content-disposition"]
    # the grid drawn: 4x4 of 8 px with 2 px padding, times 8: ((4 * 10 + 2) * 8) ** 2 = 112,896 pixels
    huge = client.get("/api/generate.png", params={"seed": 5, "count": 16, "scale": 8, "class_index": 1})
    assert huge.status_code == 413 and "112,896 pixels, over the limit of 100,000" in huge.json()["error"]


def test_breed_mixes_parents_deterministically(client, G):
    body = {
        "model": "digits",
        "parents": [{"seed": 1, "class_index": 2}, {"seed": 2, "class_index": 0}],
        "shares": [3, 1],
        "mutation": 0.25,
        "seed": 7,
        "count": 4,
    }
    r = client.post("/api/breed", json=body)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    out = r.json()
    assert out["shares"] == {"all": [0.75, 0.25]} and len(out["children"]) == 4
    assert [c["class_index"] for c in out["children"]] == [2, 2, 2, 2]
    assert all(decode(c["png"]).size == (8, 8) for c in out["children"])
    direct = BreedPipeline(G)(torch.cat([latents(1, 8, 1), latents(1, 8, 2)]), [3, 1], 4, 0.25, 7, [2, 0])
    assert [c["z"] for c in out["children"]] == direct.z.tolist()
    assert client.post("/api/breed", json=body).json() == out
    assert (
        client.post("/api/breed", json={**body, "seed": 8}).json()["children"][0]["z"]
        != out["children"][0]["z"]
    )
    # keep breeding: a child (by latent) with a parent (by seed)
    child = out["children"][0]
    grand = client.post(
        "/api/breed",
        json={
            "model": "digits",
            "parents": [{"z": child["z"], "class_index": 2}, {"seed": 2, "class_index": 0}],
            "count": 2,
            "mutation": 0.0,
            "seed": 0,
        },
    ).json()
    mixed = BreedPipeline(G).children(
        torch.tensor([child["z"], latents(1, 8, 2)[0].tolist()]), [1, 1], 2, 0.0, 0
    )
    assert [c["z"] for c in grand["children"]] == mixed.tolist()


def test_breed_per_layer_group_and_truncation_on_a_style_model(client):
    body = {
        "model": "style",
        "parents": [{"seed": 11}, {"seed": 12}],
        "mutation": 0.0,
        "count": 1,
        "shares": {"coarse": [1, 0], "middle": [1, 0], "fine": [0, 1]},
    }
    child = client.post("/api/breed", json=body).json()["children"][0]
    assert len(child["z"]) == 3 and len(child["z"][0]) == 8  # one latent per layer group
    a, b = (
        client.post("/api/generate", json={"model": "style", "seeds": [s]}).json()["images"][0]
        for s in (11, 12)
    )
    ca, cb, cc = (decode(x["png"]).convert("RGB").split() for x in (a, b, child))
    assert list(cc[0].getdata()) == list(ca[0].getdata()) and list(cc[2].getdata()) == list(cb[2].getdata())
    assert (
        client.post("/api/generate", json={"model": "style", "z": [child["z"]]}).json()["images"][0]["png"]
        == child["png"]
    )
    flat = client.post(
        "/api/generate", json={"model": "style", "seed": 0, "count": 2, "truncation": 0.0}
    ).json()
    assert flat["images"][0]["png"] == flat["images"][1]["png"]  # psi 0: the average image
    r = client.post("/api/generate", json={"model": "digits", "truncation": 0.5})
    assert r.status_code == 400 and "truncation needs a style-based generator" in r.json()["error"]
    r = client.post(
        "/api/breed", json={**body, "model": "digits", "parents": [{"seed": 1, "class_index": 0}]}
    )
    assert r.status_code == 400 and "need a style-based generator" in r.json()["error"]


def test_interpolate_gif_and_strip(client, G):
    r = client.post(
        "/api/interpolate", json={"model": "digits", "seeds": [1, 2, 3], "frames": 4, "class_index": 1}
    )
    assert r.status_code == 200 and r.headers["content-type"] == "image/gif"
    gif = Image.open(io.BytesIO(r.content))
    assert gif.n_frames == 9 and gif.size == (8, 8)
    r = client.post(
        "/api/interpolate", json={"seeds": [1, 2], "frames": 3, "format": "png", "class_index": 1}
    )
    assert r.headers["content-type"] == "image/png"
    strip = Image.open(io.BytesIO(r.content))
    assert strip.size == (4 * 8 + 5 * 2, 12)
    frames = InterpolatePipeline(G)([1, 2], frames_between=3, class_index=1).frames
    first = strip.crop((2, 2, 10, 10))
    assert torch.equal(pixels(first), to_uint8(frames[:1])[0, 0].flatten())
    z = [latents(1, 8, s)[0].tolist() for s in (1, 2)]
    by_latent = client.post("/api/interpolate", json={"z": z, "frames": 3, "format": "png", "class_index": 1})
    assert by_latent.content == r.content


@pytest.mark.parametrize(
    "method, path, body, status, message",
    [
        ("post", "/api/generate", {"model": "nope"}, 404, "no model named 'nope'; loaded: digits"),
        (
            "post",
            "/api/generate",
            {"model": "invert"},
            400,
            "model 'invert' cannot generate; models that can: digits",
        ),
        (
            "post",
            "/api/generate",
            {"class_index": 3},
            400,
            "class 3 is out of range; model 'digits' has classes 0..2",
        ),
        ("post", "/api/generate", {"count": 33}, 400, "ask for 1..32 images, not 33"),
        (
            "post",
            "/api/generate",
            {"count": 0},
            422,
            "invalid request: count: Input should be greater than or equal",
        ),
        ("post", "/api/generate", {"sed": 1}, 422, "invalid request: sed: Extra inputs are not permitted"),
        ("post", "/api/generate", {"z": [[1.0, 2.0]]}, 400, "latents must be lists of 8 numbers"),
        ("post", "/api/breed", {"parents": []}, 422, "invalid request: parents"),
        (
            "post",
            "/api/breed",
            {"parents": [{"seed": 1}, {}], "class_index": 0},
            400,
            "parent 2: give either",
        ),
        (
            "post",
            "/api/breed",
            {"parents": [{"seed": 1}], "shares": [1, 2], "class_index": 0},
            400,
            "got 2 shares",
        ),
        ("post", "/api/breed", {"parents": [{"seed": 1}, {"seed": 2}]}, 400, "needs each parent's class"),
        ("post", "/api/interpolate", {"seeds": [1]}, 400, "at least two key images"),
        (
            "post",
            "/api/interpolate",
            {"seeds": [1, 2], "frames": 40},
            400,
            "41 frames is over the limit of 40",
        ),
        ("get", "/api/generate", None, 405, "Method Not Allowed"),
        ("get", "/api/nope", None, 404, "not found"),
    ],
)
def test_bad_requests_get_json_errors(client, method, path, body, status, message):
    r = client.request(method.upper(), path, json=body)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    assert message in r.json()["error"]


def test_malformed_json_and_the_openapi_schema(client):
    r = client.post("/api/generate", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and "JSON decode error" in r.json()["error"]
    schema = client.get("/api/openapi.json").json()
    routes = {
        "/api/models",
        "/api/generate",
        "/api/generate.png",
        "/api/breed",
        "/api/interpolate",
        "/api/translate",
        "/api/colorize",
        "/api/upscale",
        "/api/inpaint",
        "/api/directions",  # genes: studio/edit_routes.py
        "/api/edit",
        "/api/edit.png",
        "/api/edit/breed",
    }
    routes |= {"/api/mix", "/api/project", "/api/jobs", "/api/jobs/{job_id}", "/api/jobs/{job_id}/result"}
    assert routes == set(schema["paths"])
    assert "image/png" in schema["paths"]["/api/translate"]["post"]["responses"]["200"]["content"]
    assert client.get("/docs").status_code == 404  # the stock docs page would load a CDN


def test_concurrent_requests_are_queued_and_agree(client, server):
    results, errors = {}, []

    def worker(k):
        import httpx

        with httpx.Client(base_url=server.url, timeout=60) as c:
            for seed in range(4):
                r = c.get("/api/generate.png", params={"seed": seed, "count": 4, "class_index": 0})
                if r.status_code != 200:
                    errors.append(r.text)
                results.setdefault(seed, set()).add(r.content)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and all(len(v) == 1 for v in results.values()) and len(results) == 4


def test_queue_refuses_when_full_and_times_out():
    async def scenario():
        queue = InferenceQueue(max_queue=1, timeout_s=0.3)
        release = threading.Event()
        slow = asyncio.ensure_future(queue.run(lambda: release.wait(5) and "slow"))
        await asyncio.sleep(0.05)
        with pytest.raises(Busy, match=r"busy \(1 requests waiting\)"):
            await queue.run(lambda: "refused")
        with pytest.raises(Busy, match="did not finish within 0.3 s"):
            await slow
        release.set()
        assert await queue.run(lambda: 42) == 42
        queue.close()

    asyncio.run(scenario())
