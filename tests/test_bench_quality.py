"""bench/quality.py's collection of rows from quality_*.py modules and its table, without training."""

from __future__ import annotations

import json
import math

import pytest

from conftest import load_bench


@pytest.fixture(scope="module")
def quality():
    return load_bench("quality")


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


SEEDED_MODULE = """
FD = {0: 98.0, 1: 104.0, 2: 101.0}

def score(threads, quick, seed=0):
    fd = FD[seed]
    return {"cpu_min": 19.0 + seed, "steps": 100, "metrics": {"FD-x": fd}, "floor": {"FD-x": 24.0},
            "ceiling": {"FD-x": 381.0}, "checks": {"FD-x": ("<=", 100)}, "cpu_limit": 20,
            "verdict": "pass" if fd <= 100 else "fail", "notes": f"seed {seed}"}

def unseeded(threads, quick):
    return {"cpu_min": 2.0, "metrics": {"acc": 0.5}, "verdict": "pass", "notes": "once"}

def no_checks(threads, quick, seed=0):
    return {"metrics": {"acc": 0.9 + seed / 100}, "verdict": "pass" if seed else "fail"}

ROWS = [{"preset": "seeded", "score": score}, {"preset": "unseeded", "score": unseeded},
        {"preset": "no-checks", "score": no_checks}]
"""


def test_seeds_average_each_metric_and_judge_the_mean(quality, tmp_path, monkeypatch):
    (tmp_path / "quality_seeded.py").write_text(SEEDED_MODULE)
    rows = quality.collect_rows(tmp_path)
    assert [quality.takes_seed(r["score"]) for r in rows] == [True, False, True]
    real = {r["preset"]: quality.takes_seed(r["score"]) for r in quality.collect_rows()}
    assert (
        real["fastgan-emoji64"]
        and real["fastgan-emoji64-groups"]
        and real["cdcgan-mnist"]
        and real["dtn-digits"]
        and real["sgan-mnist --labels 100"]
    )
    (two,) = quality.run_rows(rows[:1], threads=1, quick=False, seeds=2)
    three, once, mixed = quality.run_rows(rows, threads=1, quick=False, seeds=3)
    # seeds 0, 1: FD 98 and 104, mean 101 > 100 although seed 0 alone passes
    assert two["metrics"] == {"FD-x": 101.0} and two["spread"] == {"FD-x": (98.0, 104.0)}
    assert two["verdict"] == "fail" and two["seeds"] == 2 and two["cpu_min"] == 19.5
    assert two["per_seed"] == [{"FD-x": 98.0}, {"FD-x": 104.0}] and two["floor"] == {"FD-x": 24.0}
    assert two["notes"].startswith("mean of training seeds 0-1 (per seed, FD-x: 98 / 104.0); seed 0")
    # seeds 0-2: mean 101 still; a row without a seed runs once and says so
    assert three["metrics"] == {"FD-x": 101.0} and three["verdict"] == "fail"
    assert once["metrics"] == {"acc": 0.5} and "seeds" not in once
    assert once["notes"] == "one run: this row takes no seed; once"
    # no bounds to judge the mean by: the seeds' verdicts, counted when they disagree
    assert mixed["verdict"] == "mixed 2/3"
    assert mixed["spread"]["acc"] == pytest.approx((0.9, 0.92))
    line = quality.table([two]).splitlines()[2]
    assert line == "| seeded | 19.5 | 100 | FD-x | 101.0 (98 to 104.0) | 24 | 381.0 |  |  | fail |"


def test_each_seed_s_figures_are_logged_as_it_finishes(quality, tmp_path, capsys):
    (tmp_path / "quality_seeded.py").write_text(SEEDED_MODULE)
    rows = quality.collect_rows(tmp_path)
    quality.run_rows(rows[:1], threads=1, quick=False, seeds=2)
    err = capsys.readouterr().err
    lines = [line.strip() for line in err.splitlines() if line.strip().startswith("seed ")]
    assert lines == ["seed 0: FD-x 98, 19.0 CPU-min (pass)", "seed 1: FD-x 104.0, 20.0 CPU-min (fail)"]
    assert quality.seed_summary({"metrics": {"FD": 106.62}, "cpu_min": 19.44, "verdict": "fail"}) == (
        "FD 106.6, 19.4 CPU-min (fail)"
    )
    assert quality.seed_summary({}) == " (n/a)"


def test_the_mean_must_also_keep_to_the_cpu_budget(quality):
    runs = [
        {
            "cpu_min": cpu,
            "metrics": {"FD": 90.0},
            "checks": {"FD": ("<=", 100)},
            "cpu_limit": 20,
            "verdict": v,
        }
        for cpu, v in ((19.0, "pass"), (22.0, "fail"))
    ]
    assert quality.combine(runs)["verdict"] == "fail"  # mean 20.5 CPU-minutes is over 20
    runs[1]["cpu_min"] = 20.5
    assert quality.combine(runs)["verdict"] == "pass"  # mean 19.75


def test_seeds_below_one_are_refused(quality, capsys):
    with pytest.raises(SystemExit):
        quality.main(["--seeds", "0"])
    assert "--seeds must be at least 1, got 0" in capsys.readouterr().err
