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
