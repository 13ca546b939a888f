"""Summaries of the numeric attributes' means, standard deviations, skewness and kurtosis.

As OpenML (Apache Commons Math ``DescriptiveStatistics`` on each attribute's non-missing values):

* the attributes are the numeric predictors *and a regression target*;
* standard deviation uses ``n - 1`` (``0`` for a single value);
* skewness is the adjusted Fisher-Pearson coefficient ``n / ((n-1)(n-2)) * sum(d^3) / s^3`` (needs
  ``n >= 3``) and kurtosis the bias-corrected excess kurtosis
  ``n(n+1) / ((n-1)(n-2)(n-3)) * sum(d^4) / s^4 - 3 (n-1)^2 / ((n-2)(n-3))`` (needs ``n >= 4``),
  the same as :meth:`pandas.Series.skew` / :meth:`pandas.Series.kurt`;
* a statistic that is not finite for an attribute (too few values, constant column) is left out of
  its summary, which is then over the remaining attributes.

All rows are used (vectorised moments; no subsampling).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from metaknowledge.metafeatures._context import Context
from metaknowledge.metafeatures._registry import (
    FeatureGroup,
    GroupResult,
    Undefined,
    feature_group,
)
from metaknowledge.metafeatures._summary import SUMMARY_PREFIXES, summarize

__all__ = ["GROUPS", "ColumnMoments", "column_moments"]

FloatArray = npt.NDArray[np.float64]
_STATISTICS = ("Means", "StdDev", "Skewness", "Kurtosis")


@dataclass(frozen=True)
class ColumnMoments:
    """Per-column mean, sample standard deviation, skewness and kurtosis (NaN: undefined)."""

    mean: FloatArray
    std: FloatArray
    skewness: FloatArray
    kurtosis: FloatArray


def column_moments(values: FloatArray) -> ColumnMoments:
    """Moments of each column of ``values`` over its non-NaN entries, Commons Math's way."""
    present = ~np.isnan(values)
    n = present.sum(axis=0).astype(np.float64)
    deviation = np.where(present, values, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = deviation.sum(axis=0) / n
        np.subtract(deviation, np.nan_to_num(mean), out=deviation)
        np.multiply(deviation, present, out=deviation)
        drift = deviation.sum(axis=0)
        mean = mean + drift / n  # Commons Math's corrected two-pass mean
        squared = deviation * deviation
        m2 = squared.sum(axis=0)
        m3 = np.einsum("ij,ij->j", squared, deviation)
        m4 = np.einsum("ij,ij->j", squared, squared)
        variance = (m2 - drift * drift / n) / (n - 1)
        std = np.where(n == 1, 0.0, np.sqrt(variance))
        skewness = np.where(
            n >= 3, n / ((n - 1) * (n - 2)) * m3 / (variance * np.sqrt(variance)), np.nan
        )
        kurtosis = np.where(
            n >= 4,
            n * (n + 1) / ((n - 1) * (n - 2) * (n - 3)) * m4 / (variance * variance)
            - 3 * (n - 1) ** 2 / ((n - 2) * (n - 3)),
            np.nan,
        )
    return ColumnMoments(mean=mean, std=std, skewness=skewness, kurtosis=kurtosis)


def _numeric_attributes(context: Context) -> ColumnMoments:
    data = context.data
    moments = column_moments(data.numeric)
    if data.target_values is None:
        return moments
    target = column_moments(data.target_values[:, None])
    return ColumnMoments(
        mean=np.append(moments.mean, target.mean),
        std=np.append(moments.std, target.std),
        skewness=np.append(moments.skewness, target.skewness),
        kurtosis=np.append(moments.kurtosis, target.kurtosis),
    )


@feature_group(
    *(
        prefix + statistic + "OfNumericAtts"
        for statistic in _STATISTICS
        for prefix in SUMMARY_PREFIXES
    )
)
def _numeric_moments(context: Context) -> GroupResult:
    """Mean/min/max/quartiles over numeric attributes of their mean, std, skewness, kurtosis."""
    moments = _numeric_attributes(context)
    result: dict[str, float | Undefined] = {}
    for statistic, per_column in zip(
        _STATISTICS,
        (moments.mean, moments.std, moments.skewness, moments.kurtosis),
        strict=True,
    ):
        finite = per_column[np.isfinite(per_column)]
        empty = (
            "no numeric attributes"
            if per_column.size == 0
            else f"no numeric attribute has a defined {statistic.lower()}"
        )
        result.update(summarize(finite, statistic + "OfNumericAtts", empty))
    return result


GROUPS: tuple[FeatureGroup, ...] = (_numeric_moments,)
