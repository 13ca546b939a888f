"""``--task regression``: the meta-learning strategies use the bundled regression knowledge base,
as the service does for a regression task, and a KB dataset of the same name is held out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.e2e import main

STRATEGIES = ["warmstart", "tpe", "knn-warmstart"]


def _table(rng: np.random.Generator, rows: int, features: int) -> pd.DataFrame:
    X = rng.normal(size=(rows, features))
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(features)]).round(4)
    frame["target"] = (X[:, 0] - 0.5 * X[:, 1] + rng.normal(scale=0.3, size=rows)).round(4)
    return frame


def test_regression_runs_the_warm_starts_on_the_regression_kb(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    # "1_boston" is named like one of the regression KB's datasets (auto-sklearn's "boston").
    shapes = {"1_boston": (70, 3), "tiny_r": (60, 4)}
    rows = []
    for name, (n, p) in shapes.items():
        _table(rng, n, p).to_csv(data / f"{name}.csv", index=False)
        rows.append({"name": name, "n": n, "p": p, "task": "regression", "openml_did": ""})
    pd.DataFrame(rows).to_csv(data / "inventory.csv", index=False)
    out = tmp_path / "results"

    args = ["--task", "regression", "--quick", "--jobs", "1", "--strategies", *STRATEGIES]
    code = main([str(data), *args, "--out", str(out)])

    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["strategies_skipped"] == {}
    assert set(summary["strategies"]) == set(STRATEGIES)
    for name in shapes:
        run = json.loads((out / "runs" / name / "seed0" / "warmstart.json").read_text())
        assert run["task_type"] == "regression" and run["metric"] == "r2"
        assert run["kb_version"].startswith("regression-")
        knn = json.loads((out / "runs" / name / "seed0" / "knn-warmstart.json").read_text())
        assert [t["source"] for t in knn["trials"][:3]] == ["warm_start"] * 3
        sources = [t["source"] for t in run["trials"]]
        assert sources[:3] == ["warm_start"] * 3  # --quick: --warm-k 3
        assert all(t["score"] is not None for t in run["trials"][:3])
        if name == "1_boston":
            assert run["holdout"]["reason"] == "name" and len(run["holdout"]["kb_ids"]) == 1
        else:
            assert run["holdout"]["kb_ids"] == []
    assert summary["holdout"]["n_datasets_in_kb"] == 1
