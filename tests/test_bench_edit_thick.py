"""bench/edit_thick.py's figures of a `thick` slider, on a stand-in stroke generator (no training)."""

from __future__ import annotations

import pytest
import torch

from conftest import StrokeG, load_bench, tiny_config, tiny_images
from ganforge.editing.attributes import label_directions
from ganforge.editing.store import DirectionSet
from ganforge.pipelines.edit import EditPipeline
from ganforge.training.trainer import Trainer


@pytest.fixture(scope="module")
def bench():
    return load_bench("edit_thick")


@pytest.fixture(autouse=True)
def keep_torch_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_a_slider_that_widens_strokes_is_measured_as_rising(bench):
    torch.set_num_threads(1)
    G = StrokeG()
    dirs, classifier = label_directions(G, "thickness", n=400)
    pipe = EditPipeline(G, DirectionSet({d.name: d for d in dirs}))
    fig = bench.slider_figures(pipe, classifier, [-2.0, 0.0, 2.0], seeds=12)
    assert len(fig["score_by_step"]) == len(fig["width_by_step"]) == 3
    assert fig["score_by_step"][0] < fig["score_by_step"][1] < fig["score_by_step"][2]
    assert fig["width_by_step"][0] < fig["width_by_step"][2]
    assert fig["wider_seeds"] >= 10 and fig["width_growth"] > 0.5  # z[0] is the stroke's half-width
    assert fig["rising_seeds"] >= 8 and fig["rising_steps"] > 0.75  # measured: 11 of 12, 96%
    # the same strip backwards reads as thinning: every step that rose now falls, no seed rises
    back = bench.slider_figures(pipe, classifier, [2.0, 0.0, -2.0], seeds=12)
    assert back["rising_seeds"] == 0 and back["wider_seeds"] == 0
    assert back["rising_steps"] == pytest.approx(1.0 - fig["rising_steps"])
    assert back["width_growth"] == pytest.approx(-fig["width_growth"])


def test_a_run_without_a_thick_slider_is_one_clear_error(bench, tmp_path, capsys):
    run = tmp_path / "run"
    Trainer(tiny_config(steps=2), run, data=tiny_images(), progress=False, tensorboard=False).fit()
    with pytest.raises(SystemExit) as exit_info:
        bench.main([str(run)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "has no `thick` direction" in err and "--method labels --data thickness" in err
    with pytest.raises(SystemExit):
        bench.main([str(run), "--steps", "1"])
    assert "--steps >= 2" in capsys.readouterr().err
