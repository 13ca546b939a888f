"""Run the selected feature groups, each timed and each allowed to fail alone."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from metaknowledge.exceptions import InvalidInputError
from metaknowledge.metafeatures._catalog import select_groups
from metaknowledge.metafeatures._context import Context
from metaknowledge.metafeatures._prepare import TaskType, prepare
from metaknowledge.metafeatures._registry import FeatureGroup, Undefined

__all__ = ["MetafeatureReport", "extract_metafeatures", "extract_metafeatures_report"]


@dataclass(frozen=True)
class MetafeatureReport:
    """The outcome of one extraction.

    ``values`` has every requested meta-feature, NaN where it has no value; ``failures`` gives the
    reason for each NaN (an exception, or why the feature does not apply); ``seconds`` gives each
    feature's compute time (a group that computes several features at once attributes its whole
    time, including shared intermediate results it was the first to need, to each of them);
    ``total_seconds`` is the whole call, input validation included; ``task_type`` is the task the
    features were computed for, given or inferred (``None`` only in a report built by hand).
    """

    values: dict[str, float]
    failures: dict[str, str]
    seconds: dict[str, float]
    total_seconds: float
    task_type: TaskType | None = None


def _run_group(
    group: FeatureGroup, context: Context
) -> tuple[dict[str, float], dict[str, str], float]:
    started = time.perf_counter()
    values: dict[str, float] = {}
    failures: dict[str, str] = {}
    if not group.applies_to(context.data.task_type):
        for name in group.names:
            values[name] = math.nan
            failures[name] = group.inapplicable_reason
        return values, failures, time.perf_counter() - started
    try:
        computed = group.compute(context)
    except Exception as error:  # a feature may fail; the extraction must not
        reason = f"{type(error).__name__}: {error}"
        for name in group.names:
            values[name] = math.nan
            failures[name] = reason
        return values, failures, time.perf_counter() - started
    for name in group.names:
        number, why = _as_value(computed.get(name))
        values[name] = number
        if why is not None:
            failures[name] = why
    return values, failures, time.perf_counter() - started


def _as_value(value: object) -> tuple[float, str | None]:
    """A group's output as ``(float, None)``, or ``(NaN, reason)``; finite or NaN, like OpenML."""
    if value is None:
        return math.nan, "the feature group returned no value"
    if isinstance(value, Undefined):
        return math.nan, value.reason
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as error:
        return math.nan, f"not a number: {error}"
    if math.isnan(number):
        return number, "undefined on this dataset (computed NaN)"
    if math.isinf(number):
        return math.nan, f"not finite ({number})"
    return number, None


def extract_metafeatures_report(
    X: pd.DataFrame,
    y: pd.Series,
    *,
    task_type: str | None = None,
    random_state: int = 0,
    features: Iterable[str] | None = None,
) -> MetafeatureReport:
    """Compute meta-features of ``(X, y)`` with OpenML's names and definitions, with diagnostics.

    See :func:`extract_metafeatures` for the arguments. Never fails because one meta-feature
    fails: that feature becomes NaN and its reason is in ``failures``.

    Raises:
        InvalidInputError: the input is unusable (see :func:`extract_metafeatures`).
    """
    started = time.perf_counter()
    if isinstance(random_state, bool) or not isinstance(random_state, int):
        raise InvalidInputError(f"random_state must be an int, not {random_state!r}")
    names, groups = select_groups(features)
    data = prepare(X, y, task_type)
    context = Context(data, random_state)
    values: dict[str, float] = {}
    failures: dict[str, str] = {}
    seconds: dict[str, float] = {}
    for group in groups:
        group_values, group_failures, elapsed = _run_group(group, context)
        values.update(group_values)
        failures.update(group_failures)
        for name in group.names:
            seconds[name] = elapsed
    requested = set(names)
    return MetafeatureReport(
        values={name: values[name] for name in names},
        failures={name: reason for name, reason in failures.items() if name in requested},
        seconds={name: seconds[name] for name in names},
        total_seconds=time.perf_counter() - started,
        task_type=data.task_type,
    )


def extract_metafeatures(
    X: pd.DataFrame,
    y: pd.Series,
    *,
    task_type: str | None = None,
    random_state: int = 0,
    features: Iterable[str] | None = None,
) -> dict[str, float]:
    """Meta-features of the dataset ``(X, y)``, named and defined as OpenML's data qualities.

    Args:
        X: the predictors. Column kinds follow the dtype: ``category``, ``object``, ``bool`` and
            string columns are symbolic, numeric dtypes numeric (infinite values count as missing).
        y: the target, one value per row of ``X``.
        task_type: ``"classification"`` or ``"regression"``; ``None`` infers it: classification if
            ``y`` is symbolic, or numeric with only integer values and at most 20 distinct ones.
            Class-based meta-features are NaN for regression (reason ``"not a classification
            task"``); ``NumberOfClasses`` is then ``0``, as OpenML records it.
        random_state: seeds the subsample of large datasets that the landmarkers learn from. The
            same inputs and ``random_state`` give the same values.
        features: names to compute (default: all of ``METAFEATURE_NAMES``).

    Returns:
        ``{name: value}`` for every requested name, in ``METAFEATURE_NAMES`` order; NaN where a
        meta-feature is undefined or failed (:func:`extract_metafeatures_report` says why).

    Raises:
        InvalidInputError: ``X`` is not a non-empty DataFrame, ``y`` is not a Series of the same
            length with a non-missing value, a column has an unsupported dtype, ``task_type`` or
            ``random_state`` is invalid, a regression target is not numeric, or ``features`` names
            an unknown meta-feature.
    """
    report = extract_metafeatures_report(
        X, y, task_type=task_type, random_state=random_state, features=features
    )
    return report.values
