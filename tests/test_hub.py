"""Hub push and pull against a local stand-in for the Hugging Face Hub API on 127.0.0.1.

The stand-in implements the few routes that `huggingface_hub` calls to create a repository, commit
files (all as "regular" uploads, so no LFS or Xet storage is involved) and download a snapshot.
Nothing leaves the machine: HF_ENDPOINT points at the stand-in, HF_HUB_CACHE at a temporary folder.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
import torch

from conftest import tiny_config, tiny_images
from ganforge.errors import CheckpointError, ConfigError
from ganforge.pipelines import GeneratePipeline, load_generator
from ganforge.training.trainer import Trainer

pytest.importorskip("huggingface_hub")

from ganforge import hub  # noqa: E402

TOKEN = "hf_test_token_0123456789"


class HubStandIn:
    """In-memory repositories behind the Hub routes `huggingface_hub` uses; records every request."""

    def __init__(self) -> None:
        self.repos: dict[str, dict[str, bytes]] = {}
        self.commits: dict[str, str] = {}
        self.requests: list[str] = []
        self.auth: list[str | None] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _send(self, status: int, body: bytes = b"", headers: dict | None = None, head=False) -> None:
                self.send_response(status)
                for k, v in (headers or {"Content-Type": "application/json"}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head:
                    self.wfile.write(body)

            def _json(self, status: int, obj, extra: dict | None = None) -> None:
                self._send(
                    status, json.dumps(obj).encode(), {"Content-Type": "application/json", **(extra or {})}
                )

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length", 0)))

            def _not_found(self, head=False) -> None:
                self._send(
                    404,
                    b'{"error":"Repository not found"}',
                    {"Content-Type": "application/json", "X-Error-Code": "RepoNotFound"},
                    head,
                )

            def do_POST(self) -> None:
                path = unquote(urlparse(self.path).path)
                stand_in.requests.append(f"POST {path}")
                stand_in.auth.append(self.headers.get("Authorization"))
                body = self._body()
                if path == "/api/validate-yaml":  # the client checks the model card's YAML header
                    return self._json(200, {"errors": [], "warnings": []})
                if path == "/api/repos/create":
                    raw = json.loads(body)
                    repo = f"{raw.get('organization') or 'me'}/{raw['name']}"
                    if repo in stand_in.repos:
                        return self._json(
                            409, {"error": "You already created this model repo", "url": f"/{repo}"}
                        )
                    stand_in.repos[repo] = {}
                    stand_in.commits[repo] = "0" * 40
                    return self._json(200, {"url": f"http://127.0.0.1/{repo}", "name": repo})
                m = re.fullmatch(r"/api/models/([^/]+/[^/]+)/(preupload|commit)/([^/]+)", path)
                if not m or m.group(1) not in stand_in.repos:
                    return self._not_found()
                repo, action = m.group(1), m.group(2)
                if action == "preupload":
                    files = json.loads(body)["files"]
                    modes = [
                        {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files
                    ]
                    return self._json(200, {"files": modes})
                for line in body.decode().splitlines():
                    item = json.loads(line)
                    if item["key"] == "file":
                        value = item["value"]
                        stand_in.repos[repo][value["path"]] = base64.b64decode(value["content"])
                sha = hashlib.sha1(json.dumps(sorted(stand_in.repos[repo])).encode() + body).hexdigest()
                stand_in.commits[repo] = sha
                return self._json(
                    200, {"commitUrl": f"http://127.0.0.1/{repo}/commit/{sha}", "commitOid": sha}
                )

            def _get(self, head: bool) -> None:
                path = unquote(urlparse(self.path).path)
                stand_in.requests.append(f"{'HEAD' if head else 'GET'} {path}")
                m = re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/revision/([^/]+))?", path)
                if m:
                    repo = m.group(1)
                    if repo not in stand_in.repos:
                        return self._not_found(head)
                    files = [
                        {"rfilename": name, "size": len(data)} for name, data in stand_in.repos[repo].items()
                    ]
                    info = {
                        "id": repo,
                        "modelId": repo,
                        "sha": stand_in.commits[repo],
                        "siblings": files,
                        "private": False,
                        "tags": [],
                        "downloads": 0,
                        "likes": 0,
                    }
                    return self._json(200, info)
                m = re.fullmatch(r"/api/models/([^/]+/[^/]+)/tree/([^/]+)", path)
                if m:
                    if m.group(1) not in stand_in.repos:
                        return self._not_found(head)
                    tree = [
                        {
                            "type": "file",
                            "path": name,
                            "size": len(data),
                            "oid": hashlib.sha1(data).hexdigest(),
                        }
                        for name, data in sorted(stand_in.repos[m.group(1)].items())
                    ]
                    return self._json(200, tree)
                m = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
                if m and m.group(1) in stand_in.repos and m.group(3) in stand_in.repos[m.group(1)]:
                    data = stand_in.repos[m.group(1)][m.group(3)]
                    headers = {
                        "Content-Type": "application/octet-stream",
                        "X-Repo-Commit": stand_in.commits[m.group(1)],
                        "ETag": '"' + hashlib.sha1(data).hexdigest() + '"',
                    }
                    return self._send(200, data, headers, head)
                return self._not_found(head)

            def do_GET(self) -> None:
                self._get(False)

            def do_HEAD(self) -> None:
                self._get(True)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HubStandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A tiny finished DCGAN run with a metrics file, as `ganforge train` leaves it."""
    run_dir = tmp_path_factory.mktemp("hub") / "run"
    Trainer(tiny_config(steps=4), run_dir, data=tiny_images(), progress=False, tensorboard=False).fit()
    (run_dir / "metrics.jsonl").write_text(json.dumps({"step": 4, "FD-EffNetLite0": 123.5}) + "\n")
    return run_dir


