"""Table preprocessing and estimator construction of :func:`build_pipeline`."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline

from metaknowledge.exceptions import InvalidConfigError, InvalidInputError
from metaknowledge.searchspace import (
    ONE_HOT_MAX_CATEGORIES,
    build_pipeline,
    get_learner,
)


def _xy(n: int = 60, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "city": rng.choice(["paris", "oslo", "lima"], size=n),
        }
    )
    y = np.where(X["x"] > 0, "pos", "neg")
    return X, y


def test_returns_an_sklearn_pipeline_with_the_learner_last() -> None:
    X, _ = _xy()
    pipeline = build_pipeline("random_forest", {"min_samples_split": 1e-5}, X, random_state=3)
    assert isinstance(pipeline, Pipeline)
    model = pipeline.named_steps["model"]
    assert type(model).__name__ == "RandomForestClassifier"
    assert model.min_samples_split == 1e-5
    assert model.n_estimators == 100
    assert model.random_state == 3
    clone(pipeline)


def test_regression_learners_are_regressors() -> None:
    X, _ = _xy()
    assert type(build_pipeline("knn", {}, X, task_type="regression")[-1]).__name__ == (
        "KNeighborsRegressor"
    )
    svr = build_pipeline("kernel_svm", {}, X, task_type="regression")[-1]
    assert type(svr.regressor).__name__ == "SVR", "wrapped to standardise the target"


def test_high_cardinality_column_stays_bounded() -> None:
    n = 3000
    X = pd.DataFrame({"id": [f"user{i}" for i in range(n)], "x": np.arange(n, dtype=float)})
    one_hot = build_pipeline("linear_svm", {}, X)[0].fit_transform(X)
    assert one_hot.shape == (n, ONE_HOT_MAX_CATEGORIES + 1)
    ordinal = build_pipeline("random_forest", {}, X)[0].fit_transform(X)
    assert ordinal.shape == (n, 2)


def test_unseen_and_missing_categories_at_predict_time() -> None:
    X, y = _xy()
    new = pd.DataFrame({"x": [0.5, np.nan, np.inf], "city": ["tokyo", None, "oslo"]})
    for learner in ("logistic_regression", "hist_gradient_boosting", "gaussian_nb"):
        pipeline = build_pipeline(learner, {}, X, random_state=0).fit(X, y)
        assert pipeline.predict(new).shape == (3,)


def test_hist_gradient_boosting_gets_native_categoricals() -> None:
    X, _ = _xy()
    model = build_pipeline("hist_gradient_boosting", {}, X)[-1]
    assert model.categorical_features == [False, True]
    numeric_only = build_pipeline("hist_gradient_boosting", {}, X[["x"]])[-1]
    assert numeric_only.categorical_features is None


def test_liblinear_runs_one_vs_rest_on_multiclass() -> None:
    X, _ = _xy()
    y = np.array(["a", "b", "c"] * 20)
    pipeline = build_pipeline(
        "logistic_regression", {"solver": "liblinear", "penalty": "l1", "C": 0.25}, X
    )
    assert isinstance(pipeline[-1], OneVsRestClassifier)
    pipeline.fit(X, y)
    assert pipeline.predict_proba(X).shape == (60, 3)


def test_knn_neighbours_capped_for_tiny_tables() -> None:
    X, y = _xy(n=10)
    pipeline = build_pipeline("knn", {"n_neighbors": 50}, X)
    assert pipeline[-1].n_neighbors == 5
    pipeline.fit(X, y)


def test_convergence_warnings_are_silenced_others_not() -> None:
    X, y = _xy()
    params = {"solver": "sgd", "learning_rate_init": 1e-5}
    pipeline = build_pipeline("mlp", params, X, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        pipeline.fit(X, y)
    assert not any(f[2] is ConvergenceWarning for f in warnings.filters if f[0] == "ignore")


def test_same_random_state_same_model() -> None:
    X, y = _xy()
    a = build_pipeline("extra_trees", {}, X, random_state=7).fit(X, y)
    b = build_pipeline("extra_trees", {}, X, random_state=7).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_input_is_not_mutated() -> None:
    X = pd.DataFrame({"x": [1.0, np.inf, 3.0, 4.0], "c": ["a", None, "b", "a"]})
    before = X.copy()
    build_pipeline("random_forest", {}, X).fit(X, [0, 1, 0, 1])
    pd.testing.assert_frame_equal(X, before)


def test_all_categorical_and_all_missing_tables() -> None:
    X = pd.DataFrame({"c": ["a", "b"] * 10, "gone": [None] * 20, "empty": [np.nan] * 20})
    y = [0, 1] * 10
    for learner in ("kernel_svm", "decision_tree", "gaussian_nb"):
        build_pipeline(learner, {}, X).fit(X, y).predict(X)


@pytest.mark.parametrize(
    ("X", "message"),
    [
        (np.zeros((3, 2)), "DataFrame"),
        (pd.DataFrame(index=range(3)), "no columns"),
        (pd.DataFrame({0: [1.0], "a": ["x"]}), "column labels"),
    ],
)
def test_bad_tables_are_refused(X: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        build_pipeline("knn", {}, X)


def test_params_are_validated() -> None:
    X, _ = _xy()
    with pytest.raises(InvalidConfigError, match="n_neighbors"):
        build_pipeline("knn", {"n_neighbors": 0}, X)


def test_build_estimator_without_a_table() -> None:
    estimator = get_learner("gradient_boosting").build_estimator(
        {"learning_rate": 1}, task_type="regression", random_state=1
    )
    assert type(estimator).__name__ == "GradientBoostingRegressor"
    assert estimator.learning_rate == 1.0
