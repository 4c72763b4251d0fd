"""An isolated cache for the metrics tests: trained extractors and reference features land in one
temporary folder per session (so the LeNets train once per session), never in ~/.cache."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def metrics_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ganforge-metrics-cache")


@pytest.fixture(autouse=True)
def isolated_cache(metrics_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from ganforge.metrics.features import inception

    monkeypatch.setenv("GANFORGE_CACHE", str(metrics_cache))
    # nothing downloads in tests: a stray attempt fails here, on the local file system
    monkeypatch.setattr(inception, "WEIGHTS_URLS", ("file:///nonexistent/pt_inception.pth",))
    return metrics_cache


@pytest.fixture(scope="session")
def lenet_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained digits-lenet weights file (seed 0): real figures from a network that costs nothing
    to make, for tests of the evaluation plumbing (`--weights PATH`)."""
    import torch
    from safetensors.torch import save_file

    from ganforge.metrics.features.lenet import LeNet

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = LeNet(10, 16)
    path = tmp_path_factory.mktemp("lenet-weights") / "untrained-lenet.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    return path
