"""Summaries of a list of per-column values, as OpenML computes them.

OpenML summarises per-attribute values (means, entropies, ...) with Apache Commons Math: the mean,
the minimum and maximum, the sample standard deviation (``n - 1``; ``0`` for a single value) and the
"legacy" percentile estimate (position ``p (n + 1)``, linear interpolation, clamped to the ends).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from metaknowledge.metafeatures._registry import Undefined

__all__ = ["SUMMARY_PREFIXES", "legacy_percentile", "sample_std", "summarize"]

SUMMARY_PREFIXES = ("Mean", "Min", "Max", "Quartile1", "Quartile2", "Quartile3")
"""How a summary names its statistics: ``<prefix><what>``, e.g. ``Quartile1MeansOfNumericAtts``."""


def legacy_percentile(values: npt.ArrayLike, percent: float) -> float:
    """Commons Math's default percentile: position ``percent (n + 1) / 100`` with interpolation.

    Raises:
        ValueError: ``values`` is empty.
    """
    ordered = np.sort(np.asarray(values, dtype=np.float64))
    n = ordered.size
    if n == 0:
        raise ValueError("percentile of no values")
    position = percent * (n + 1) / 100.0
    if position < 1:
        return float(ordered[0])
    if position >= n:
        return float(ordered[-1])
    lower_rank = math.floor(position)
    fraction = position - lower_rank
    lower = float(ordered[lower_rank - 1])
    upper = float(ordered[lower_rank])
    return lower + fraction * (upper - lower)


def sample_std(values: npt.ArrayLike) -> float:
    """Standard deviation with ``n - 1`` in the denominator; ``0`` for one value, NaN for none."""
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        return math.nan
    if array.size == 1:
        return 0.0
    return float(np.std(array, ddof=1))


def summarize(values: npt.ArrayLike, what: str, empty_reason: str) -> dict[str, float | Undefined]:
    """``{Mean,Min,Max,Quartile1,Quartile2,Quartile3}<what>`` of ``values``.

    With no values every statistic is :class:`Undefined` with ``empty_reason``.
    """
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        return {prefix + what: Undefined(empty_reason) for prefix in SUMMARY_PREFIXES}
    return {
        "Mean" + what: float(np.mean(array)),
        "Min" + what: float(np.min(array)),
        "Max" + what: float(np.max(array)),
        "Quartile1" + what: legacy_percentile(array, 25),
        "Quartile2" + what: legacy_percentile(array, 50),
        "Quartile3" + what: legacy_percentile(array, 75),
    }
