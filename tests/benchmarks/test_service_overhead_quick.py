"""The per-trial overhead benchmark runs end to end on a tiny table (cold, child, steered)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_service_overhead_benchmark_measures_all_three_modes(tmp_path: Path) -> None:
    out = tmp_path / "overhead.json"
    command = [
        sys.executable,
        str(REPO_ROOT / "benchmarks" / "service_overhead.py"),
        *("--trials", "3", "--rows", "200", "--warm-start", "2", "--out", str(out)),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "| steered | 3 | 2 |" in done.stdout
    results = json.loads(out.read_text())["results"]
    assert [(r["mode"], r["trials"], r["warm_start"]) for r in results] == [
        ("inline", 3, 0),
        ("child", 3, 0),
        ("steered", 3, 2),
    ]
    assert all(r["failed"] == 0 and r["cv_s"] > 0 for r in results)
    assert "bare_cv_s" in results[0]
