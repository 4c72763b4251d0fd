"""Share bundles on the Hugging Face Hub: `push` uploads a bundle with a model card, `pull` fetches one.

`hf:user/name` (optionally `hf:user/name@revision`) names a bundle on the Hub anywhere a bundle path
is accepted (`ganforge sample hf:user/name`, `load_generator("hf:user/name")`). Pulled bundles live in
the Hub's own cache (`HF_HUB_CACHE`, default `~/.cache/huggingface/hub`), so other Hugging Face tools
share it and a pulled model works offline afterwards (`HF_HUB_OFFLINE=1`).

The Hub client is the optional `huggingface_hub` package (`pip install "ganforge[hub]"`); without it,
offline with nothing cached, or with the Hub unreachable, every call raises one `HubError` line that
says what to do. Environment variables are read at call time: `HF_ENDPOINT` (another Hub server),
`HF_HUB_OFFLINE`, `HF_HUB_CACHE` / `HF_HOME`, and `HF_TOKEN` for pushing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganforge.errors import CheckpointError, ConfigError, GanforgeError

HF_PREFIX = "hf:"
INSTALL_HINT = 'pip install "ganforge[hub]"'
# A bundle's files; nothing else in a Hub repository is downloaded or uploaded.
BUNDLE_PATTERNS = ["config.json", "model.json", "*.safetensors", "README.md", "samples.png"]
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")


class HubError(GanforgeError):
    """The Hub client is missing, the Hub cannot be reached, or it refused a request."""


@dataclass
class PushResult:
    repo_id: str
    url: str  # the repository's page
    commit_url: str
    files: list[str]  # what was uploaded


def is_hub_ref(ref: str | Path) -> bool:
    return isinstance(ref, str) and ref.startswith(HF_PREFIX)


def parse_ref(ref: str) -> tuple[str, str | None]:
    """`hf:user/name[@revision]` or `user/name[@revision]` -> (repo id, revision or None)."""
    text = ref[len(HF_PREFIX) :] if ref.startswith(HF_PREFIX) else ref
    repo_id, at, revision = text.partition("@")
    if not _REPO_ID.match(repo_id) or ".." in repo_id or (at and not revision):
        raise ConfigError(
            f"{ref!r} is not a Hub model id; write it as user/name (hf:user/name to load), "
            "optionally @revision, e.g. hf:alice/dcgan-mnist"
        )
    return repo_id, revision or None


def _client() -> Any:
    try:
        import huggingface_hub
    except ImportError:
        raise HubError(f"the Hugging Face Hub needs the optional client: {INSTALL_HINT}") from None
    return huggingface_hub


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def offline() -> bool:
    """Whether Hub access is switched off (`HF_HUB_OFFLINE=1`), read now rather than at import."""
    return _env_true("HF_HUB_OFFLINE") or _env_true("TRANSFORMERS_OFFLINE")


def endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "").rstrip("/") or "https://huggingface.co"


def hub_cache_dir() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")) / "huggingface"
    return Path(home).expanduser() / "hub"


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _translate(err: Exception, repo_id: str, action: str) -> HubError:
    """A Hub client exception as one line naming the problem and the fix."""
    from huggingface_hub import errors as hub_errors

    if isinstance(err, hub_errors.RevisionNotFoundError):
        return HubError(
            f"{repo_id} has no such revision on the Hub; drop the @revision or give an existing one"
        )
    if isinstance(err, hub_errors.RepositoryNotFoundError):
        return HubError(
            f"no model {repo_id} on the Hub at {endpoint()} (or it is private: log in with "
            "`hf auth login` or set HF_TOKEN)"
        )
    if isinstance(err, hub_errors.OfflineModeIsEnabled):
        return HubError(f"cannot {action} {repo_id} while HF_HUB_OFFLINE=1; unset it to reach the Hub")
    if isinstance(err, hub_errors.LocalTokenNotFoundError):
        return HubError(f"to {action} {repo_id}, log in first: `hf auth login`, or set HF_TOKEN")
    if isinstance(err, hub_errors.HfHubHTTPError):
        status = getattr(getattr(err, "response", None), "status_code", None)
        if status in (401, 403):
            return HubError(
                f"the Hub refused to let you {action} {repo_id} (HTTP {status}): log in with "
                "`hf auth login` or set HF_TOKEN to a token with write access"
            )
        return HubError(f"the Hub could not {action} {repo_id}: {_one_line(err)}")
    if isinstance(err, hub_errors.LocalEntryNotFoundError):
        if offline():
            return HubError(
                f"hf:{repo_id} is not in the local Hub cache ({hub_cache_dir()}) and HF_HUB_OFFLINE=1 "
                "forbids downloading it; unset HF_HUB_OFFLINE, or pass a local bundle folder"
            )
        return HubError(
            f"cannot reach the Hub at {endpoint()} to {action} {repo_id}, and it is not cached "
            f"in {hub_cache_dir()}; check your connection or pass a local bundle folder"
        )
    return HubError(f"cannot reach the Hub at {endpoint()} to {action} {repo_id}: {_one_line(err)}")


# ---------------------------------------------------------------- pull


def pull(ref: str, token: str | None = None) -> Path:
    """Download (or find in the cache) the bundle `hf:user/name[@revision]`; returns its local folder."""
    repo_id, revision = parse_ref(ref)
    hub = _client()
    from ganforge.console import progress_enabled

    quiet = not progress_enabled() and not hub.utils.are_progress_bars_disabled()
    if quiet:  # no download bars where nobody watches (logs, pipes, tests)
        hub.utils.disable_progress_bars()
    try:
        folder = hub.snapshot_download(
            repo_id,
            revision=revision,
            cache_dir=str(hub_cache_dir()),
            allow_patterns=BUNDLE_PATTERNS,
            local_files_only=offline(),
            endpoint=endpoint(),
            token=token,
            library_name="ganforge",
        )
    except GanforgeError:
        raise
    except Exception as err:  # the client raises HTTP, connection and cache errors of many types
        raise _translate(err, repo_id, "download") from None
    finally:
        if quiet:
            hub.utils.enable_progress_bars()
    path = Path(folder)
    if not (path / "model.json").is_file():
        raise CheckpointError(f"hf:{repo_id} is not a ganforge bundle (it has no model.json)")
    return path


def resolve_bundle(ref: str | Path) -> Path:
    """A bundle folder from `hf:user/name`, a bundle folder, or a run directory holding `bundle/`."""
    if is_hub_ref(ref):
        return pull(str(ref))
    path = Path(ref)
    for folder in (path, path / "bundle"):
        if folder.is_dir() and (folder / "model.json").is_file():
            return folder
    if not path.exists():
        raise CheckpointError(f"{path} does not exist; pass a bundle folder, a run directory or hf:user/name")
    if path.is_dir() and (path / "checkpoints").is_dir():
        raise CheckpointError(
            f"{path} has no bundle yet (training has not finished); finish it with "
            f"`ganforge train --resume {path}` first"
        )
    raise CheckpointError(f"{path} is not a ganforge bundle or run directory (no model.json)")


# ---------------------------------------------------------------- push


def _run_metrics(run_dir: Path | None, meta: dict[str, Any]) -> dict[str, float]:
    """Final metrics: the bundle's own, then the run's metrics.json and the last of metrics.jsonl."""
    metrics = {k: v for k, v in (meta.get("metrics") or {}).items() if isinstance(v, (int, float))}
    if run_dir is None:
        return metrics
    path = run_dir / "metrics.json"
    if path.is_file():
        try:
            raw = json.loads(path.read_text())
            metrics.update({k: v for k, v in raw.items() if k != "step" and isinstance(v, (int, float))})
        except json.JSONDecodeError:
            pass
    path = run_dir / "metrics.jsonl"
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                raw = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(raw, dict):
                skip = ("step", "time")
                metrics.update(
                    {k: v for k, v in raw.items() if k not in skip and isinstance(v, (int, float))}
                )
    return metrics


def hub_model_card(folder: Path, repo_id: str, metrics: dict[str, float]) -> str:
    """The Hub's README.md: YAML metadata, then the bundle's card (data, steps, metrics, sample grid)."""
    from ganforge.bundle import capabilities_in, model_card
    from ganforge.config import RunConfig

    meta = json.loads((folder / "model.json").read_text())
    config = RunConfig.load(folder / "config.json")
    recipe = str(meta.get("recipe", config.recipe))
    image_to_image = capabilities_in(meta, config).task in ("translate", "upscale")
    pipeline_tag = "image-to-image" if image_to_image else "unconditional-image-generation"
    front = ["---", "library_name: ganforge", f"pipeline_tag: {pipeline_tag}", "tags:"]
    front += [f"- {tag}" for tag in ("ganforge", "gan", recipe)]
    front += ["---", ""]
    card = model_card(config, {**meta, "metrics": metrics})
    if image_to_image:
        use = [
            "from ganforge.hub import pull",
            "",
            f'folder = pull("hf:{repo_id}")  # a local bundle folder for ganforge translate / serve',
        ]
    else:
        use = [f"ganforge sample hf:{repo_id} --n 64 --seed 0 --out grid.png"]
    fence = "```python" if image_to_image else "```"
    usage = ["", "## From the Hub", "", 'pip install "ganforge[hub]", then:', "", fence, *use, "```", ""]
    if not (folder / "samples.png").is_file():
        card = card.replace("![samples](samples.png)\n", "")
    return "\n".join(front) + card + "\n".join(usage)


def push(
    path: str | Path,
    repo_id: str,
    private: bool = False,
    token: str | None = None,
    message: str | None = None,
) -> PushResult:
    """Upload the bundle of a run directory or bundle folder to the Hub repository `repo_id`
    (created when missing), with a model card holding the data, steps, metrics and sample grid.
    The local bundle is not changed: the upload is staged in a temporary copy."""
    repo_id, revision = parse_ref(repo_id)
    if revision:
        raise ConfigError(f"push to a repository (user/name), not to a revision: drop @{revision}")
    source = Path(path)
    folder = resolve_bundle(source)
    run_dir = folder.parent if folder.name == "bundle" else None
    from ganforge.bundle import load_bundle
    from ganforge.registry import load_all

    load_all()
    loaded = load_bundle(folder)  # refuse to share a bundle that does not load
    hub = _client()
    if offline():
        raise HubError(f"cannot push to {repo_id} while HF_HUB_OFFLINE=1; unset it to reach the Hub")
    meta = json.loads((folder / "model.json").read_text())
    files = [p for p in sorted(folder.iterdir()) if p.is_file() and _wanted(p.name)]
    with tempfile.TemporaryDirectory(prefix="ganforge-push-") as tmp:
        staging = Path(tmp)
        for file in files:
            if file.name != "README.md":
                shutil.copyfile(file, staging / file.name)
        card = hub_model_card(folder, repo_id, _run_metrics(run_dir, meta))
        (staging / "README.md").write_text(card)
        uploaded = sorted(p.name for p in staging.iterdir())
        api = hub.HfApi(endpoint=endpoint(), token=token)
        try:
            repo = api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
            commit = api.upload_folder(
                repo_id=repo_id,
                folder_path=str(staging),
                repo_type="model",
                commit_message=message or f"ganforge bundle: {loaded.config.name}, step {loaded.step}",
            )
        except GanforgeError:
            raise
        except Exception as err:
            raise _translate(err, repo_id, "push to") from None
    return PushResult(
        repo_id, str(getattr(repo, "url", repo)), str(getattr(commit, "commit_url", "")), uploaded
    )


def _wanted(name: str) -> bool:
    from fnmatch import fnmatch

    return any(fnmatch(name, pattern) for pattern in BUNDLE_PATTERNS)
