"""The Weka-compatible pieces behind the landmarkers (agreement with OpenML is tested elsewhere)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score, roc_auc_score

from metaknowledge.metafeatures._decision_stump import decision_stump_proba
from metaknowledge.metafeatures._landmark_data import LandmarkData
from metaknowledge.metafeatures._landmarking import weka_scores
from metaknowledge.metafeatures._naive_bayes import naive_bayes_proba
from metaknowledge.metafeatures._nearest_neighbour import (
    _running_ranges,
    exact_distances,
    nearest_neighbour_proba,
)
from metaknowledge.metafeatures._weka_cv import JavaRandom, weka_cv_test_folds


def landmark_data(
    numeric: np.ndarray,
    codes: np.ndarray,
    n_values: list[int],
    y: np.ndarray,
    n_classes: int,
    order: list[tuple[bool, int]] | None = None,
) -> LandmarkData:
    if order is None:
        order = [(True, j) for j in range(numeric.shape[1])] + [
            (False, j) for j in range(codes.shape[1])
        ]
    return LandmarkData(
        numeric=np.asarray(numeric, dtype=np.float64).reshape(len(y), -1),
        codes=np.asarray(codes, dtype=np.int64).reshape(len(y), -1),
        n_values=np.asarray(n_values, dtype=np.int64),
        column_order=tuple(order),
        y=np.asarray(y, dtype=np.int64),
        n_classes=n_classes,
    )


def test_java_random_reproduces_the_jvm() -> None:
    # new java.util.Random(seed).nextInt() on any JVM.
    assert JavaRandom(0)._next(32) == -1155484576
    assert JavaRandom(42)._next(32) == -1170105035
    with pytest.raises(ValueError, match="positive"):
        JavaRandom(1).next_int(0)


def test_weka_folds_partition_the_rows_and_stratify() -> None:
    labels = np.repeat(np.arange(3), [50, 30, 21]).astype(np.int64)
    labels[[5, 60]] = -1  # missing classes are grouped like a class
    for n_folds in (2, 10):
        folds = weka_cv_test_folds(labels, n_folds, seed=1)
        assert len(folds) == n_folds
        joined = np.concatenate(folds)
        assert np.array_equal(np.sort(joined), np.arange(labels.size))
        sizes = [fold.size for fold in folds]
        assert max(sizes) - min(sizes) <= 1
        for label in (-1, 0, 1, 2):
            per_fold = [int(np.count_nonzero(labels[fold] == label)) for fold in folds]
            assert max(per_fold) - min(per_fold) <= 1
    again = weka_cv_test_folds(labels, 2, seed=1)
    assert all(
        np.array_equal(a, b) for a, b in zip(again, weka_cv_test_folds(labels, 2, 1), strict=True)
    )
    with pytest.raises(ValueError, match="folds"):
        weka_cv_test_folds(labels[:1], 2, seed=1)


def test_weka_scores_agree_with_sklearn_when_every_row_is_classified() -> None:
    rng = np.random.default_rng(0)
    actual = rng.integers(0, 3, 200).astype(np.int64)
    probs = rng.dirichlet(np.ones(3), size=200) + np.eye(3)[actual] * 0.3
    probs /= probs.sum(axis=1, keepdims=True)
    auc, error_rate, kappa = weka_scores(probs, actual, 3)
    predicted = probs.argmax(axis=1)
    assert error_rate == pytest.approx(np.mean(predicted != actual))
    assert kappa == pytest.approx(cohen_kappa_score(actual, predicted))
    assert auc == pytest.approx(roc_auc_score(actual, probs, multi_class="ovr", average="weighted"))


def test_weka_scores_ignore_rows_without_a_class() -> None:
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]])
    auc, error_rate, kappa = weka_scores(probs, np.array([0, 1, -1]), 2)
    assert (auc, error_rate, kappa) == (1.0, 0.0, 1.0)


def test_decision_stump_splits_at_the_midpoint_and_predicts_missing_with_the_prior() -> None:
    numeric = np.array([[1.0], [2.0], [3.0], [10.0], [11.0], [12.0], [np.nan]])
    y = np.array([0, 0, 0, 1, 1, 1, 0])
    data = landmark_data(numeric, np.empty((7, 0)), [], y, 2)
    train = np.arange(6)
    test_rows = np.array([6, 0, 5])
    numeric_test = np.array([[6.5], [6.6], [np.nan]])
    data_test = landmark_data(
        np.vstack([numeric[:6], numeric_test]), np.empty((9, 0)), [], np.r_[y[:6], 0, 0, 0], 2
    )
    probs = decision_stump_proba(data_test, train, np.array([6, 7, 8]))
    # <= 6.5 goes left (class 0); no training row was missing, so missing predicts the prior.
    assert probs.tolist() == [[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]
    assert decision_stump_proba(data, train, test_rows)[1:].tolist() == [[1.0, 0.0], [0.0, 1.0]]


def test_naive_bayes_nominal_likelihoods_are_laplace_smoothed() -> None:
    codes = np.array([[0], [0], [1], [1], [1], [0]])
    y = np.array([0, 0, 0, 1, 1, -1])
    data = landmark_data(np.empty((6, 0)), codes, [2], y, 2)
    probs = naive_bayes_proba(data, np.arange(5), np.array([5]))
    # prior (3+1)/(5+2), (2+1)/(5+2); P(v0 | c0) = (2+1)/(3+2), P(v0 | c1) = (0+1)/(2+2)
    scores = np.array([4 / 7 * 3 / 5, 3 / 7 * 1 / 4])
    assert probs[0] == pytest.approx(scores / scores.sum())


def _brute_force_nearest(data: LandmarkData, train: np.ndarray, test: np.ndarray) -> np.ndarray:
    lows, highs = _running_ranges(data.numeric[train], data.numeric[test])
    probs = np.empty((test.size, data.n_classes))
    for i, row in enumerate(test):
        distances = exact_distances(
            data,
            np.full(train.size, row),
            train,
            np.repeat(lows[i : i + 1], train.size, axis=0),
            np.repeat(highs[i : i + 1], train.size, axis=0),
        )
        nearest = distances == distances.min()
        votes = np.bincount(data.y[train][nearest], minlength=data.n_classes)
        probs[i] = (votes + 1 / train.size) / (data.n_classes / train.size + votes.sum())
    return probs


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fast_nearest_neighbour_equals_the_exact_weka_computation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows = 240
    numeric = np.column_stack(
        [
            rng.integers(0, 4, rows).astype(float),  # many exact ties
            rng.normal(size=rows) * 1e6 + 1e9,  # far from zero
            np.full(rows, 2.0),  # no range
        ]
    )
    numeric[rng.random(numeric.shape) < 0.1] = np.nan
    codes = np.column_stack([rng.integers(-1, 3, rows), rng.integers(-1, 100, rows)])
    order = [(True, 0), (False, 0), (True, 1), (False, 1), (True, 2)]
    data = landmark_data(numeric, codes, [3, 100], rng.integers(0, 3, rows), 3, order)
    test = rng.permutation(rows)[:80]
    train = np.setdiff1d(np.arange(rows), test)
    fast = nearest_neighbour_proba(data, train, test)
    assert np.array_equal(fast, _brute_force_nearest(data, train, test))
