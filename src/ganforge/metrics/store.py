"""metrics.json and metrics.jsonl in a run directory, written so that no figure is ever lost.

metrics.json keeps the newest figures flat at the top level (`{"step": 1500, "FD-EffNetLite0": 12.3,
...}`, which the model card, `ganforge report` and the Hub card read) and every full evaluation
record, newest last, under "evaluations". Writers merge instead of overwriting; figures of an
older step move into "evaluations" rather than disappear. Writes are atomic.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from ganforge.errors import ConfigError
from ganforge.fileio import atomic_path

RESERVED = ("step", "evaluations", "format")
FORMAT = "ganforge-metrics/1"


def read_metrics_json(path: str | Path) -> dict[str, Any]:
    """The metrics.json at `path` ({} when absent); raises ConfigError for a file that is not one."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        raw = None
    if not isinstance(raw, dict) or not isinstance(raw.get("evaluations", []), list):
        raise ConfigError(
            f"{path} exists and is not a ganforge metrics file; it is left as is: pass --out another path"
        )
    return raw


def flat_figures(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in raw.items() if k not in RESERVED}


def update_metrics_json(
    path: str | Path, step: int | None, figures: dict[str, float], record: dict[str, Any] | None = None
) -> Path:
    """Merge `figures` (flat, by display name) measured at `step` into metrics.json, and append
    `record` (everything needed to reproduce them) to its evaluations."""
    path = Path(path)
    raw = read_metrics_json(path)
    evaluations = list(raw.get("evaluations", []))
    old = flat_figures(raw)
    if old and raw.get("step") != step:
        evaluations.append({"step": raw.get("step"), "results": old, "note": "figures of an earlier step"})
        old = {}
    if record is not None:
        evaluations.append(record)
    out = {"format": FORMAT, "step": step, **old, **figures, "evaluations": evaluations}
    _write_json(path, out)
    return path


def append_jsonl(path: str | Path, row: dict[str, Any]) -> None:
    """One line per evaluation during training (non-finite numbers as strings, as log.jsonl does)."""
    clean = {k: (str(v) if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}
    with open(path, "a") as out:
        out.write(json.dumps({"time": round(time.time(), 3), **clean}) + "\n")


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a metrics.jsonl; damaged lines (a crash mid-write) are skipped."""
    rows = []
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def latest_summary(path: str | Path) -> str | None:
    """The newest full evaluation in a metrics.json as one line, or None when there is none."""
    try:
        evaluations = [e for e in read_metrics_json(path).get("evaluations", []) if "extractor" in e]
    except ConfigError:
        return None
    if not evaluations:
        return None
    record = evaluations[-1]
    ref, fake = record.get("reference", {}), record.get("fake", {})
    figures = ", ".join(
        f"{name} {value:.4g}"
        for name, value in record.get("results", {}).items()
        if isinstance(value, (int, float)) and not name.endswith(" std")
    )
    return (
        f"{figures} ({fake.get('images')} generated images vs {ref.get('images')} of "
        f"{ref.get('dataset')}:{ref.get('split')}, {record['extractor'].get('name')} features, "
        f"step {fake.get('step')})"
    )


def _write_json(path: Path, obj: Any) -> None:
    with atomic_path(path) as tmp, open(tmp, "w") as out:
        json.dump(obj, out, indent=2)
        out.write("\n")
