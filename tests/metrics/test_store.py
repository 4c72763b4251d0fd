import json
import os
import stat

from ganforge.metrics.store import read_metrics_json, update_metrics_json


def test_metrics_json_is_replaced_whole_and_follows_the_umask(tmp_path):
    path = tmp_path / "run" / "metrics.json"
    old = os.umask(0o027)
    try:
        update_metrics_json(path, 100, {"FID": 12.5})
        update_metrics_json(path, 100, {"KID": 0.01})
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in path.parent.iterdir()) == ["metrics.json"]  # no temp file left
    raw = json.loads(path.read_text())
    assert (raw["step"], raw["FID"], raw["KID"]) == (100, 12.5, 0.01)
    assert read_metrics_json(path) == raw