@pytest.fixture
def hub_env(tmp_path, monkeypatch):
    with HubStandIn() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
        monkeypatch.setenv("HF_TOKEN", TOKEN)
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
        yield server


def images_of(G, seed=0):
    return GeneratePipeline(G)(n=4, seed=seed).images


def test_push_uploads_the_bundle_with_a_model_card(run, hub_env):
    before = {p.name: p.read_bytes() for p in (run / "bundle").iterdir()}
    result = hub.push(run, "alice/tiny-dcgan")
    files = hub_env.repos["alice/tiny-dcgan"]
    assert sorted(files) == ["G_ema.safetensors", "README.md", "config.json", "model.json", "samples.png"]
    assert result.files == sorted(files)
    assert files["G_ema.safetensors"] == before["G_ema.safetensors"]
    assert files["samples.png"] == before["samples.png"]
    card = files["README.md"].decode()
    assert card.startswith("---\nlibrary_name: ganforge\npipeline_tag: unconditional-image-generation\n")
    assert "| steps | 4 (32 images shown to D) |" in card
    assert "`tiny` at 8x8" in card
    assert "| FD-EffNetLite0 | 123.5 |" in card
    assert "![samples](samples.png)" in card
    assert "ganforge sample hf:alice/tiny-dcgan" in card
    assert f"Bearer {TOKEN}" in hub_env.auth  # the token from HF_TOKEN went with the requests
    # the local bundle is untouched
    assert {p.name: p.read_bytes() for p in (run / "bundle").iterdir()} == before
    # pushing again to the same repository is a new commit, not an error
    hub.push(run / "bundle", "alice/tiny-dcgan", message="again")


def test_pull_through_load_generator_and_then_offline_from_the_cache(run, hub_env, monkeypatch):
    hub.push(run, "alice/tiny-dcgan")
    local = load_generator(run)
    pulled = load_generator("hf:alice/tiny-dcgan")
    assert pulled.step == 4 and pulled.source.name == hub_env.commits["alice/tiny-dcgan"]
    assert torch.equal(images_of(pulled.G), images_of(local.G))
    # the Hub cache layout: models--alice--tiny-dcgan/snapshots/<commit>/
    cache = Path(hub.hub_cache_dir())
    snapshot = cache / "models--alice--tiny-dcgan" / "snapshots" / hub_env.commits["alice/tiny-dcgan"]
    assert (snapshot / "G_ema.safetensors").is_file() and pulled.source == snapshot
    # offline, with the stand-in gone: the cached copy loads without any request
    count = len(hub_env.requests)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the discard port: nothing listens
    offline = load_generator("hf:alice/tiny-dcgan")
    assert torch.equal(images_of(offline.G), images_of(local.G))
    assert len(hub_env.requests) == count


def test_offline_without_a_cached_copy_is_one_clear_error(run, hub_env, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(hub.HubError, match=r"not in the local Hub cache .* HF_HUB_OFFLINE=1") as err:
        load_generator("hf:alice/never-pushed")
    assert "\n" not in str(err.value)
    with pytest.raises(hub.HubError, match="cannot push to alice/x while HF_HUB_OFFLINE=1"):
        hub.push(run, "alice/x")
    assert hub_env.requests == []  # offline means no request at all


def test_hub_errors_name_the_problem(run, hub_env, monkeypatch):
    with pytest.raises(hub.HubError, match="no model alice/missing on the Hub"):
        load_generator("hf:alice/missing")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    with pytest.raises(hub.HubError, match="cannot reach the Hub at http://127.0.0.1:9"):
        load_generator("hf:alice/tiny-dcgan")
    with pytest.raises(ConfigError, match="not a Hub model id"):
        load_generator("hf:not a repo")
    with pytest.raises(ConfigError, match="not a Hub model id"):
        hub.push(run, "just-a-name")
    with pytest.raises(CheckpointError, match="does not exist"):
        hub.push(run / "nope", "alice/x")


def test_without_the_hub_extra_the_error_says_what_to_install(run, monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # as if not installed
    with pytest.raises(hub.HubError, match=r'pip install "ganforge\[hub\]"'):
        load_generator("hf:alice/tiny-dcgan")
    with pytest.raises(hub.HubError, match=r'pip install "ganforge\[hub\]"'):
        hub.push(run, "alice/tiny-dcgan")
