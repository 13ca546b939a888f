"""The ``flaml-zeroshot`` strategy's mapping, when FLAML is installed (the ``bench`` extra)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks.e2e._problem import Problem
from metaknowledge.searchspace import validate_params

pytest.importorskip("flaml.default", reason="flaml is in the bench extra, not the test extra")


def test_flaml_suggestions_become_points_of_our_space(tmp_path: Path) -> None:
    from benchmarks.e2e._flaml import flaml_missing_reason, zeroshot_configs

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4))
    frame = pd.DataFrame(x, columns=["a", "b", "c", "d"])
    frame["target"] = np.where(x[:, 0] + x[:, 1] > 0, "yes", "no")
    path = tmp_path / "table.csv"
    frame.to_csv(path, index=False)
    problem = Problem(
        name="table",
        csv_path=path,
        task_type="classification",
        metric="balanced_accuracy",
        maximize=True,
        n_rows=300,
        metafeatures={},
        class_counts=tuple(frame["target"].value_counts()),
        openml_did=None,
    )
    assert flaml_missing_reason() is None
    configs = zeroshot_configs(problem, ["random_forest", "extra_trees", "knn"])
    assert [learner for learner, _ in configs] == ["random_forest", "extra_trees"]
    for learner, params in configs:
        assert params == validate_params(learner, params, task_type="classification")
    assert zeroshot_configs(problem, ["knn"]) == []


def test_a_fraction_of_the_features_becomes_the_nearest_choice() -> None:
    from benchmarks.e2e._flaml import _nearest_max_features

    assert _nearest_max_features(0.1, 100) == "sqrt"  # 10 features
    assert _nearest_max_features(0.07, 100) == "log2"  # 7 ~ 6.6
    assert _nearest_max_features(0.9, 100) is None  # all
