"""One-nearest-neighbour that predicts as Weka's ``IBk`` with its default options (k = 1).

Distances are Euclidean over all attributes in column order, as Weka accumulates them:

* numeric attributes are scaled to ``[0, 1]`` by the range seen so far (an attribute with no range
  scales to ``0``); a missing value against a present one differs by ``max(v, 1 - v)`` of the
  present scaled value, two missing values by ``1``;
* nominal attributes differ by ``0`` when equal and ``1`` otherwise (missing differs from all).

Like IBk, the range starts as the training rows' and grows with every test row as it is predicted
(``addInstanceInfo``), so a test row is scaled by the training rows and the test rows before it.
Every training row at the minimum distance votes (Weka keeps ties); each class also gets a
``1 / n_train`` correction before normalising.

Speed without losing Weka's ties: all distances are first computed approximately with one matrix
product; only the pairs within a rounding tolerance of each row's minimum are then recomputed
exactly in Weka's order of operations, and the exact minimum decides the neighbours.
"""

from __future__ import annotations

import numpy as np

from metaknowledge.metafeatures._landmark_data import FloatArray, IntArray, LandmarkData

__all__ = ["exact_distances", "nearest_neighbour_proba"]

_BLOCK_CELLS = 1 << 22  # distance-matrix cells held at once
_DENSE_ONE_HOT_MAX_VALUES = 64  # nominal columns with more values are compared directly
_CANDIDATE_TOLERANCE = 1e-8  # per attribute: far above the product's rounding error


