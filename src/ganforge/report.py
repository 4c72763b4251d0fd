"""A run report: one self-contained HTML page about a training run, readable offline.

It holds a summary, the loss curves and every other logged scalar (from `log.jsonl`), the metric
curves (from `metrics.jsonl` and the final `metrics.json`), the sample grids the trainer wrote over
training (`samples/step-*.png`, embedded as base64 PNGs), events such as health-guard rollbacks,
and the resolved config. Curves are inline SVG drawn here; the page loads nothing from anywhere:
no scripts, no fonts, no CDN.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganforge.errors import CheckpointError

Point = tuple[float, float | None]  # (step, value); None breaks the line (NaN, inf)
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
MAX_POINTS = 4000  # per series; longer series are thinned evenly, keeping the first and last point
NOT_SCALARS = ("step", "time", "event")
NON_FINITE = ("nan", "inf", "-inf", "infinity", "-infinity")
_SAMPLE = re.compile(r"step-(\d+)\.png$")


@dataclass
class RunRecord:
    """What a run directory says about itself."""

    path: Path
    config: dict[str, Any]
    scalars: dict[str, list[Point]] = field(default_factory=dict)  # from log.jsonl
    metrics: dict[str, list[Point]] = field(default_factory=dict)  # from metrics.jsonl / metrics.json
    events: list[dict[str, Any]] = field(default_factory=list)
    samples: list[tuple[int, Path]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    skipped_lines: int = 0


def _value(raw: Any) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        return None
    try:
        value = float(raw)  # the logger writes NaN and inf as strings
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _jsonl(path: Path) -> tuple[list[dict[str, Any]], int]:
    rows, bad = [], 0
    if not path.is_file():
        return rows, bad
    for line in path.read_text(errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            bad += 1  # e.g. a line cut short by a crash
            continue
        if isinstance(row, dict) and isinstance(row.get("step"), (int, float)):
            rows.append(row)
        else:
            bad += 1
    return rows, bad


def _add(table: dict[str, list[Point]], step: float, row: dict[str, Any]) -> None:
    """Every number in `row` (and NaN/inf, which the logger writes as strings) as a point at `step`."""
    for key, raw in row.items():
        if key in NOT_SCALARS or isinstance(raw, bool):
            continue
        if isinstance(raw, (int, float)) or (isinstance(raw, str) and raw.strip().lower() in NON_FINITE):
            table.setdefault(key, []).append((step, _value(raw)))


def read_run(run_dir: str | Path) -> RunRecord:
    """Read a run directory's logs, metrics, sample grids and config."""
    path = Path(run_dir)
    if not path.is_dir():
        raise CheckpointError(f"{path} does not exist; pass a run directory such as runs/00000-dcgan-mnist")
    if not (path / "log.jsonl").is_file() and not (path / "config.json").is_file():
        raise CheckpointError(f"{path} is not a ganforge run directory (it has no log.jsonl or config.json)")
    config: dict[str, Any] = {}
    if (path / "config.json").is_file():
        try:
            config = json.loads((path / "config.json").read_text())
        except json.JSONDecodeError as err:
            raise CheckpointError(f"{path / 'config.json'} is not valid JSON ({err.msg})") from None
    record = RunRecord(path, config)
    rows, record.skipped_lines = _jsonl(path / "log.jsonl")
    for row in rows:
        if isinstance(row.get("time"), (int, float)):
            record.times.append(float(row["time"]))
        if "event" in row:
            record.events.append(row)
        else:
            _add(record.scalars, float(row["step"]), row)
    metric_rows, bad = _jsonl(path / "metrics.jsonl")
    record.skipped_lines += bad
    for row in metric_rows:
        _add(record.metrics, float(row["step"]), row)
    if (path / "metrics.json").is_file():
        try:
            final = json.loads((path / "metrics.json").read_text())
        except json.JSONDecodeError:
            final = None
            record.skipped_lines += 1
        if isinstance(final, dict) and isinstance(final.get("step"), (int, float)):
            for key, points in _split(final).items():
                known = record.metrics.setdefault(key, [])
                known.extend(p for p in points if p not in known)
    # held-out metrics the trainer also logs to log.jsonl belong with the metrics, not the losses
    for key in [k for k in record.scalars if k in record.metrics]:
        points = record.metrics[key] + [p for p in record.scalars.pop(key) if p not in record.metrics[key]]
        record.metrics[key] = points
    for key in record.metrics:
        record.metrics[key].sort(key=lambda p: p[0])
    folder = path / "samples"
    if folder.is_dir():
        found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _SAMPLE.search(p.name))]
        record.samples = sorted(found)
    return record


def _split(row: dict[str, Any]) -> dict[str, list[Point]]:
    table: dict[str, list[Point]] = {}
    _add(table, float(row["step"]), row)
    return table


