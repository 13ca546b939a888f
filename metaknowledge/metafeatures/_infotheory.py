"""Information-theoretic meta-features: class entropy, attribute entropies, mutual information.

Entropies are in bits, over the symbolic predictors only (numeric ones are not discretised), and
defined only for classification, as in OpenML. OpenML's Java implementation reads a missing nominal
value as the attribute's *first* category (Weka stores it as NaN and ``(int) NaN == 0``), in the
attribute entropies, in the mutual information and in the class entropy alike; this module does the
same so that the values agree (the first category is the first of a ``category`` dtype, else the
smallest value). Probabilities are over all rows. Mutual information is rounded to 14 decimals,
as OpenML rounds it. All rows are used (counting is vectorised; no subsampling).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from metaknowledge.metafeatures._context import Context
from metaknowledge.metafeatures._prepare import CLASSIFICATION
from metaknowledge.metafeatures._registry import (
    FeatureGroup,
    GroupResult,
    Undefined,
    feature_group,
)
from metaknowledge.metafeatures._summary import summarize

__all__ = ["GROUPS", "attribute_entropies", "class_entropy", "mutual_information"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_DENSE_JOINT_CELLS = 1 << 16  # larger value-by-class tables (and > 4 n) are counted sparsely
_NO_SYMBOLIC = "no symbolic predictors"


def _as_first_category(codes: IntArray) -> IntArray:
    """OpenML's reading of a missing nominal value (-1) as the first category (0)."""
    return np.where(codes < 0, 0, codes)


def _log2(values: FloatArray) -> FloatArray:
    """Weka's ``Utils.log2``: ``ln(x) / ln(2)`` (not numpy's log2, which rounds differently)."""
    return np.log(values) / np.log(2.0)


def _sequential_sum(terms: FloatArray, axis: int = -1) -> FloatArray:
    """Left-to-right sums, in Java's order of additions (numpy's ``sum`` is pairwise)."""
    if terms.shape[axis] == 0:
        return np.zeros(np.delete(terms.shape, axis), dtype=np.float64)
    return np.asarray(np.take(np.cumsum(terms, axis=axis), -1, axis=axis), dtype=np.float64)


def _entropy_bits(counts: npt.NDArray[np.int64], total: int) -> float:
    """``-sum p log2 p`` over the non-empty counts, summed in order as OpenML does."""
    probabilities = counts[counts > 0] / total
    return -float(_sequential_sum(probabilities * _log2(probabilities)))


def _xlog2x(counts: npt.NDArray[np.int64]) -> FloatArray:
    values = np.asarray(counts, dtype=np.float64)
    safe = np.where(values > 0, values, 1.0)
    return np.where(values > 0, values * _log2(safe), 0.0)


def _target_codes(context: Context) -> IntArray:
    codes = context.data.target_codes
    if codes is None:
        raise ValueError("not a classification task")
    return _as_first_category(codes)


def class_entropy(context: Context) -> float:
    """Entropy of the class, in bits (memoise with ``context.shared``)."""
    labels = _target_codes(context)
    counts = np.bincount(labels, minlength=context.data.n_declared_classes)
    return _entropy_bits(counts, labels.size)


def attribute_entropies(context: Context) -> FloatArray:
    """Entropy of each symbolic predictor, in bits (memoise with ``context.shared``)."""
    data = context.data
    entropies = [
        _entropy_bits(np.bincount(_as_first_category(column), minlength=int(n)), data.n_rows)
        for column, n in zip(data.codes.T, data.n_declared, strict=True)
    ]
    return np.asarray(entropies, dtype=np.float64)


