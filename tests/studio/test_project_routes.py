"""`POST /api/project`: a photo projected into a generator becomes a latent that re-renders exactly and
breeds; as a job it reports its steps."""

import base64
import io
import time

from PIL import Image

from studio.conftest import pattern, png_of


def image_of(data_url: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1])))


def test_a_generated_image_projects_back_close_and_its_latent_breeds(api):
    shown = api.post("/api/generate", json={"model": "style", "seeds": [5]}).json()["images"][0]["png"]
    photo = image_of(shown).resize((40, 40), Image.NEAREST)  # any size; center-cropped and resized
    files = {"image": ("photo.png", png_of(photo), "image/png")}
    r = api.post("/api/project", data={"model": "style", "steps": "60"}, files=files)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["space"] == "z+" and len(out["z"]) == 3 and len(out["z"][0]) == 8 and out["steps"] == 60
    assert out["psnr_db"] > 20  # the stand-in can draw its own image again
    assert image_of(out["target"]).size == (8, 8)
    again = api.post("/api/generate", json={"model": "style", "z": [out["z"]]}).json()["images"][0]
    assert again["png"] == out["png"]
    child = api.post(
        "/api/breed", json={"model": "style", "parents": [{"z": out["z"]}, {"seed": 1}], "count": 2}
    )
    assert child.status_code == 200 and len(child.json()["children"]) == 2


def test_projection_as_a_job_counts_its_steps(api):
    files = {"image": ("photo.png", png_of(pattern(16, 16)), "image/png")}
    r = api.post(
        "/api/jobs/project", data={"model": "digits", "steps": "25", "class_index": "1"}, files=files
    )
    assert r.status_code == 202 and r.json()["lane"] == "long"
    job = r.json()["id"]
    while (info := api.get(f"/api/jobs/{job}", params={"wait": 1}).json())["status"] not in ("done", "error"):
        time.sleep(0.01)
    assert info["status"] == "done" and (info["done"], info["total"]) == (25, 25)
    out = api.get(f"/api/jobs/{job}/result").json()
    assert out["space"] == "z" and len(out["z"]) == 8 and out["class_index"] == 1
    assert image_of(out["png"]).mode == "L"  # the digits model is gray


def test_projection_refuses_bad_requests(api):
    files = {"image": ("photo.png", png_of(pattern(16, 16)), "image/png")}
    r = api.post("/api/project", data={"model": "invert"}, files=files)
    assert r.status_code == 400 and "cannot breed" in r.json()["error"]
    r = api.post("/api/project", data={"model": "digits", "class_index": "7"}, files=files)
    assert r.status_code == 400 and "class 7 is out of range" in r.json()["error"]
    r = api.post("/api/project", data={"model": "digits", "steps": "0"}, files=files)
    assert r.status_code == 422 and "steps" in r.json()["error"]
    r = api.post("/api/project", data={"model": "digits"}, files={"image": ("a.png", b"xx", "image/png")})
    assert r.status_code == 415 and "the photo upload is not an image" in r.json()["error"]
