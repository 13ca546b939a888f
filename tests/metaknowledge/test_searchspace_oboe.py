"""Every configuration of Oboe's knowledge base is exactly one point of the space, and back.

The grids are Oboe 0.2.0's ``defaults/Oboe/classification.json``, copied here as literals so the
test runs on a fresh clone; their product is the 219 columns of Oboe's ``error_matrix.csv``.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from metaknowledge.searchspace import encode, from_flat, to_flat, validate_params

OBOE_TO_LEARNER = {
    "KNN": "knn",
    "DT": "decision_tree",
    "RF": "random_forest",
    "GBT": "gradient_boosting",
    "AB": "adaboost",
    "lSVM": "linear_svm",
    "kSVM": "kernel_svm",
    "Logit": "logistic_regression",
    "Perceptron": "perceptron",
    "GNB": "gaussian_nb",
    "MLP": "mlp",
    "ExtraTrees": "extra_trees",
}

_SPLITS = [2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]

OBOE_GRIDS: dict[str, dict[str, list[Any]]] = {
    "KNN": {"n_neighbors": [1, 3, 5, 7, 9, 11, 13, 15], "p": [1, 2]},
    "DT": {"min_samples_split": [*_SPLITS, 0.01, 0.001, 0.0001, 1e-05]},
    "RF": {
        "min_samples_split": [*_SPLITS, 0.1, 0.01, 0.001, 0.0001, 1e-05],
        "criterion": ["gini", "entropy"],
    },
    "GBT": {
        "learning_rate": [0.001, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5],
        "max_depth": [3, 6],
        "max_features": [None, "log2"],
    },
    "AB": {"n_estimators": [50, 100], "learning_rate": [1.0, 1.5, 2.0, 2.5, 3.0]},
    "lSVM": {"C": [0.125, 0.25, 0.5, 0.75, 1, 2, 4, 8, 16]},
    "kSVM": {
        "C": [0.125, 0.25, 0.5, 0.75, 1, 2, 4, 8, 16],
        "kernel": ["rbf", "poly"],
        "coef0": [0, 10],
    },
    "Logit": {
        "C": [0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4],
        "solver": ["liblinear", "saga"],
        "penalty": ["l1", "l2"],
    },
    "Perceptron": {},
    "GNB": {},
    "MLP": {
        "learning_rate_init": [0.0001, 0.001, 0.01],
        "learning_rate": ["adaptive"],
        "solver": ["sgd", "adam"],
        "alpha": [0.0001, 0.01],
    },
    "ExtraTrees": {
        "min_samples_split": [*_SPLITS, 0.1, 0.01, 0.001, 0.0001, 1e-05],
        "criterion": ["gini", "entropy"],
    },
}


def _oboe_configs() -> list[tuple[str, dict[str, Any]]]:
    configs = []
    for algorithm, grid in OBOE_GRIDS.items():
        for values in itertools.product(*grid.values()):
            configs.append((OBOE_TO_LEARNER[algorithm], dict(zip(grid, values, strict=True))))
    return configs


CONFIGS = _oboe_configs()
TASK = "classification"


def test_grid_has_the_219_configurations_of_the_error_matrix() -> None:
    assert len(CONFIGS) == 219


@pytest.mark.parametrize(("learner", "params"), CONFIGS, ids=[f"{name}-{p}" for name, p in CONFIGS])
def test_config_is_one_point_and_back(learner: str, params: dict[str, Any]) -> None:
    point = validate_params(learner, params, task_type=TASK)
    for name, value in params.items():
        assert point[name] == value, name
        assert type(point[name]) is type(value) or isinstance(point[name], float), name
    assert validate_params(learner, point, task_type=TASK) == point
    assert from_flat(to_flat(learner, point, task_type=TASK), task_type=TASK) == (learner, point)


def test_configs_map_to_distinct_points_and_encodings() -> None:
    points = set()
    vectors: dict[str, list[np.ndarray]] = {}
    for learner, params in CONFIGS:
        point = validate_params(learner, params, task_type=TASK)
        points.add((learner, tuple(sorted(point.items(), key=repr))))
        vectors.setdefault(learner, []).append(encode(learner, params, task_type=TASK))
    assert len(points) == len(CONFIGS)
    for learner, rows in vectors.items():
        assert len({row.tobytes() for row in rows}) == len(rows), learner


def test_integer_written_floats_are_the_same_value() -> None:
    as_int = validate_params("kernel_svm", {"C": 1, "kernel": "rbf", "coef0": 0}, task_type=TASK)
    as_float = validate_params(
        "kernel_svm", {"C": 1.0, "kernel": "rbf", "coef0": 0.0}, task_type=TASK
    )
    assert as_int == as_float
    assert isinstance(as_int["C"], float)
    assert isinstance(as_int["coef0"], float)


def test_min_samples_split_keeps_its_sklearn_type() -> None:
    count = validate_params("random_forest", {"min_samples_split": 16}, task_type=TASK)
    fraction = validate_params("random_forest", {"min_samples_split": 1e-05}, task_type=TASK)
    assert count["min_samples_split"] == 16
    assert type(count["min_samples_split"]) is int
    assert fraction["min_samples_split"] == 1e-05
    assert type(fraction["min_samples_split"]) is float
    flat = to_flat("random_forest", fraction, task_type=TASK)
    assert flat["random_forest.min_samples_split_mode"] == "fraction"
    assert flat["random_forest.min_samples_split_fraction"] == 1e-05
    assert "random_forest.min_samples_split" not in flat
