"""Validate ``(X, y)`` and turn it into the arrays every meta-feature reads.

Column kinds follow the dtype, never the values: pandas ``category``, ``object``, ``bool``,
``boolean`` and string dtypes are *symbolic*; every other real-valued dtype is *numeric*. Infinite
numeric values are treated as missing. Symbolic columns become integer codes (``-1`` = missing)
over their *declared* categories: the categories of a ``category`` dtype in their order,
``False``/``True`` for booleans, and the sorted distinct values otherwise (order of appearance when
the values cannot be sorted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from metaknowledge.exceptions import InvalidInputError

__all__ = [
    "CLASSIFICATION",
    "MAX_INFERRED_CLASSES",
    "REGRESSION",
    "PreparedData",
    "TaskType",
    "infer_task_type",
    "prepare",
]

TaskType = Literal["classification", "regression"]
CLASSIFICATION: Final = "classification"
REGRESSION: Final = "regression"

MAX_INFERRED_CLASSES: Final = 20
"""A numeric target with at most this many distinct values, all integers, is taken as classes."""

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class PreparedData:
    """The dataset as arrays, with the column kinds resolved once.

    ``numeric`` holds the numeric predictors (``NaN`` = missing) and ``codes`` the symbolic ones
    (``-1`` = missing), each in the order the columns appear in ``X``; ``column_order`` lists, for
    every column of ``X``, ``(is_numeric, index into numeric or codes)``. ``target_codes`` indexes
    ``n_declared_classes`` class labels for classification (``-1`` = missing); ``target_values``
    holds the regression target (``NaN`` = missing). The unused one of the two is ``None``.
    """

    n_rows: int
    column_names: tuple[str, ...]
    column_order: tuple[tuple[bool, int], ...]
    numeric: FloatArray
    codes: IntArray
    n_declared: IntArray
    task_type: TaskType
    target_codes: IntArray | None
    n_declared_classes: int
    target_values: FloatArray | None

    @property
    def n_columns(self) -> int:
        """Number of predictor columns (the target excluded)."""
        return len(self.column_order)

    def target_missing(self) -> npt.NDArray[np.bool_]:
        """Which rows have no target value."""
        if self.target_codes is not None:
            return self.target_codes < 0
        return np.isnan(self.regression_target())

    def regression_target(self) -> FloatArray:
        """The numeric target.

        Raises:
            ValueError: this is a classification task.
        """
        if self.target_values is None:
            raise ValueError("not a regression task")
        return self.target_values


def _is_symbolic_dtype(dtype: object) -> bool:
    return (
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
    )


def _is_numeric_dtype(dtype: object) -> bool:
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype)


def _symbolic_codes(column: pd.Series) -> tuple[IntArray, int]:
    """Codes over the declared categories (``-1`` = missing) and the number of categories."""
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy().astype(np.int64), len(dtype.categories)
    if pd.api.types.is_bool_dtype(dtype):
        missing = column.isna().to_numpy()
        values = column.to_numpy(dtype=bool, na_value=False)
        return np.where(missing, -1, values.astype(np.int64)), 2
    try:
        codes, uniques = pd.factorize(column, sort=True)
    except TypeError:  # values of mutually unorderable types: keep their order of appearance
        codes, uniques = pd.factorize(column, sort=False)
    return np.asarray(codes, dtype=np.int64), len(uniques)


def _numeric_values(column: pd.Series) -> FloatArray:
    values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    values = np.array(values, dtype=np.float64, copy=True)
    values[~np.isfinite(values)] = np.nan
    return values


def infer_task_type(y: pd.Series) -> TaskType:
    """The task a target implies when the caller does not say.

    Classification when ``y`` has a symbolic dtype, or is numeric with only integer values and at
    most :data:`MAX_INFERRED_CLASSES` distinct ones; regression otherwise.
    """
    if _is_symbolic_dtype(y.dtype):
        return CLASSIFICATION
    values = _numeric_values(y)
    present = values[~np.isnan(values)]
    if np.all(present == np.round(present)) and np.unique(present).size <= MAX_INFERRED_CLASSES:
        return CLASSIFICATION
    return REGRESSION


def _check_inputs(X: object, y: object) -> tuple[pd.DataFrame, pd.Series]:
    if not isinstance(X, pd.DataFrame):
        raise InvalidInputError(f"X must be a pandas DataFrame, not {type(X).__name__}")
    if not isinstance(y, pd.Series):
        raise InvalidInputError(f"y must be a pandas Series, not {type(y).__name__}")
    if X.shape[0] == 0:
        raise InvalidInputError("X has no rows")
    if X.shape[1] == 0:
        raise InvalidInputError("X has no columns")
    if len(y) != X.shape[0]:
        raise InvalidInputError(f"y has {len(y)} values but X has {X.shape[0]} rows")
    if bool(y.isna().all()):
        raise InvalidInputError("y has no non-missing value")
    unsupported = [
        str(name)
        for name, dtype in X.dtypes.items()
        if not (_is_symbolic_dtype(dtype) or _is_numeric_dtype(dtype))
    ]
    if unsupported:
        raise InvalidInputError(
            "columns of unsupported dtype (not numeric, categorical, bool or string): "
            f"{unsupported}"
        )
    if not (_is_symbolic_dtype(y.dtype) or _is_numeric_dtype(y.dtype)):
        raise InvalidInputError(f"y has an unsupported dtype: {y.dtype}")
    return X, y


def prepare(X: object, y: object, task_type: str | None) -> PreparedData:
    """Validate the inputs and resolve column kinds, codes and the task.

    Raises:
        InvalidInputError: ``X`` is not a non-empty DataFrame, ``y`` is not a Series of the same
            length with at least one value, a column has an unsupported dtype (datetime, complex,
            ...), ``task_type`` is not ``"classification"``/``"regression"``/``None``, or a
            regression target is not numeric.
    """
    frame, target = _check_inputs(X, y)
    if task_type is None:
        task: TaskType = infer_task_type(target)
    elif task_type in (CLASSIFICATION, REGRESSION):
        task = CLASSIFICATION if task_type == CLASSIFICATION else REGRESSION
    else:
        raise InvalidInputError(
            f"task_type must be 'classification', 'regression' or None, not {task_type!r}"
        )

    numeric_columns: list[FloatArray] = []
    code_columns: list[IntArray] = []
    n_declared: list[int] = []
    order: list[tuple[bool, int]] = []
    for position in range(frame.shape[1]):
        column = frame.iloc[:, position]
        if _is_symbolic_dtype(column.dtype):
            codes, n_categories = _symbolic_codes(column)
            order.append((False, len(code_columns)))
            code_columns.append(codes)
            n_declared.append(n_categories)
        else:
            order.append((True, len(numeric_columns)))
            numeric_columns.append(_numeric_values(column))

    n_rows = frame.shape[0]
    numeric = (
        np.column_stack(numeric_columns) if numeric_columns else np.empty((n_rows, 0), np.float64)
    )
    codes_matrix = (
        np.column_stack(code_columns) if code_columns else np.empty((n_rows, 0), np.int64)
    )

    target_codes: IntArray | None = None
    target_values: FloatArray | None = None
    n_classes = 0
    if task == CLASSIFICATION:
        target_codes, n_classes = _symbolic_codes(target)
    else:
        if _is_symbolic_dtype(target.dtype):
            raise InvalidInputError(f"a regression target must be numeric, not {target.dtype}")
        target_values = _numeric_values(target)
        if bool(np.isnan(target_values).all()):
            raise InvalidInputError("y has no finite value")

    return PreparedData(
        n_rows=n_rows,
        column_names=tuple(str(name) for name in frame.columns),
        column_order=tuple(order),
        numeric=np.ascontiguousarray(numeric, dtype=np.float64),
        codes=np.ascontiguousarray(codes_matrix, dtype=np.int64),
        n_declared=np.asarray(n_declared, dtype=np.int64),
        task_type=task,
        target_codes=target_codes,
        n_declared_classes=n_classes,
        target_values=target_values,
    )
