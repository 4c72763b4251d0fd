"""The run report: one HTML page holding its plots, sample grids and config, and nothing from the network."""

from __future__ import annotations

import base64
import io
import json
import re
from html.parser import HTMLParser

import pytest
from PIL import Image

from conftest import tiny_config, tiny_images
from ganforge.errors import CheckpointError
from ganforge.report import nice_ticks, read_run, svg_chart, write_report
from ganforge.training.trainer import Trainer


class Page(HTMLParser):
    """Collects what the tests look at: SVG series, images, every URL-bearing attribute, <pre> text."""

    def __init__(self) -> None:
        super().__init__()
        self.series: dict[str, dict] = {}  # data-series -> {"points": N, "coords": [...]}
        self.current: str | None = None
        self.images: list[str] = []
        self.urls: list[str] = []
        self.pre = ""
        self.in_pre = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("src", "href", "xlink:href", "data", "action", "poster"):
            if key in a:
                self.urls.append(a[key])
        if tag == "g" and "data-series" in a:
            self.current = a["data-series"]
            self.series.setdefault(self.current, {"points": 0, "coords": 0})
            self.series[self.current]["points"] += int(a["data-points"])
        elif tag == "polyline" and self.current:
            self.series[self.current]["coords"] += len(a["points"].split())
        elif tag == "circle" and self.current:
            self.series[self.current]["coords"] += 1
        elif tag == "img":
            self.images.append(a["src"])
        elif tag == "pre":
            self.in_pre = True

    def handle_endtag(self, tag):
        if tag == "g":
            self.current = None
        elif tag == "pre":
            self.in_pre = False

    def handle_data(self, data):
        if self.in_pre:
            self.pre += data


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny run of 8 steps (logged every 2, sampled every 4) with a metrics file and a broken line."""
    run_dir = tmp_path_factory.mktemp("report") / "run"
    Trainer(tiny_config(steps=8), run_dir, data=tiny_images(), progress=False, tensorboard=False).fit()
    metrics = [{"step": 4, "FD-EffNetLite0": 210.0}, {"step": 8, "FD-EffNetLite0": 150.5}]
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(m) + "\n" for m in metrics))
    with open(run_dir / "log.jsonl", "a") as log:
        log.write('{"step": 9, "D_loss": 0.5, "G_l')  # a line cut short by a crash
    return run_dir


def parse(path):
    page = Page()
    page.feed(path.read_text())
    return page


def test_the_report_holds_plots_samples_and_config(run):
    path = write_report(run)
    assert path == run / "report.html"
    html = path.read_text()
    page = parse(path)
    logged = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()[:-1]]
    d_steps = [row["step"] for row in logged if "D_loss" in row]
    assert d_steps == [2, 4, 6, 8]
    # one point per logged value, in the losses chart and the other charts
    for key in ("D_loss", "G_loss", "D_real", "D_fake", "lr_scale"):
        expected = sum(1 for row in logged if key in row)
        assert page.series[key]["points"] == expected == page.series[key]["coords"], key
    assert page.series["FD-EffNetLite0"]["points"] == 2
    assert html.count("<svg") >= 3
    # every sample grid the trainer wrote, as an embedded PNG that decodes to the same picture
    grids = sorted((run / "samples").iterdir())
    assert [g.name for g in grids] == ["step-000004.png", "step-000008.png"]
    assert len(page.images) == 2
    for uri, grid in zip(page.images, grids, strict=True):
        assert uri.startswith("data:image/png;base64,")
        decoded = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
        assert decoded.tobytes() == Image.open(grid).tobytes()
    assert "step 4" in html and "step 8" in html
    # the config, whole
    assert json.loads(page.pre) == json.loads((run / "config.json").read_text())
    # nothing from the network: no URL but data: ones, no scripts, no http(s) anywhere
    assert all(url.startswith("data:") for url in page.urls)
    assert "http://" not in html and "https://" not in html and "<script" not in html
    assert "1 unreadable log line(s) skipped" in html
    assert "FD-EffNetLite0 (step 8)" in html and "150.5" in html


def test_nan_breaks_the_line_and_samples_are_thinned(tmp_path):
    run = tmp_path / "run"
    (run / "samples").mkdir(parents=True)
    rows = [{"step": s, "D_loss": v} for s, v in ((10, 1.0), (20, "nan"), (30, 0.5), (40, 0.4))]
    rows.append({"step": 40, "event": "rollback", "reason": "D_main loss is nan", "to_step": 20})
    (run / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    for step in range(0, 100, 10):
        Image.new("L", (4, 4), step).save(run / "samples" / f"step-{step:06d}.png")
    path = write_report(run, tmp_path / "out" / "r.html", max_samples=4)
    page = parse(path)
    assert page.series["D_loss"]["points"] == 3  # the NaN is left out and splits the curve
    assert path.read_text().count("<circle") == 1 and path.read_text().count("<polyline") == 1
    assert len(page.images) == 4 and "4 of 10 grids" in path.read_text()
    assert "rollback" in path.read_text() and "No metrics recorded" in path.read_text()
    assert read_run(run).samples[0][0] == 0


def test_chart_scales_and_errors(tmp_path):
    assert nice_ticks(0.0, 1.0) == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert nice_ticks(-0.3, 37.0) == [0.0, 10.0, 20.0, 30.0]
    assert nice_ticks(0.0012, 0.0031) == [0.0015, 0.002, 0.0025, 0.003]
    assert nice_ticks(3.0, 3.0) == [3.0]
    svg = svg_chart({"a": [(0, 1.0), (10, 3.0), (20, 2.0)]}, "a", 300, 200)
    coords = [
        tuple(map(float, p.split(",")))
        for p in re.search(r'<polyline points="([^"]+)"', svg).group(1).split()
    ]
    assert coords[0][0] < coords[1][0] < coords[2][0]  # steps left to right
    assert coords[1][1] < coords[2][1] < coords[0][1]  # larger values higher up
    with pytest.raises(CheckpointError, match="does not exist"):
        write_report(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="not a ganforge run directory"):
        write_report(tmp_path / "empty")
