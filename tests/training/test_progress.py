"""The training progress bar keeps the step count and the ETA visible on an 80-column terminal."""

import io
import re

import pytest
from rich.console import Console

from ganforge.training import progress as progress_module

LOSSES = {"D_loss": 1.2345, "G_loss": 0.98765, "D_real": 0.5, "D_fake": 0.4, "r1_penalty": 0.01}


def last_line(monkeypatch, width: int) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=True, color_system=None)
    monkeypatch.setattr(progress_module, "console", console)
    bar = progress_module.TrainProgress(2000, 0, 64, bar=True, every=25)
    bar.update(25, LOSSES)
    bar.update(50, LOSSES)
    bar.close()
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", buffer.getvalue())  # drop cursor and style codes
    return text.replace("\r", "\n").strip("\n").split("\n")[-1]


@pytest.mark.parametrize("width", [60, 80])
def test_step_and_eta_stay_visible_when_losses_do_not_fit(monkeypatch, width):
    line = last_line(monkeypatch, width)
    assert len(line) <= width
    assert line.startswith("train") and " 50/2000 " in line
    assert re.search(r" \d+:\d\d:\d\d ", line)  # the ETA
    assert "D_loss" in line and line.rstrip().endswith("…")  # the losses are cut, not the rest


def test_wide_terminal_shows_every_loss(monkeypatch):
    line = last_line(monkeypatch, 140)
    assert " 50/2000 " in line and "r1_penalty 0.010" in line and "…" not in line