# ---------------------------------------------------------------- SVG charts


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About `count` round tick values in [low, high]: steps of 1, 2, 2.5 or 5 times a power of ten."""
    if high <= low:
        return [low]
    raw = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * (1 - 1e-9))
    first = math.ceil(low / step - 1e-9)
    last = math.floor(high / step + 1e-9)
    return [round(k * step, 12) + 0.0 for k in range(first, last + 1)]


def _label(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1e5 or abs(value) < 1e-3:
        return f"{value:.1e}"
    return f"{value:.4g}"


def _thin(points: list[Point]) -> list[Point]:
    if len(points) <= MAX_POINTS:
        return points
    stride = (len(points) - 1) / (MAX_POINTS - 1)
    return [points[round(i * stride)] for i in range(MAX_POINTS)]


def svg_chart(series: dict[str, list[Point]], title: str, width: int = 600, height: int = 240) -> str:
    """A line chart of step -> value for each named series, as an inline <svg> element.

    Each series is one <g class="series" data-series=NAME data-points=N> of <polyline>s (a NaN/inf
    value breaks the line) and <circle>s for points standing alone."""
    left, right, top, bottom = 58, 12, 26, 34
    finite = [(x, y) for pts in series.values() for x, y in pts if y is not None]
    xs = [x for pts in series.values() for x, _ in pts]
    if not xs:
        return ""
    x0, x1 = min(xs), max(xs)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    ys = [y for _, y in finite] or [0.0]
    y0, y1 = min(ys), max(ys)
    pad = (y1 - y0) * 0.05 or max(abs(y0) * 0.1, 1e-3)
    y0, y1 = y0 - pad, y1 + pad
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * plot_w

    def py(y: float) -> float:
        return top + (1 - (y - y0) / (y1 - y0)) * plot_h

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{html.escape(title)}">',
        f'<text x="{left}" y="16" class="title">{html.escape(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" class="frame"/>',
    ]
    for t in nice_ticks(y0, y1):
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{py(t):.1f}" y2="{py(t):.1f}" class="grid"/>'
        )
        parts.append(f'<text x="{left - 4}" y="{py(t) + 4:.1f}" class="ytick">{_label(t)}</text>')
    for t in nice_ticks(x0, x1, 6):
        parts.append(f'<text x="{px(t):.1f}" y="{top + plot_h + 16}" class="xtick">{_label(t)}</text>')
    parts.append(f'<text x="{left + plot_w / 2}" y="{height - 2}" class="xtick">step</text>')
    for i, (name, points) in enumerate(series.items()):
        color = COLORS[i % len(COLORS)]
        shown = _thin(points)
        count = sum(1 for _, y in shown if y is not None)
        parts.append(
            f'<g class="series" data-series="{html.escape(name)}" data-points="{count}" '
            f'data-total="{len(points)}" stroke="{color}" fill="{color}"><title>{html.escape(name)}</title>'
        )
        runs: list[list[tuple[float, float]]] = [[]]
        for x, y in shown:
            if y is None:
                runs.append([])
            else:
                runs[-1].append((px(x), py(y)))
        for run in runs:
            if len(run) == 1:
                parts.append(f'<circle cx="{run[0][0]:.1f}" cy="{run[0][1]:.1f}" r="2.5"/>')
            elif run:
                coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                parts.append(f'<polyline points="{coords}" fill="none"/>')
        parts.append("</g>")
        if len(series) > 1:  # one series is named by the title
            parts.append(
                f'<text x="{width - right - 110 * (len(series) - i)}" y="16" class="legend" '
                f'style="fill: {color}">&#9644; {html.escape(name)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


# ---------------------------------------------------------------- the page

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1260px; padding: 0 16px; }
body { color: #222; } h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; }
table.summary td { padding: 2px 14px 2px 0; vertical-align: top; }
table.summary td:first-child { color: #666; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
svg.chart { background: #fff; border: 1px solid #e4e4e4; max-width: 100%; height: auto; }
svg .frame { fill: none; stroke: #bbb; } svg .grid { stroke: #eee; }
svg .series polyline { stroke-width: 1.6; } svg .series { fill-opacity: 1; }
svg text { font: 11px system-ui, sans-serif; fill: #555; } svg .title { font-size: 13px; fill: #222; }
svg .ytick { text-anchor: end; } svg .xtick { text-anchor: middle; } svg .legend { font-size: 12px; }
.samples { display: flex; flex-wrap: wrap; gap: 10px; }
.samples figure { margin: 0; text-align: center; font-size: 12px; color: #555; }
.samples img { width: 220px; image-rendering: pixelated; border: 1px solid #ddd; display: block; }
pre { background: #f6f6f6; padding: 10px; overflow: auto; font-size: 12px; }
.note { color: #777; }
"""


