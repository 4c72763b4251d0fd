"""Metric names as users type them, and what each figure is called; no heavy imports (config uses it)."""

from __future__ import annotations

from collections.abc import Sequence

from ganforge.errors import ConfigError

# what a user may type -> the metric it selects
ALIASES = {
    "fid": "fd",
    "fd": "fd",
    "kid": "kid",
    "pr": "pr",
    "precision": "pr",
    "recall": "pr",
    "is": "is",
    "acc": "acc",
    "accuracy": "acc",
}
METRICS = ("fd", "kid", "pr", "is", "acc")
DESCRIPTIONS = {
    "fd": "Fréchet distance of the features (FID with the standard Inception weights); lower is better",
    "kid": "kernel distance (KID, Bińkowski et al. 2018), mean and std over subsets; lower is better",
    "pr": "improved precision and recall (Kynkäänniemi et al. 2019, k=3), density and coverage "
    "(Naeem et al. 2020); higher is better",
    "is": "Inception Score (Salimans et al. 2016) on the extractor's classifier; higher is better",
    "acc": "accuracy of the extractor's classifier on class-conditional output; higher is better",
}
LOWER_IS_BETTER = {"fd": True, "kid": True, "pr": False, "is": False, "acc": False}
EXTRACTOR_NAMES = ("inception", "effnet-lite0", "digits-lenet", "fashion-lenet")


def parse_metrics(spec: str | Sequence[str]) -> list[str]:
    """'fid,kid,pr' or ['fid', 'kid'] -> ['fd', 'kid', 'pr'] (order kept, repeats dropped)."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    out: list[str] = []
    for item in (i.strip().lower() for i in items):
        if not item:
            continue
        if item not in ALIASES:
            raise ConfigError(f"unknown metric {item!r}; use any of: fid, kid, pr, is, acc, comma-separated")
        if ALIASES[item] not in out:
            out.append(ALIASES[item])
    if not out:
        raise ConfigError("no metric given; use e.g. --metrics fid,kid")
    return out


def check_extractor_name(name: str, flag: str = "--features") -> None:
    if name not in EXTRACTOR_NAMES:
        raise ConfigError(
            f"{flag} {name!r} is not a feature extractor; use one of: {', '.join(EXTRACTOR_NAMES)}"
        )
