"""Defining a task on a table: target checks, task-type inference, and meta-features.

The meta-features come from :func:`metaknowledge.metafeatures.extract_metafeatures` (this is the one
module of the service that calls it). NaN values (qualities that could not be computed) are stored
as None so they survive JSON.
"""

from __future__ import annotations

import math

import pandas as pd

from service.errors import InvalidRequestError

__all__ = ["MAX_CLASSES_FOR_INTEGER_TARGET", "ProblemData", "compute_metafeatures", "split_problem"]

MAX_CLASSES_FOR_INTEGER_TARGET = 20
MIN_ROWS_PER_CLASS = 2


class ProblemData:
    """Features ``X`` and target ``y`` of a task (rows with a missing target dropped)."""

    def __init__(self, X: pd.DataFrame, y: pd.Series, task_type: str) -> None:
        self.X = X
        self.y = y
        self.task_type = task_type


def infer_task_type(y: pd.Series) -> str:
    """``classification`` for non-numeric, boolean or integer targets with few distinct values
    (at most :data:`MAX_CLASSES_FOR_INTEGER_TARGET`); ``regression`` otherwise."""
    if pd.api.types.is_bool_dtype(y) or not pd.api.types.is_numeric_dtype(y):
        return "classification"
    values = y.dropna().astype(float)
    if values.nunique() <= MAX_CLASSES_FOR_INTEGER_TARGET and bool((values % 1 == 0).all()):
        return "classification"
    return "regression"


def split_problem(frame: pd.DataFrame, target: str, task_type: str | None) -> ProblemData:
    """Split ``frame`` into features and target and check that the task can be learned.

    Raises:
        InvalidRequestError: unknown target column; a target with only missing values or one
            class; a class with fewer than 2 rows; a non-numeric regression target; no feature
            column with any value.
    """
    if target not in frame.columns:
        columns = [str(c) for c in frame.columns]
        shown = ", ".join(columns[:20]) + (", ..." if len(columns) > 20 else "")
        raise InvalidRequestError(
            f"target column {target!r} is not in the dataset (columns: {shown})"
        )
    y = frame[target]
    known = y.notna()
    if not known.any():
        raise InvalidRequestError(f"target column {target!r} has only missing values")
    X = frame.loc[known].drop(columns=[target])
    y = y.loc[known]
    if not X.notna().any().any():
        raise InvalidRequestError("no feature column has any value (all missing)")
    resolved = task_type or infer_task_type(y)
    if resolved == "classification":
        counts = y.astype(str).value_counts()
        if len(counts) < 2:
            raise InvalidRequestError(
                f"target column {target!r} has one class ({counts.index[0]!r}); "
                "classification needs at least two"
            )
        rare = counts[counts < MIN_ROWS_PER_CLASS]
        if len(rare):
            raise InvalidRequestError(
                f"classes {list(rare.index[:5])} of {target!r} have fewer than "
                f"{MIN_ROWS_PER_CLASS} rows; cross-validation needs at least {MIN_ROWS_PER_CLASS}"
            )
    elif resolved == "regression":
        if pd.api.types.is_bool_dtype(y) or not pd.api.types.is_numeric_dtype(y):
            raise InvalidRequestError(f"regression needs a numeric target; {target!r} is not")
        if y.nunique() < 2:
            raise InvalidRequestError(f"target column {target!r} is constant")
    else:
        raise InvalidRequestError(f"unknown task type {resolved!r}")
    return ProblemData(X.reset_index(drop=True), y.reset_index(drop=True), resolved)


def compute_metafeatures(problem: ProblemData, *, random_state: int = 0) -> dict[str, float | None]:
    """OpenML-named meta-features of a problem (None where not computable).

    Raises:
        InvalidInputError: from :mod:`metaknowledge` when the data cannot be profiled.
    """
    from metaknowledge.metafeatures import extract_metafeatures

    values = extract_metafeatures(
        problem.X, problem.y, task_type=problem.task_type, random_state=random_state
    )
    return {
        str(name): (float(v) if v is not None and math.isfinite(float(v)) else None)
        for name, v in values.items()
    }