def _running_ranges(
    train_values: FloatArray, test_values: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Per test row, each numeric attribute's (min, max) after that row was added (NaN: none)."""
    # fmin/fmax skip NaN: an attribute missing in every training row has no range (NaN) and,
    # as Weka compares against NaN, never gets one.
    train_min = np.fmin.reduce(train_values, axis=0)
    train_max = np.fmax.reduce(train_values, axis=0)
    running_min = np.fmin.accumulate(test_values, axis=0)
    running_max = np.fmax.accumulate(test_values, axis=0)
    lows = np.where(np.isnan(train_min), np.nan, np.fmin(train_min, running_min))
    highs = np.where(np.isnan(train_max), np.nan, np.fmax(train_max, running_max))
    return lows, highs


def _scale(values: FloatArray, low: FloatArray, high: FloatArray) -> FloatArray:
    """Weka's ``norm``: ``(v - min) / (max - min)``, or ``0`` without a usable range; NaN stays."""
    degenerate = np.isnan(low) | (high == low)
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = (values - low) / (high - low)
    return np.where(degenerate & ~np.isnan(values), 0.0, scaled)


def _far_side(scaled: FloatArray) -> FloatArray:
    """Difference between a missing value and a present scaled value ``v``: ``max(v, 1 - v)``."""
    return np.where(scaled < 0.5, 1.0 - scaled, scaled)


def exact_distances(
    data: LandmarkData,
    test_rows: IntArray,
    train_rows: IntArray,
    lows: FloatArray,
    highs: FloatArray,
) -> FloatArray:
    """Squared distances of paired rows, summed attribute by attribute exactly as Weka does.

    ``test_rows[i]`` is compared with ``train_rows[i]`` under the numeric range ``lows[i]`` ..
    ``highs[i]`` (one row per pair).
    """
    distances = np.zeros(test_rows.size, dtype=np.float64)
    for is_numeric, index in data.column_order:
        if is_numeric:
            low, high = lows[:, index], highs[:, index]
            a = _scale(data.numeric[test_rows, index], low, high)
            b = _scale(data.numeric[train_rows, index], low, high)
            a_missing, b_missing = np.isnan(a), np.isnan(b)
            one_missing = _far_side(np.where(a_missing, b, a))
            diff = np.where(
                a_missing & b_missing, 1.0, np.where(a_missing | b_missing, one_missing, a - b)
            )
        else:
            a_codes = data.codes[test_rows, index]
            b_codes = data.codes[train_rows, index]
            diff = ((a_codes < 0) | (b_codes < 0) | (a_codes != b_codes)).astype(np.float64)
        distances += diff * diff
    return distances


def _approximate_distances(
    data: LandmarkData,
    train: IntArray,
    block: IntArray,
    lows: FloatArray,
    highs: FloatArray,
) -> FloatArray:
    """Squared distances from each ``block`` row (range ``lows[i]``..``highs[i]``) to ``train``.

    Mathematically equal to :func:`exact_distances`; rounding differs (a matrix product).
    """
    n_block, n_train = block.size, train.size
    test_side: list[FloatArray] = []
    train_side: list[FloatArray] = []
    distances = np.zeros((n_block, n_train), dtype=np.float64)

    if data.numeric.shape[1]:
        a_raw = data.numeric[block]
        b_raw = data.numeric[train]
        # Shift by the training minimum: differences are unchanged, magnitudes stay within the
        # range, so the expansion (a - b)^2 = a^2 - 2ab + b^2 loses no precision.
        shift = np.nan_to_num(np.fmin.reduce(b_raw, axis=0))
        width = highs - lows
        usable = ~(np.isnan(lows) | (width == 0))
        inv_sq = np.where(usable, 1.0 / np.where(usable, width, 1.0) ** 2, 0.0)
        a_present = ~np.isnan(a_raw)
        b_present = ~np.isnan(b_raw)
        a = np.where(a_present, a_raw - shift, 0.0)
        b = np.where(b_present, b_raw - shift, 0.0)
        a_far = np.where(a_present, _far_side(_scale(a_raw, lows, highs)) ** 2, 0.0)
        test_side += [a * a * inv_sq, a_present * inv_sq, -2.0 * a * inv_sq, a_far]
        train_side += [b_present, b * b, b, ~b_present]
        # A missing test value: its difference to each training row depends on that row's scaled
        # value under this test row's range, so add it directly.
        for attribute in np.flatnonzero(~a_present.all(axis=0)).tolist():
            rows = np.flatnonzero(~a_present[:, attribute])
            b_scaled = _scale(
                b_raw[None, :, attribute], lows[rows, attribute, None], highs[rows, attribute, None]
            )
            missing_term = np.where(np.isnan(b_scaled), 1.0, _far_side(b_scaled) ** 2)
            distances[rows] += missing_term

    if data.codes.shape[1]:
        distances += float(data.codes.shape[1])
        for column in range(data.codes.shape[1]):
            a_codes = data.codes[block, column]
            b_codes = data.codes[train, column]
            n_values = int(data.n_values[column])
            if n_values <= _DENSE_ONE_HOT_MAX_VALUES:
                values = np.arange(n_values)
                test_side.append(a_codes[:, None] == values[None, :])
                train_side.append(-(b_codes[:, None] == values[None, :]).astype(np.float64))
            else:
                same = (a_codes[:, None] == b_codes[None, :]) & (a_codes[:, None] >= 0)
                distances -= same

    if test_side:
        left = np.column_stack(test_side).astype(np.float64, copy=False)
        right = np.column_stack(train_side).astype(np.float64, copy=False)
        distances += left @ right.T
    return distances


def nearest_neighbour_proba(data: LandmarkData, train: IntArray, test: IntArray) -> FloatArray:
    """Fit Weka-style 1-NN on ``train`` and predict ``test``'s class probabilities, in order.

    Raises:
        ValueError: ``train`` is empty.
    """
    if train.size == 0:
        raise ValueError("no training rows")
    lows, highs = _running_ranges(data.numeric[train], data.numeric[test])
    labels = data.y[train]
    k = data.n_classes
    correction = 1.0 / max(1, train.size)
    prior_mass = k / max(1, train.size)
    tolerance = _CANDIDATE_TOLERANCE * (1 + len(data.column_order))
    probs = np.empty((test.size, k), dtype=np.float64)
    rows_per_block = max(1, _BLOCK_CELLS // max(1, train.size))
    for start in range(0, test.size, rows_per_block):
        block = np.arange(start, min(test.size, start + rows_per_block))
        approximate = _approximate_distances(data, train, test[block], lows[block], highs[block])
        lowest = approximate.min(axis=1, keepdims=True)
        pair_rows, pair_columns = np.nonzero(approximate <= lowest + tolerance)
        if data.numeric.shape[1]:
            exact = exact_distances(
                data,
                test[block][pair_rows],
                train[pair_columns],
                lows[block][pair_rows],
                highs[block][pair_rows],
            )
        else:  # sums of 0/1 mismatches: the product is already exact
            exact = approximate[pair_rows, pair_columns]
        nearest_distance = np.full(block.size, np.inf)
        np.minimum.at(nearest_distance, pair_rows, exact)
        is_nearest = exact == nearest_distance[pair_rows]
        votes = np.zeros((block.size, k), dtype=np.float64)
        np.add.at(votes, (pair_rows[is_nearest], labels[pair_columns[is_nearest]]), 1.0)
        total = prior_mass + votes.sum(axis=1, keepdims=True)
        probs[block] = (votes + correction) / total
    return probs
