"""Naive Bayes that learns and predicts as Weka's ``NaiveBayes`` with its default options.

* Class prior and nominal likelihoods are Laplace-smoothed frequencies (every count starts at 1).
* A numeric attribute gets one normal distribution per class over values rounded to a *precision*:
  the mean gap between adjacent distinct training values (``0.01`` with fewer than two). Its
  likelihood is the normal probability of the precision-wide interval around the rounded value,
  with the standard deviation floored at ``precision / 6``.
* Missing values are skipped, in training and in prediction.
* The per-attribute product is taken attribute by attribute with Weka's floor (``1e-75`` per factor)
  and rescaling (``* 1e75`` when all classes fall below ``1e-75``), so underflows match Weka's too.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from metaknowledge.metafeatures._landmark_data import FloatArray, IntArray, LandmarkData

__all__ = ["naive_bayes_proba"]

_DEFAULT_PRECISION = 0.01
_FLOOR = 1e-75
_RESCALE = 1e75


def _precision(values: FloatArray) -> float:
    """Weka's numeric precision: sum of the gaps between sorted distinct values / their count."""
    distinct = np.unique(values[~np.isnan(values)])
    if distinct.size < 2:
        return _DEFAULT_PRECISION
    gaps = np.diff(distinct)
    return float(np.cumsum(gaps)[-1]) / gaps.size  # cumsum: Java adds the gaps in order


def _numeric_likelihood(
    train_values: FloatArray,
    labels: IntArray,
    n_classes: int,
    test_values: FloatArray,
) -> FloatArray:
    """``P(value | class)`` for each test value (rows) and class (columns); NaN rows for missing."""
    precision = _precision(train_values)
    present = ~np.isnan(train_values)
    rounded = np.rint(train_values[present] / precision) * precision
    present_labels = labels[present]
    weights = np.bincount(present_labels, minlength=n_classes).astype(np.float64)
    sums = np.bincount(present_labels, weights=rounded, minlength=n_classes)
    squares = np.bincount(present_labels, weights=rounded * rounded, minlength=n_classes)
    with np.errstate(divide="ignore", invalid="ignore"):
        means = np.where(weights > 0, sums / weights, 0.0)
        spread = np.sqrt(np.abs(squares - means * sums) / weights)
    floor = precision / 6.0
    stds = np.where((weights > 0) & (spread > 1e-10), np.maximum(floor, spread), floor)

    test_rounded = np.rint(test_values / precision) * precision
    centred = test_rounded[:, None] - means[None, :]
    upper = ndtr((centred + precision / 2.0) / stds[None, :])
    lower = ndtr((centred - precision / 2.0) / stds[None, :])
    return np.asarray(upper - lower, dtype=np.float64)


def _nominal_likelihood(
    train_codes: IntArray, n_values: int, labels: IntArray, n_classes: int, test_codes: IntArray
) -> FloatArray:
    """Laplace-smoothed ``P(value | class)`` for each test value; NaN rows for missing."""
    present = train_codes >= 0
    joint = np.bincount(
        train_codes[present] * n_classes + labels[present], minlength=n_values * n_classes
    ).reshape(n_values, n_classes)
    table = (joint + 1.0) / (joint.sum(axis=0) + n_values)[None, :]
    result = np.full((test_codes.size, n_classes), np.nan)
    known = test_codes >= 0
    result[known] = table[test_codes[known]]
    return result


def naive_bayes_proba(data: LandmarkData, train: IntArray, test: IntArray) -> FloatArray:
    """Fit Weka-style naive Bayes on ``train`` and predict ``test``'s class probabilities.

    Raises:
        ValueError: ``train`` is empty, or every class's probability underflows to zero for a row
            (Weka then fails to normalise, too).
    """
    if train.size == 0:
        raise ValueError("no training rows")
    labels = data.y[train]
    k = data.n_classes
    prior = (np.bincount(labels, minlength=k) + 1.0) / (train.size + k)
    probs = np.tile(prior, (test.size, 1))
    for is_numeric, index in data.column_order:
        if is_numeric:
            likelihood = _numeric_likelihood(
                data.numeric[train, index], labels, k, data.numeric[test, index]
            )
        else:
            likelihood = _nominal_likelihood(
                data.codes[train, index],
                int(data.n_values[index]),
                labels,
                k,
                data.codes[test, index],
            )
        known = ~np.isnan(likelihood[:, 0])
        probs[known] *= np.maximum(_FLOOR, likelihood[known])
        largest = probs.max(axis=1)
        tiny = known & (largest > 0) & (largest < _FLOOR)
        probs[tiny] *= _RESCALE
    totals = probs.sum(axis=1)
    if not np.all(totals > 0):
        raise ValueError("class probabilities underflowed to zero; cannot normalise")
    return np.asarray(probs / totals[:, None], dtype=np.float64)
