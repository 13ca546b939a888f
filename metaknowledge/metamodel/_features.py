"""Meta-features as vectors: transform, scale, and compare datasets that know different qualities.

KB datasets know only some OpenML qualities (every one its size, a quarter of them 65 qualities),
and
a new dataset may know more or fewer. Distances are therefore computed on the features both sides
know, each weighted, and averaged over the shared weight, so that two datasets are compared on what
they have in common rather than penalised for what one of them lacks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["FeatureSpace", "transform_quality"]

# Qualities that are counts or ratios spanning orders of magnitude: compared on a log scale.
_LOG_PREFIXES = (
    "NumberOf",
    "MajorityClassSize",
    "MinorityClassSize",
    "Dimensionality",
    "EquivalentNumberOfAtts",
    "MeanNoiseToSignalRatio",
)
_NOMINAL_DISTINCT = (
    "MaxNominalAttDistinctValues",
    "MeanNominalAttDistinctValues",
    "MinNominalAttDistinctValues",
)

#: Weight of a quality in the distance; the size qualities every KB dataset has weigh most.
DEFAULT_WEIGHTS: Mapping[str, float] = {
    "NumberOfInstances": 1.0,
    "NumberOfFeaturesAfterEncoding": 1.0,
}
OTHER_WEIGHT = 0.1


def transform_quality(name: str, values: np.ndarray) -> np.ndarray:
    """Map raw quality values to a scale on which differences are comparable.

    Counts and scale-free ratios: ``log1p``; nominal cardinalities too; everything else (skewness,
    kurtosis, means, entropies, percentages): signed ``log1p`` of the magnitude, which tames the
    heavy tails of moment statistics while keeping their sign.
    """
    v = np.asarray(values, dtype=np.float64)
    if name.startswith(_LOG_PREFIXES) or name in _NOMINAL_DISTINCT:
        return np.log1p(np.clip(v, 0.0, None))
    return np.sign(v) * np.log1p(np.abs(v))


class FeatureSpace:
    """Robustly scaled meta-features of the KB datasets, and weighted partial distances to them.

    Scaling per quality: subtract the KB median, divide by the KB inter-quartile range (or standard
    deviation when the IQR is 0); qualities with no spread in the KB are dropped.
    """

    def __init__(
        self,
        metafeatures: pd.DataFrame,
        dataset_ids: Sequence[int],
        weights: Mapping[str, float] | None = None,
        other_weight: float = OTHER_WEIGHT,
    ):
        table = metafeatures.reindex(list(dataset_ids))
        names: list[str] = []
        columns: list[np.ndarray] = []
        centers: list[float] = []
        scales: list[float] = []
        for name in table.columns:
            raw = transform_quality(str(name), table[name].to_numpy(dtype=np.float64))
            raw[~np.isfinite(raw)] = np.nan
            known = raw[np.isfinite(raw)]
            if known.size < 2:
                continue
            q1, med, q3 = np.percentile(known, [25, 50, 75])
            scale = q3 - q1 if q3 > q1 else float(np.std(known))
            if not scale > 0:
                continue
            names.append(str(name))
            centers.append(float(med))
            scales.append(float(scale))
            columns.append((raw - med) / scale)
        self.names: tuple[str, ...] = tuple(names)
        self.center = np.asarray(centers)
        self.scale = np.asarray(scales)
        self.matrix = np.column_stack(columns) if columns else np.empty((len(table), 0))
        w = weights if weights is not None else DEFAULT_WEIGHTS
        self.weights = np.asarray([w.get(n, other_weight) for n in names], dtype=np.float64)

    def vector(self, metafeatures: Mapping[str, float]) -> np.ndarray:
        """The scaled vector of a query (NaN for qualities it does not have)."""
        out = np.full(len(self.names), np.nan)
        for i, name in enumerate(self.names):
            value = metafeatures.get(name)
            if value is None:
                continue
            try:
                x = float(value)
            except (TypeError, ValueError):
                continue
            t = float(transform_quality(name, np.asarray([x]))[0])
            if np.isfinite(t):
                out[i] = (t - self.center[i]) / self.scale[i]
        return out

    def distances(self, query: np.ndarray, matrix: np.ndarray | None = None) -> np.ndarray:
        """Weighted RMS difference over shared qualities to every KB dataset (or to the rows of
        ``matrix``, vectors made by :meth:`vector`).

        A dataset that shares no quality with the query gets distance ``inf``.
        """
        matrix = self.matrix if matrix is None else matrix
        diff = matrix - query[None, :]
        shared = np.isfinite(diff)
        w = np.where(shared, self.weights[None, :], 0.0)
        total = w.sum(axis=1)
        sq = np.where(shared, diff, 0.0) ** 2
        with np.errstate(invalid="ignore", divide="ignore"):
            d = np.sqrt((w * sq).sum(axis=1) / total)
        d[total == 0] = np.inf
        return d