def _information_gain(codes: IntArray, n_values: int, labels: IntArray, n_classes: int) -> float:
    """``H(class) - H(class | attribute)`` with OpenML's per-subset entropy formula and order."""
    total = labels.size
    value_counts = np.bincount(codes, minlength=n_values)
    keys = codes * n_classes + labels
    if n_values * n_classes <= max(_DENSE_JOINT_CELLS, 4 * total):
        joint = np.bincount(keys, minlength=n_values * n_classes).reshape(n_values, n_classes)
        per_value = _sequential_sum(-_xlog2x(joint), axis=1)
    else:  # sparse: the non-empty cells in (value, class) order
        cells, cell_counts = np.unique(keys, return_counts=True)
        per_value = np.zeros(n_values)
        terms = -_xlog2x(cell_counts)
        starts = np.flatnonzero(np.r_[True, np.diff(cells // n_classes) != 0])
        sums = np.add.reduceat(terms, starts) if terms.size else terms
        per_value[cells[starts] // n_classes] = sums
    class_counts = np.bincount(labels, minlength=n_classes)
    whole = float(_sequential_sum(-_xlog2x(class_counts))) / total + math.log(total) / math.log(2.0)
    used = value_counts > 0
    sizes = value_counts[used].astype(np.float64)
    subsets = per_value[used] / sizes + _log2(sizes)
    # infoGain -= share * entropy, value by value
    return float(_sequential_sum(np.concatenate([[whole], -(sizes / total) * subsets])))


def mutual_information(context: Context) -> FloatArray:
    """Mutual information (bits) of each symbolic predictor with the class, rounded to 1e-14."""
    data = context.data
    labels = _target_codes(context)
    gains = np.asarray(
        [
            _information_gain(_as_first_category(column), int(n), labels, data.n_declared_classes)
            for column, n in zip(data.codes.T, data.n_declared, strict=True)
        ],
        dtype=np.float64,
    )
    return np.floor(gains * 1e14 + 0.5) / 1e14  # Java's Math.round(x * 1e14) / 1e14


@feature_group("ClassEntropy", task=CLASSIFICATION)
def _class_entropy(context: Context) -> GroupResult:
    """Entropy of the class distribution, in bits."""
    return {"ClassEntropy": context.shared(class_entropy)}


@feature_group(
    "MeanAttributeEntropy",
    "MinAttributeEntropy",
    "MaxAttributeEntropy",
    "Quartile1AttributeEntropy",
    "Quartile2AttributeEntropy",
    "Quartile3AttributeEntropy",
    task=CLASSIFICATION,
)
def _attribute_entropy(context: Context) -> GroupResult:
    """Summary of the symbolic predictors' entropies."""
    return summarize(context.shared(attribute_entropies), "AttributeEntropy", _NO_SYMBOLIC)


@feature_group(
    "MeanMutualInformation",
    "MinMutualInformation",
    "MaxMutualInformation",
    "Quartile1MutualInformation",
    "Quartile2MutualInformation",
    "Quartile3MutualInformation",
    "EquivalentNumberOfAtts",
    "MeanNoiseToSignalRatio",
    task=CLASSIFICATION,
)
def _mutual_information(context: Context) -> GroupResult:
    """Summary of the symbolic predictors' mutual information with the class, and two ratios.

    ``EquivalentNumberOfAtts`` = class entropy / mean mutual information;
    ``MeanNoiseToSignalRatio`` = (mean attribute entropy - mean MI) / mean MI. Both are undefined
    when the mean mutual information is not positive.
    """
    information = context.shared(mutual_information)
    result = summarize(information, "MutualInformation", _NO_SYMBOLIC)
    if information.size == 0:
        result["EquivalentNumberOfAtts"] = Undefined(_NO_SYMBOLIC)
        result["MeanNoiseToSignalRatio"] = Undefined(_NO_SYMBOLIC)
        return result
    mean_information = float(np.mean(information))
    if mean_information <= 0:
        reason = "the mean mutual information is not positive"
        result["EquivalentNumberOfAtts"] = Undefined(reason)
        result["MeanNoiseToSignalRatio"] = Undefined(reason)
        return result
    mean_entropy = float(np.mean(context.shared(attribute_entropies)))
    result["EquivalentNumberOfAtts"] = context.shared(class_entropy) / mean_information
    result["MeanNoiseToSignalRatio"] = (mean_entropy - mean_information) / mean_information
    return result


GROUPS: tuple[FeatureGroup, ...] = (_class_entropy, _attribute_entropy, _mutual_information)
