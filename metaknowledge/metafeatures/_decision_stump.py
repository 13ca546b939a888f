"""A decision stump that learns and predicts as Weka's ``DecisionStump`` (nominal class).

Each attribute is scored by the class entropy conditioned on the split's branches, the missing
values forming a third branch: a numeric attribute splits at the midpoint between two adjacent
distinct values (``<=`` goes left), a nominal one into "equals value v" and "any other value". The
attribute with the lowest entropy wins (the first on ties, in column order; the first value or cut
point within an attribute). Leaves predict their normalised class counts; the missing branch
predicts the class counts of the training rows missing that attribute, or of all rows if none was.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metaknowledge.metafeatures._landmark_data import FloatArray, IntArray, LandmarkData

__all__ = ["decision_stump_proba"]

_TIE_TOLERANCE = 1e-12  # entropies this close count as equal: Weka keeps the first one
_NO_SPLIT = np.inf


@dataclass(frozen=True)
class _Split:
    criterion: float
    split_point: float
    branches: FloatArray  # (3, n_classes): left, right, missing class counts


def _xlogx_table(n: int) -> FloatArray:
    """``k ln k`` for ``k = 0..n`` (``0`` for ``k = 0``), Weka's ``lnFunc`` on integer counts."""
    k = np.arange(n + 1, dtype=np.float64)
    table = np.zeros(n + 1, dtype=np.float64)
    table[1:] = k[1:] * np.log(k[1:])
    return table


def _first_minimum(values: FloatArray) -> int:
    best = float(np.min(values))
    return int(np.flatnonzero(values <= best + _TIE_TOLERANCE * max(1.0, abs(best)))[0])


def _numeric_split(
    values: FloatArray, labels: IntArray, n_classes: int, xlogx: FloatArray
) -> _Split:
    total = labels.size
    missing = np.isnan(values)
    missing_counts = np.bincount(labels[missing], minlength=n_classes).astype(np.float64)
    present_values = values[~missing]
    present_labels = labels[~missing]
    present_counts = np.bincount(present_labels, minlength=n_classes).astype(np.float64)
    n_missing = int(missing.sum())
    no_missing_branch = present_counts if n_missing == 0 else missing_counts

    order = np.argsort(present_values, kind="stable")
    sorted_values = present_values[order]
    sorted_labels = present_labels[order]
    m = sorted_values.size
    cut_after = np.flatnonzero(sorted_values[:-1] < sorted_values[1:])
    if cut_after.size == 0:
        branches = np.vstack([np.zeros(n_classes), present_counts, no_missing_branch])
        return _Split(_NO_SPLIT, 0.0, branches)

    # How many earlier rows (in value order) share each row's class: moving row t to the left
    # branch changes one class count on each side, so the branches' sum of x ln x is a cumsum.
    by_class = np.argsort(sorted_labels, kind="stable")
    class_sorted = sorted_labels[by_class]
    earlier = np.empty(m, dtype=np.int64)
    earlier[by_class] = np.arange(m) - np.searchsorted(class_sorted, class_sorted, side="left")
    class_totals = present_counts.astype(np.int64)[sorted_labels]
    left_sum = np.cumsum(xlogx[earlier + 1] - xlogx[earlier])
    right_sum = float(np.sum(xlogx[present_counts.astype(np.int64)])) + np.cumsum(
        xlogx[class_totals - earlier - 1] - xlogx[class_totals - earlier]
    )
    left_size = np.arange(1, m + 1)
    missing_term = float(np.sum(xlogx[missing_counts.astype(np.int64)]) - xlogx[n_missing])
    conditioned = (
        left_sum[cut_after]
        - xlogx[left_size[cut_after]]
        + right_sum[cut_after]
        - xlogx[m - left_size[cut_after]]
        + missing_term
    )
    criteria = -conditioned / (total * np.log(2.0))
    best_candidate = _first_minimum(criteria)
    best = int(cut_after[best_candidate])
    left = np.bincount(sorted_labels[: best + 1], minlength=n_classes).astype(np.float64)
    split_point = (float(sorted_values[best]) + float(sorted_values[best + 1])) / 2.0
    branches = np.vstack([left, present_counts - left, no_missing_branch])
    return _Split(float(criteria[best_candidate]), split_point, branches)


def _nominal_split(
    codes: IntArray, n_values: int, labels: IntArray, n_classes: int, xlogx: FloatArray
) -> _Split:
    total = labels.size
    missing = codes < 0
    missing_counts = np.bincount(labels[missing], minlength=n_classes).astype(np.float64)
    n_missing = int(missing.sum())
    if n_values == 0:  # no declared value: nothing to split on
        branches = np.vstack([np.zeros(n_classes), np.zeros(n_classes), missing_counts])
        return _Split(_NO_SPLIT, 0.0, branches)
    joint = np.bincount(
        codes[~missing] * n_classes + labels[~missing], minlength=n_values * n_classes
    ).reshape(n_values, n_classes)
    class_totals = joint.sum(axis=0)
    value_totals = joint.sum(axis=1)
    rest = class_totals[None, :] - joint
    conditioned = (
        xlogx[joint].sum(axis=1)
        - xlogx[value_totals]
        + xlogx[rest].sum(axis=1)
        - xlogx[int(class_totals.sum()) - value_totals]
        + float(np.sum(xlogx[missing_counts.astype(np.int64)]) - xlogx[n_missing])
    )
    criteria = -conditioned / (total * np.log(2.0))
    best = _first_minimum(criteria)
    no_missing_branch = class_totals if n_missing == 0 else missing_counts
    branches = np.vstack([joint[best], rest[best], no_missing_branch]).astype(np.float64)
    return _Split(float(criteria[best]), float(best), branches)


def _normalised_branches(branches: FloatArray) -> FloatArray:
    """Weka's final step: an empty branch predicts like the missing branch; then normalise.

    Raises:
        ValueError: a branch and the missing branch are both empty (Weka cannot normalise either).
    """
    result = branches.copy()
    for row in range(3):
        total = result[row].sum()
        if total == 0:
            result[row] = branches[2]
            total = result[row].sum()
            if total == 0:
                raise ValueError("can't normalise an empty branch distribution")
        result[row] = result[row] / total
    return result


def decision_stump_proba(data: LandmarkData, train: IntArray, test: IntArray) -> FloatArray:
    """Fit a Weka-style decision stump on ``train`` and predict ``test``'s class probabilities.

    Raises:
        ValueError: ``train`` is empty.
    """
    if train.size == 0:
        raise ValueError("no training rows")
    labels = data.y[train]
    xlogx = _xlogx_table(train.size)
    best: _Split | None = None
    best_column = (True, 0)
    for is_numeric, index in data.column_order:
        if is_numeric:
            split = _numeric_split(data.numeric[train, index], labels, data.n_classes, xlogx)
        else:
            split = _nominal_split(
                data.codes[train, index], int(data.n_values[index]), labels, data.n_classes, xlogx
            )
        if best is None or split.criterion < best.criterion - _TIE_TOLERANCE * max(
            1.0, abs(best.criterion) if np.isfinite(best.criterion) else 1.0
        ):
            best, best_column = split, (is_numeric, index)
    if best is None:
        raise ValueError("no attributes to split on")

    branches = _normalised_branches(best.branches)
    is_numeric, index = best_column
    if is_numeric:
        values = data.numeric[test, index]
        branch = np.where(np.isnan(values), 2, np.where(values <= best.split_point, 0, 1))
    else:
        codes = data.codes[test, index]
        branch = np.where(codes < 0, 2, np.where(codes == int(best.split_point), 0, 1))
    return branches[branch]
