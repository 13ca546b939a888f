"""Landmarkers: how well three simple learners do, measured as OpenML measures them.

OpenML runs Weka's ``DecisionStump``, ``NaiveBayes`` and ``IBk`` (1-NN) in a stratified 2-fold
cross-validation seeded with ``java.util.Random(1)`` and reports, over the pooled out-of-fold
predictions, the error rate, Cohen's kappa and the class-frequency-weighted one-vs-rest AUC. The
learners here reproduce Weka's (see their modules) and the folds are Weka's own, so on data of at
most :data:`MAX_LANDMARK_ROWS` rows the values are OpenML's.

Larger datasets are subsampled first: :data:`MAX_LANDMARK_ROWS` rows drawn uniformly without
replacement with ``numpy.random.default_rng(random_state)``, kept in their original order.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np

from metaknowledge.metafeatures._context import Context
from metaknowledge.metafeatures._decision_stump import decision_stump_proba
from metaknowledge.metafeatures._landmark_data import (
    FloatArray,
    IntArray,
    LandmarkData,
    Learner,
)
from metaknowledge.metafeatures._naive_bayes import naive_bayes_proba
from metaknowledge.metafeatures._nearest_neighbour import nearest_neighbour_proba
from metaknowledge.metafeatures._prepare import CLASSIFICATION
from metaknowledge.metafeatures._registry import FeatureGroup, GroupResult, Undefined, feature_group
from metaknowledge.metafeatures._weka_cv import weka_cv_test_folds

__all__ = [
    "CV_FOLDS",
    "CV_SEED",
    "GROUPS",
    "MAX_LANDMARK_ROWS",
    "landmark_folds",
    "landmark_sample",
    "weka_scores",
]

MAX_LANDMARK_ROWS: Final = 4000
"""Landmarkers see at most this many rows (a seeded uniform subsample of larger datasets)."""
CV_FOLDS: Final = 2
"""OpenML's landmarkers use 2-fold cross-validation."""
CV_SEED: Final = 1
"""... seeded with ``java.util.Random(1)``; the folds never depend on ``random_state``."""


def landmark_sample(context: Context) -> LandmarkData:
    """The rows the landmarkers learn from (memoise with ``context.shared``)."""
    data = context.data
    if data.target_codes is None:
        raise ValueError("landmarkers need a classification target")
    rows = np.arange(data.n_rows)
    if data.n_rows > MAX_LANDMARK_ROWS:
        rng = np.random.default_rng(context.random_state)
        rows = np.sort(rng.choice(data.n_rows, size=MAX_LANDMARK_ROWS, replace=False))
    return LandmarkData(
        numeric=np.ascontiguousarray(data.numeric[rows]),
        codes=np.ascontiguousarray(data.codes[rows]),
        n_values=data.n_declared,
        column_order=data.column_order,
        y=data.target_codes[rows],
        n_classes=data.n_declared_classes,
    )


def landmark_folds(context: Context) -> list[IntArray]:
    """Weka's test folds of the landmarking rows (memoise with ``context.shared``)."""
    return weka_cv_test_folds(context.shared(landmark_sample).y, CV_FOLDS, CV_SEED)


def _cross_validated_proba(
    data: LandmarkData, folds: list[IntArray], learner: Learner
) -> FloatArray:
    """Out-of-fold class probabilities of every row, each predicted by the model of its fold."""
    probs = np.full((data.n_rows, data.n_classes), np.nan)
    everything = np.arange(data.n_rows)
    for test in folds:
        train = np.setdiff1d(everything, test, assume_unique=True)
        train = train[data.y[train] >= 0]
        probs[test] = learner(data, train, test)
    return probs


