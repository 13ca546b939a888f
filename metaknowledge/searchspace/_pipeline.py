"""sklearn pipelines that fit a configuration on any uploaded table.

The preprocessing adapts to the learner (:class:`Preprocessing`) and to the table's column types,
read once from the ``X`` given at build time:

* numeric and bool columns: cast to float (pandas' nullable ``NA`` and ``+-inf`` become missing,
  magnitudes are clipped to the float32 range trees work in), median imputation (an all-missing
  column is kept as zeros so the column count never depends on the fold), standardised for the
  learners that need it (SVMs, kNN, linear models, MLP);
* every other column is categorical: values become strings, missing becomes a category of its own
  (missingness is often informative), then
  - *trees* get ordinal codes (one column per input column however many levels it has; trees split
    code ranges well; unseen levels get code -1, which histogram gradient boosting, told these
    columns are categorical, treats as missing) with at most :data:`ORDINAL_MAX_CATEGORIES` codes;
  - *the others* get one-hot columns, at most :data:`ONE_HOT_MAX_CATEGORIES` per input column: the
    rarest levels share one "infrequent" column, where unseen levels go too, so a 10,000-level
    column costs 32 columns, not 10,000. Sparse output when the learner accepts it.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    OrdinalEncoder,
    StandardScaler,
)

from metaknowledge.exceptions import InvalidInputError
from metaknowledge.searchspace._registry import learner_for_task
from metaknowledge.searchspace._spec import CLASSIFICATION, BuildContext, Preprocessing

__all__ = [
    "MISSING_CATEGORY",
    "ONE_HOT_MAX_CATEGORIES",
    "ORDINAL_MAX_CATEGORIES",
    "QuietPipeline",
    "build_pipeline",
]

ONE_HOT_MAX_CATEGORIES = 32
"""One-hot columns per categorical column, the shared "infrequent" column included."""
ORDINAL_MAX_CATEGORIES = 128
"""Ordinal codes per categorical column (at most 255: histogram gradient boosting's bins)."""
MISSING_CATEGORY = "__missing__"
"""The category that stands for a missing value."""

_FLOAT32_MAX = float(np.finfo(np.float32).max)


class QuietPipeline(Pipeline):
    """A :class:`~sklearn.pipeline.Pipeline` whose ``fit`` ignores :class:`ConvergenceWarning`.

    The iteration caps that bound a trial's cost (MLP epochs, linear solvers' ``max_iter``) make
    non-convergence an expected outcome, measured by the trial's score, not news. Other warnings
    pass. ``warnings.catch_warnings`` is process-global: fit one pipeline per thread at a time.
    """

    def fit(self, X: Any, y: Any = None, **params: Any) -> QuietPipeline:
        """Fit like :meth:`Pipeline.fit`, without convergence warnings."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=ConvergenceWarning)
            super().fit(X, y, **params)
        return self


def _as_float(X: Any) -> np.ndarray:
    """Numeric or bool columns as a float64 copy; NA and infinities become NaN."""
    if isinstance(X, pd.DataFrame):
        values = X.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    else:
        values = np.array(X, dtype=np.float64)
    values[~np.isfinite(values)] = np.nan
    return np.clip(values, -_FLOAT32_MAX, _FLOAT32_MAX)


def _as_strings(X: Any) -> np.ndarray:
    """Any columns as strings, missing values as :data:`MISSING_CATEGORY`."""
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
    strings = frame.astype(object).where(frame.notna(), MISSING_CATEGORY).astype(str)
    return strings.to_numpy(dtype=object)


def _column_kinds(X: pd.DataFrame) -> tuple[list[int], list[int]]:
    """Positions of the numeric (bool included) and the categorical columns of ``X``."""
    if not isinstance(X, pd.DataFrame):
        raise InvalidInputError(f"X must be a pandas DataFrame, got {type(X).__name__}")
    if X.shape[1] == 0:
        raise InvalidInputError("X has no columns")
    label_types = {isinstance(label, str) for label in X.columns}
    if len(label_types) > 1:
        raise InvalidInputError(
            "X mixes string and non-string column labels, which sklearn refuses; "
            "convert them, e.g. X.columns = X.columns.astype(str)"
        )
    numeric: list[int] = []
    categorical: list[int] = []
    for position, dtype in enumerate(X.dtypes):
        is_number = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(
            dtype
        )
        (numeric if is_number else categorical).append(position)
    return numeric, categorical


def _preprocessor(numeric: list[int], categorical: list[int], needs: Preprocessing) -> Any:
    numeric_steps: list[tuple[str, Any]] = [
        ("as_float", FunctionTransformer(_as_float, feature_names_out="one-to-one")),
        ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
    ]
    if needs.scale:
        numeric_steps.append(("scale", StandardScaler()))
    encoder: Any
    if needs.one_hot:
        encoder = OneHotEncoder(
            handle_unknown="infrequent_if_exist",
            max_categories=ONE_HOT_MAX_CATEGORIES,
            sparse_output=needs.sparse,
            dtype=np.float64,
        )
    else:
        encoder = OrdinalEncoder(
            handle_unknown="use_encoded_value",
            unknown_value=-1,
            max_categories=ORDINAL_MAX_CATEGORIES,
            dtype=np.float64,
        )
    categorical_steps = [
        ("as_strings", FunctionTransformer(_as_strings, feature_names_out="one-to-one")),
        ("encode", encoder),
    ]
    transformers = []
    if numeric:
        transformers.append(("numeric", Pipeline(numeric_steps), numeric))
    if categorical:
        transformers.append(("categorical", Pipeline(categorical_steps), categorical))
    return ColumnTransformer(
        transformers, remainder="drop", sparse_threshold=0.3 if needs.sparse else 0.0
    )


def build_pipeline(
    learner: str,
    params: Mapping[str, Any],
    X: pd.DataFrame,
    *,
    task_type: str = CLASSIFICATION,
    random_state: int | None = None,
) -> Pipeline:
    """An unfitted pipeline ``preprocess -> model`` fitting ``learner`` with ``params`` on tables
    shaped like ``X`` (see the module doc for the preprocessing).

    ``X`` is only inspected for its column types and row count, never fitted. ``params`` is
    validated first (defaults filled). ``random_state`` seeds every estimator that has one.
    kNN's ``n_neighbors`` is capped at half the rows of ``X`` so that a tiny table still fits.
    The returned :class:`QuietPipeline` silences convergence warnings during ``fit``.

    Raises :class:`UnknownLearnerError` / :class:`InvalidConfigError` like
    :func:`validate_params`, :class:`InvalidInputError` when ``X`` is not a DataFrame, has no
    columns, or mixes string and non-string column labels.
    """
    spec = learner_for_task(learner, task_type)
    point = spec.validate(params, task_type=task_type)
    numeric, categorical = _column_kinds(X)
    needs = spec.preprocessing
    mask = None if needs.one_hot else (False,) * len(numeric) + (True,) * len(categorical)
    context = BuildContext(task_type, random_state, n_rows=len(X), categorical_mask=mask)
    return QuietPipeline(
        [
            ("preprocess", _preprocessor(numeric, categorical, needs)),
            ("model", spec.factory(point, context)),
        ]
    )
