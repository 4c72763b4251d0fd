"""bench/quality.py's collection of rows from quality_*.py modules and its table, without training."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "quality.py"


@pytest.fixture(scope="module")
def quality():
    spec = importlib.util.spec_from_file_location("bench_quality", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ROW_MODULE = """
def score(threads, quick):
    return {"cpu_min": 1.5, "steps": 10 if quick else 1000, "metrics": {"FD-x": 12.25, "acc": 0.9},
            "floor": {"FD-x": 5.0}, "ceiling": {"FD-x": 700.0}, "verdict": "pass", "notes": f"t={threads}"}

def broken(threads, quick):
    raise RuntimeError("no data here")

ROWS = [{"preset": "toy", "budget": "1 min", "target": "FD-x <= 20", "score": score},
        {"preset": "toy-broken", "score": broken}]
"""


def test_rows_are_collected_from_every_quality_module(quality, tmp_path):
    (tmp_path / "quality_toy.py").write_text(ROW_MODULE)
    (tmp_path / "quality_empty.py").write_text("X = 1\n")  # no ROWS: contributes nothing
    (tmp_path / "other.py").write_text("ROWS = [{'preset': 'ignored', 'score': None}]\n")  # not quality_*
    rows = quality.collect_rows(tmp_path)
    assert [r["preset"] for r in rows] == ["toy", "toy-broken"]
    assert rows[0]["module"] == "quality_toy.py" and rows[1]["budget"] == ""
    # the real folder: this file's own rows come first
    own = [r["preset"] for r in quality.collect_rows()]
    assert own[:3] == ["dcgan-mnist", "cdcgan-mnist", "dcgan-fashion"]


def test_a_row_without_a_score_is_refused_by_name(quality, tmp_path):
    (tmp_path / "quality_bad.py").write_text("ROWS = [{'preset': 'bad'}]\n")
    with pytest.raises(ValueError, match="quality_bad.py: a ROWS entry lacks score"):
        quality.collect_rows(tmp_path)


def test_the_table_shows_each_metric_beside_floor_ceiling_and_a_broken_row_as_failed(quality, tmp_path):
    (tmp_path / "quality_toy.py").write_text(ROW_MODULE)
    results = quality.run_rows(quality.collect_rows(tmp_path), threads=2, quick=True)
    assert results[0]["steps"] == 10 and results[0]["notes"] == "t=2"
    assert results[1]["verdict"] == "fail" and "RuntimeError: no data here" in results[1]["notes"]
    lines = quality.table(results).splitlines()
    assert lines[0].startswith("| preset | CPU-min | steps | metric | value | floor | ceiling |")
    assert lines[1] == "|---" * 10 + "|"
    assert lines[2] == "| toy | 1.5 | 10 | FD-x | 12.2 | 5 | 700.0 |  | FD-x <= 20 | pass |"
    assert lines[3] == "|  |  |  | acc | 0.9 |  |  |  |  |  |"
    assert lines[4].startswith("| toy-broken |  |  | (error) | nan |") and lines[4].endswith("| fail |")


def test_main_prints_the_table_and_writes_json(quality, tmp_path, monkeypatch, capsys):
    (tmp_path / "quality_toy.py").write_text(ROW_MODULE)
    collect = quality.collect_rows
    monkeypatch.setattr(quality, "collect_rows", lambda: collect(tmp_path))
    out = tmp_path / "q.json"
    assert quality.main(["--preset", "toy", "--json", str(out), "--quick"]) == 0
    printed = capsys.readouterr().out
    assert "| toy | 1.5 | 10 | FD-x | 12.2 |" in printed and "toy-broken" not in printed
    saved = json.loads(out.read_text())
    assert saved["rows"][0]["metrics"] == {"FD-x": 12.25, "acc": 0.9} and "score" not in saved["rows"][0]
    with pytest.raises(SystemExit):
        quality.main(["--preset", "nope"])
    assert "no row for preset 'nope'; rows: toy, toy-broken" in capsys.readouterr().err


def test_verdict_checks_every_bound(quality):
    checks = {"FD": ("<=", 20), "acc": (">=", 0.97)}
    assert quality.verdict({"FD": 19.0, "acc": 0.98}, checks) == "pass"
    assert quality.verdict({"FD": 21.0, "acc": 0.98}, checks) == "fail"
    assert quality.verdict({"FD": 19.0}, checks) == "fail"  # a missing metric is not a pass
    assert quality.verdict({"FD": math.nan}, {}) == "n/a"
