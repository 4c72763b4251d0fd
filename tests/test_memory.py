"""ganforge.memory: freed large blocks are reused instead of faulting fresh pages in."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = """
import resource, torch
from ganforge.metrics.features import get_extractor
torch.set_num_threads(1)
extractor = get_extractor("effnet-lite0", random_init=True)  # tunes malloc unless switched off
images = torch.randint(0, 256, (64, 1, 32, 32), dtype=torch.uint8)
extractor.features(images[:16], batch_size=16)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
extractor.features(images, batch_size=16)  # four batches of 16x3x224x224
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults(keep: str) -> int:
    """Page faults of extracting features of 64 images in a fresh process."""
    env = {**os.environ, "GANFORGE_KEEP_FREED_MEMORY": keep}
    run = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    return int(run.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_feature_extraction_reuses_freed_memory():
    """Each 16x3x224x224 batch of EfficientNet-Lite0 allocates tens of MiB of activations: with
    glibc's defaults their pages are faulted in (and zeroed by the kernel) batch after batch."""
    plain, kept = faults("0"), faults("1")
    assert plain > 100_000  # about 500,000 here (21,000 kept)
    assert kept < plain / 10


def test_can_be_switched_off(monkeypatch):
    import ganforge.memory as memory

    monkeypatch.setattr(memory, "_done", None)
    monkeypatch.setenv("GANFORGE_KEEP_FREED_MEMORY", "0")
    assert memory.keep_freed_memory() is False
    monkeypatch.setattr(memory, "_done", None)  # the next caller decides again
