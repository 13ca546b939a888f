"""Simple meta-features: counts of rows, columns, kinds, missing values and classes.

OpenML counts the *target* as an attribute: it is one of ``NumberOfFeatures``, a symbolic feature
(and a binary one if it has two declared classes) for classification, a numeric one for regression,
and its missing values count in ``NumberOfMissingValues``. Percentages of features are over
``NumberOfFeatures``; of missing values over ``NumberOfInstances * NumberOfFeatures``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from metaknowledge.metafeatures._context import Context
from metaknowledge.metafeatures._prepare import CLASSIFICATION, PreparedData
from metaknowledge.metafeatures._registry import FeatureGroup, GroupResult, Undefined, feature_group
from metaknowledge.metafeatures._summary import sample_std

__all__ = ["GROUPS", "class_counts", "symbolic_distinct_counts"]


def class_counts(context: Context) -> npt.NDArray[np.int64]:
    """Rows per declared class, missing targets excluded (memoise with ``context.shared``)."""
    data = context.data
    if data.target_codes is None:
        raise ValueError("not a classification task")
    codes = data.target_codes
    return np.bincount(codes[codes >= 0], minlength=data.n_declared_classes).astype(np.int64)


def symbolic_distinct_counts(context: Context) -> npt.NDArray[np.int64]:
    """Distinct non-missing values of each symbolic predictor (memoise with ``context.shared``)."""
    data = context.data
    counts = [
        np.count_nonzero(np.bincount(column[column >= 0], minlength=int(n_values)))
        for column, n_values in zip(data.codes.T, data.n_declared, strict=True)
    ]
    return np.asarray(counts, dtype=np.int64)


def _kind_counts(data: PreparedData) -> tuple[int, int, int]:
    """Numeric, symbolic and binary (two declared values) attributes, the target included."""
    numeric = data.numeric.shape[1]
    symbolic = data.codes.shape[1]
    binary = int(np.count_nonzero(data.n_declared == 2))
    if data.task_type == CLASSIFICATION:
        symbolic += 1
        binary += int(data.n_declared_classes == 2)
    else:
        numeric += 1
    return numeric, symbolic, binary


@feature_group(
    "NumberOfInstances",
    "NumberOfFeatures",
    "NumberOfNumericFeatures",
    "NumberOfSymbolicFeatures",
    "NumberOfBinaryFeatures",
    "PercentageOfNumericFeatures",
    "PercentageOfSymbolicFeatures",
    "PercentageOfBinaryFeatures",
    "Dimensionality",
)
def _shape(context: Context) -> GroupResult:
    """Row and column counts; ``Dimensionality`` = features / instances."""
    data = context.data
    n_features = data.n_columns + 1
    numeric, symbolic, binary = _kind_counts(data)
    return {
        "NumberOfInstances": float(data.n_rows),
        "NumberOfFeatures": float(n_features),
        "NumberOfNumericFeatures": float(numeric),
        "NumberOfSymbolicFeatures": float(symbolic),
        "NumberOfBinaryFeatures": float(binary),
        "PercentageOfNumericFeatures": 100.0 * numeric / n_features,
        "PercentageOfSymbolicFeatures": 100.0 * symbolic / n_features,
        "PercentageOfBinaryFeatures": 100.0 * binary / n_features,
        "Dimensionality": n_features / data.n_rows,
    }


@feature_group(
    "NumberOfMissingValues",
    "NumberOfInstancesWithMissingValues",
    "PercentageOfMissingValues",
    "PercentageOfInstancesWithMissingValues",
)
def _missing_values(context: Context) -> GroupResult:
    """Missing cells (target included) and rows with at least one."""
    data = context.data
    numeric_missing = np.isnan(data.numeric)
    symbolic_missing = data.codes < 0
    target_missing = data.target_missing()
    n_missing = int(numeric_missing.sum()) + int(symbolic_missing.sum()) + int(target_missing.sum())
    rows_with_missing = int(
        np.count_nonzero(
            numeric_missing.any(axis=1) | symbolic_missing.any(axis=1) | target_missing
        )
    )
    n_cells = data.n_rows * (data.n_columns + 1)
    return {
        "NumberOfMissingValues": float(n_missing),
        "NumberOfInstancesWithMissingValues": float(rows_with_missing),
        "PercentageOfMissingValues": 100.0 * n_missing / n_cells,
        "PercentageOfInstancesWithMissingValues": 100.0 * rows_with_missing / data.n_rows,
    }


@feature_group("NumberOfClasses")
def _number_of_classes(context: Context) -> GroupResult:
    """Distinct classes present in the target; ``0`` for regression, as OpenML records it."""
    if context.data.task_type != CLASSIFICATION:
        return {"NumberOfClasses": 0.0}
    return {"NumberOfClasses": float(np.count_nonzero(context.shared(class_counts)))}


@feature_group(
    "MajorityClassSize",
    "MajorityClassPercentage",
    "MinorityClassSize",
    "MinorityClassPercentage",
    task=CLASSIFICATION,
)
def _class_balance(context: Context) -> GroupResult:
    """Sizes of the largest and smallest present class; percentages of all instances."""
    counts = context.shared(class_counts)
    present = counts[counts > 0]
    n_rows = context.data.n_rows
    majority, minority = float(present.max()), float(present.min())
    return {
        "MajorityClassSize": majority,
        "MajorityClassPercentage": 100.0 * majority / n_rows,
        "MinorityClassSize": minority,
        "MinorityClassPercentage": 100.0 * minority / n_rows,
    }


@feature_group("AutoCorrelation")
def _autocorrelation(context: Context) -> GroupResult:
    """How much the target changes from one row to the next, in the given row order.

    Classification: the share of consecutive pairs with the same class (a missing class never
    equals anything). Regression, the formula of OpenML's recorded values:
    ``(n - 1 - sum(|y[i] - y[i-1]|)) / (n - 1)`` (often negative; undefined with a missing target).
    """
    data = context.data
    if data.n_rows < 2:
        return {"AutoCorrelation": Undefined("needs at least two instances")}
    pairs = data.n_rows - 1
    if data.target_codes is not None:
        codes = data.target_codes
        same = (codes[1:] == codes[:-1]) & (codes[1:] >= 0)
        return {"AutoCorrelation": float(np.count_nonzero(same)) / pairs}
    values = data.regression_target()
    if np.isnan(values).any():
        return {"AutoCorrelation": Undefined("the target has missing values")}
    drift = float(np.cumsum(np.abs(np.diff(values)))[-1])  # Java sums the steps in order
    return {"AutoCorrelation": (pairs - drift) / pairs}


@feature_group(
    "MaxNominalAttDistinctValues",
    "MinNominalAttDistinctValues",
    "MeanNominalAttDistinctValues",
    "StdvNominalAttDistinctValues",
)
def _nominal_distinct_values(context: Context) -> GroupResult:
    """Distinct non-missing values per symbolic attribute (a classification target included)."""
    counts = context.shared(symbolic_distinct_counts).astype(np.float64)
    if context.data.task_type == CLASSIFICATION:
        counts = np.append(counts, np.count_nonzero(context.shared(class_counts)))
    if counts.size == 0:
        reason = "no symbolic attributes"
        return {
            name: Undefined(reason)
            for name in (
                "MaxNominalAttDistinctValues",
                "MinNominalAttDistinctValues",
                "MeanNominalAttDistinctValues",
                "StdvNominalAttDistinctValues",
            )
        }
    return {
        "MaxNominalAttDistinctValues": float(counts.max()),
        "MinNominalAttDistinctValues": float(counts.min()),
        "MeanNominalAttDistinctValues": float(counts.mean()),
        "StdvNominalAttDistinctValues": sample_std(counts),
    }


@feature_group("NumberOfFeaturesAfterEncoding")
def _features_after_encoding(context: Context) -> GroupResult:
    """Columns after one-hot encoding the symbolic predictors (not OpenML's: Oboe's column count).

    A numeric predictor counts 1, a symbolic one its number of distinct non-missing values, and the
    target 1 -- as OpenML's ``NumberOfFeatures`` counts the target, and as the Oboe run history's
    recorded widths do (its tables end with the label column: every all-numeric dataset of the
    knowledge base records numeric predictors + 1).
    """
    data = context.data
    encoded = data.numeric.shape[1] + int(context.shared(symbolic_distinct_counts).sum()) + 1
    return {"NumberOfFeaturesAfterEncoding": float(encoded)}


GROUPS: tuple[FeatureGroup, ...] = (
    _shape,
    _missing_values,
    _number_of_classes,
    _class_balance,
    _autocorrelation,
    _nominal_distinct_values,
    _features_after_encoding,
)
