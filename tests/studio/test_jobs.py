"""The job API (`ganforge.studio.jobs`) against a real server: submit any route as a job, poll its
progress, fetch its result, cancel it queued or running; the long lane does not hold up the quick one."""

import io
import time

from PIL import Image

from studio.conftest import pattern, png_of
from studio.session_fixtures import SLOW_TILES


def submit(api, route: str, **kwargs) -> dict:
    r = api.post(f"/api/jobs/{route}", **kwargs)
    assert r.status_code == 202, r.text
    return r.json()


def wait_done(api, job_id: str, timeout: float = 30) -> dict:
    deadline, seen = time.monotonic() + timeout, 0
    while time.monotonic() < deadline:
        info = api.get(f"/api/jobs/{job_id}", params={"wait": 1, "since": seen}).json()
        seen = info["version"]
        if info["status"] in ("done", "error", "cancelled"):
            return info
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def upload(width: int = 128, height: int = 128) -> dict:
    return {"files": {"image": ("photo.png", png_of(pattern(width, height)), "image/png")}}


def test_a_job_gives_the_same_result_as_the_direct_route(api):
    body = {"model": "digits", "seed": 7, "count": 3, "class_index": 1}
    job = submit(api, "generate", json=body)
    assert job["route"] == "generate" and job["lane"] == "quick"
    assert job["status"] in ("queued", "running", "done")  # an idle machine may finish it before answering
    assert wait_done(api, job["id"])["status"] == "done"
    result = api.get(f"/api/jobs/{job['id']}/result")
    assert result.status_code == 200 and result.headers["content-type"] == "application/json"
    assert result.json() == api.post("/api/generate", json=body).json()
    listed = [j["id"] for j in api.get("/api/jobs").json()["jobs"]]
    assert job["id"] in listed


def test_bad_requests_are_refused_at_once_and_make_no_job(api):
    before = len(api.get("/api/jobs").json()["jobs"])
    r = api.post("/api/jobs/generate", json={"model": "nope"})
    assert r.status_code == 404 and r.json()["error"].startswith("no model named 'nope'")
    r = api.post("/api/jobs/generate", json={"model": "digits", "seed": -1})
    assert r.status_code == 422 and "seed" in r.json()["error"]
    r = api.post("/api/jobs/upscale", files={"image": ("a.png", b"not an image", "image/png")})
    assert r.status_code == 415 and "not an image" in r.json()["error"]
    assert len(api.get("/api/jobs").json()["jobs"]) == before
    r = api.get("/api/jobs/0123456789ab")
    assert r.status_code == 404 and r.json()["error"].startswith("no job '0123456789ab'")


def test_an_animation_job_returns_its_gif(api):
    job = submit(api, "interpolate", json={"model": "digits", "seeds": [1, 2], "frames": 3, "class_index": 0})
    wait_done(api, job["id"])
    r = api.get(f"/api/jobs/{job['id']}/result")
    assert r.headers["content-type"] == "image/gif" and r.content[:6] == b"GIF89a"


def test_a_tiled_upscale_reports_tiles_and_gives_the_image(api):
    job = submit(api, "upscale", data={"model": "slow"}, **upload())
    assert job["lane"] == "long"
    seen, progress = 0, []
    while True:
        info = api.get(f"/api/jobs/{job['id']}", params={"wait": 2, "since": seen}).json()
        seen = info["version"]
        progress.append((info["done"], info["total"]))
        if info["status"] == "done":
            break
    assert progress[-1] == (SLOW_TILES, SLOW_TILES)
    middle = [d for d, t in progress if t == SLOW_TILES and 0 < d < SLOW_TILES]
    assert middle and middle == sorted(middle)  # seen part-way, never going back
    r = api.get(f"/api/jobs/{job['id']}/result")
    image = Image.open(io.BytesIO(r.content))
    assert r.headers["content-type"] == "image/png" and image.size == (256, 256)
    assert image.getpixel((3, 5)) == pattern(128, 128).getpixel((1, 2))  # x2 nearest-neighbour copy


def test_cancel_stops_a_running_upscale_between_tiles_and_drops_a_queued_one(api):
    running = submit(api, "upscale", data={"model": "slow"}, **upload())
    queued = submit(api, "upscale", data={"model": "slow"}, **upload())
    info = api.get(f"/api/jobs/{queued['id']}").json()
    assert info["status"] == "queued" and info["ahead"] == 1
    while api.get(f"/api/jobs/{running['id']}").json()["done"] < 5:
        time.sleep(0.02)
    assert api.delete(f"/api/jobs/{queued['id']}").json()["status"] == "cancelled"
    api.delete(f"/api/jobs/{running['id']}")
    stopped = wait_done(api, running["id"], timeout=5)
    assert stopped["status"] == "cancelled" and 5 <= stopped["done"] < SLOW_TILES
    r = api.get(f"/api/jobs/{running['id']}/result")
    assert r.status_code == 410 and r.json()["error"] == "the job was cancelled"
    time.sleep(0.2)
    assert api.get(f"/api/jobs/{queued['id']}").json()["done"] == 0  # it never started
    after = submit(api, "upscale", data={"model": "double"}, **upload(12, 10))  # the lane is free again
    assert wait_done(api, after["id"])["status"] == "done"


def test_a_long_job_does_not_hold_up_breeding(api):
    slow = submit(api, "upscale", data={"model": "slow"}, **upload())
    body = {"model": "style", "parents": [{"seed": 1}, {"seed": 2}], "count": 4, "seed": 3}
    quick = submit(api, "breed", json=body)
    assert wait_done(api, quick["id"], timeout=3)["status"] == "done"
    assert api.get(f"/api/jobs/{slow['id']}").json()["status"] == "running"
    children = api.get(f"/api/jobs/{quick['id']}/result").json()["children"]
    assert children == api.post("/api/breed", json=body).json()["children"]
    r = api.get(f"/api/jobs/{slow['id']}/result")
    assert r.status_code == 409 and "running" in r.json()["error"]
    api.delete(f"/api/jobs/{slow['id']}")
    assert wait_done(api, slow["id"])["status"] == "cancelled"


def test_errors_inside_a_job_reach_its_result(api):
    job = submit(api, "generate", json={"model": "digits", "z": [[0.0] * 8], "truncation": 0.5})
    info = wait_done(api, job["id"])
    assert info["status"] == "error" and "truncation" in info["error"]
    r = api.get(f"/api/jobs/{job['id']}/result")
    assert r.status_code == 400 and r.json()["error"] == info["error"]