def _summary(record: RunRecord) -> list[tuple[str, str]]:
    cfg = record.config
    data, train = cfg.get("data") or {}, cfg.get("train") or {}
    last_step = max([int(p[0]) for pts in record.scalars.values() for p in pts] + [0])
    done = [e for e in record.events if e.get("event") in ("finished", "interrupted")]
    status = done[-1]["event"] if done else "running or stopped without a final event"
    if done:
        last_step = max(last_step, int(done[-1]["step"]))
    rows = [
        ("run", record.path.name),
        ("recipe", str(cfg.get("recipe", "?"))),
        (
            "data",
            f"{data.get('source', '?')} at {data.get('size', '?')} px, "
            f"{data.get('channels') or '?'} channel(s)",
        ),
        (
            "steps",
            f"{last_step:,} of {train.get('steps', '?'):,}"
            if isinstance(train.get("steps"), int)
            else f"{last_step:,}",
        ),
        ("batch size", str(train.get("global_batch") or train.get("batch_size", "?"))),
        ("status", status),
    ]
    if len(record.times) > 1:
        rows.append(("logged time", f"{(max(record.times) - min(record.times)) / 60:.1f} min"))
    rollbacks = [e for e in record.events if e.get("event") == "rollback"]
    if rollbacks:
        rows.append(("health-guard rollbacks", str(len(rollbacks))))
    for key, points in sorted(record.metrics.items()):
        finite = [p for p in points if p[1] is not None]
        if finite:
            rows.append((f"{key} (step {int(finite[-1][0]):,})", f"{finite[-1][1]:.4g}"))
    return rows


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _pick(samples: list[tuple[int, Path]], limit: int) -> list[tuple[int, Path]]:
    """At most `limit` grids, evenly spread over training, always the first and the last."""
    if len(samples) <= limit:
        return samples
    if limit <= 1:
        return samples[-1:]
    index = sorted({round(i * (len(samples) - 1) / (limit - 1)) for i in range(limit)})
    return [samples[i] for i in index]


def render_report(record: RunRecord, max_samples: int = 24) -> str:
    """The report page as one HTML string."""
    esc = html.escape
    title = f"ganforge run {record.path.name}"
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        '<table class="summary">',
    ]
    out += [f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in _summary(record)]
    out.append("</table>")
    losses = {k: v for k, v in record.scalars.items() if "loss" in k.lower()}
    others = {k: v for k, v in record.scalars.items() if k not in losses}
    out.append("<h2>Losses</h2>")
    out.append(
        f'<div class="charts">{svg_chart(losses, "losses", 900, 320)}</div>'
        if losses
        else '<p class="note">No losses logged yet.</p>'
    )
    if others:
        out.append('<h2>Other logged values</h2><div class="charts">')
        out += [svg_chart({k: v}, k, 410, 210) for k, v in others.items()]
        out.append("</div>")
    out.append("<h2>Metrics</h2>")
    if record.metrics:
        out.append('<div class="charts">')
        out += [svg_chart({k: v}, k, 410, 210) for k, v in record.metrics.items()]
        out.append("</div>")
    else:
        out.append('<p class="note">No metrics recorded (metrics.jsonl / metrics.json).</p>')
    out.append("<h2>Samples over training</h2>")
    chosen = _pick(record.samples, max_samples)
    if chosen:
        if len(chosen) < len(record.samples):
            out.append(f'<p class="note">{len(chosen)} of {len(record.samples)} grids, evenly spaced.</p>')
        out.append('<div class="samples">')
        out += [
            f'<figure><img src="{_data_uri(p)}" alt="samples at step {s}"><figcaption>step {s:,}'
            "</figcaption></figure>"
            for s, p in chosen
        ]
        out.append("</div>")
    else:
        out.append('<p class="note">No sample grids in samples/.</p>')
    notable = [e for e in record.events if e.get("event") not in ("finished",)]
    if notable:
        out.append("<h2>Events</h2><ul>")
        for e in notable:
            fields = ", ".join(f"{k}={v}" for k, v in e.items() if k not in ("step", "time", "event"))
            detail = f" ({fields})" if fields else ""
            out.append(f"<li>step {int(e['step']):,}: {esc(str(e['event']) + detail)}</li>")
        out.append("</ul>")
    if record.skipped_lines:
        out.append(f'<p class="note">{record.skipped_lines} unreadable log line(s) skipped.</p>')
    out.append("<h2>Config</h2>")
    out.append(f"<pre>{esc(json.dumps(record.config, indent=2))}</pre>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def write_report(run_dir: str | Path, out: str | Path | None = None, max_samples: int = 24) -> Path:
    """Write the report of `run_dir` to `out` (default `<run_dir>/report.html`); returns its path."""
    record = read_run(run_dir)
    path = Path(out) if out is not None else record.path / "report.html"
    if path.is_dir():
        path = path / "report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(render_report(record, max_samples), encoding="utf-8")
    os.replace(partial, path)  # a reader never sees half a page
    return path