def _weighted_auc(probs: FloatArray, actual: IntArray, class_counts: FloatArray) -> float:
    """Weka's ``weightedAreaUnderROC``: one-vs-rest AUCs weighted by each class's row count.

    Each AUC is the Mann-Whitney statistic (ties count half), which is the area under Weka's
    threshold curve.
    """
    scores = np.ascontiguousarray(probs.T)
    total = 0.0
    for label in np.flatnonzero(class_counts > 0).tolist():
        positive = actual == label
        n_positive = int(positive.sum())
        n_negative = actual.size - n_positive
        if n_positive == 0 or n_negative == 0:
            return math.nan
        ordered = np.sort(scores[label])
        mine = scores[label, positive]
        below = np.searchsorted(ordered, mine, side="left")
        through = np.searchsorted(ordered, mine, side="right")
        rank_sum = float(np.sum(below + through + 1)) / 2.0  # mean 1-based rank of each tie run
        auc = (rank_sum - n_positive * (n_positive + 1) / 2.0) / (n_positive * n_negative)
        total += auc * float(class_counts[label])
    return total / float(class_counts.sum())


def weka_scores(probs: FloatArray, actual: IntArray, n_classes: int) -> tuple[float, float, float]:
    """``(AUC, ErrRate, Kappa)`` of pooled predictions, as ``weka.classifiers.Evaluation`` does.

    Rows with a missing class (``-1``) are ignored. A row whose probabilities are all zero counts
    as unclassified: it is neither right nor wrong but stays in the error rate's denominator.
    """
    keep = actual >= 0
    probs, actual = probs[keep], actual[keep]
    if actual.size == 0:
        return math.nan, math.nan, math.nan
    predicted = probs.argmax(axis=1)
    classified = probs.max(axis=1) > 0
    confusion = np.zeros((n_classes, n_classes), dtype=np.float64)
    np.add.at(confusion, (actual[classified], predicted[classified]), 1.0)
    incorrect = float(confusion.sum() - np.trace(confusion))
    error_rate = incorrect / actual.size

    weight = confusion.sum()
    if weight > 0:
        observed = np.trace(confusion) / weight
        chance = float(np.sum(confusion.sum(axis=1) * confusion.sum(axis=0))) / (weight * weight)
        kappa = (observed - chance) / (1.0 - chance) if chance < 1 else 1.0
    else:
        kappa = math.nan
    auc = _weighted_auc(probs, actual, confusion.sum(axis=1)) if weight > 0 else math.nan
    return auc, error_rate, kappa


def _landmark(context: Context, prefix: str, learner: Learner) -> GroupResult:
    data = context.shared(landmark_sample)
    if int(np.count_nonzero(data.y >= 0)) < CV_FOLDS:
        reason = f"needs at least {CV_FOLDS} rows with a class"
        return {prefix + m: Undefined(reason) for m in ("AUC", "ErrRate", "Kappa")}
    probs = _cross_validated_proba(data, context.shared(landmark_folds), learner)
    auc, error_rate, kappa = weka_scores(probs, data.y, data.n_classes)
    result: dict[str, float | Undefined] = {
        prefix + "AUC": auc,
        prefix + "ErrRate": error_rate,
        prefix + "Kappa": kappa,
    }
    for name, value in list(result.items()):
        if isinstance(value, float) and math.isnan(value):
            result[name] = Undefined(
                "undefined on these predictions (a class has no positive or no negative rows)"
            )
    return result


@feature_group(
    "DecisionStumpAUC", "DecisionStumpErrRate", "DecisionStumpKappa", task=CLASSIFICATION
)
def _decision_stump(context: Context) -> GroupResult:
    """Weka ``DecisionStump`` landmarker (subsamples to ``MAX_LANDMARK_ROWS`` rows)."""
    return _landmark(context, "DecisionStump", decision_stump_proba)


@feature_group("NaiveBayesAUC", "NaiveBayesErrRate", "NaiveBayesKappa", task=CLASSIFICATION)
def _naive_bayes(context: Context) -> GroupResult:
    """Weka ``NaiveBayes`` landmarker (subsamples to ``MAX_LANDMARK_ROWS`` rows)."""
    return _landmark(context, "NaiveBayes", naive_bayes_proba)


@feature_group("kNN1NAUC", "kNN1NErrRate", "kNN1NKappa", task=CLASSIFICATION)
def _nearest_neighbour(context: Context) -> GroupResult:
    """Weka ``IBk`` (1-NN) landmarker (subsamples to ``MAX_LANDMARK_ROWS`` rows)."""
    return _landmark(context, "kNN1N", nearest_neighbour_proba)


GROUPS: tuple[FeatureGroup, ...] = (_decision_stump, _naive_bayes, _nearest_neighbour)
