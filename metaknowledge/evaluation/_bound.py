"""How far similarity-based proposals can get on a knowledge base: the *similarity oracle*.

Every proposer of this package (and the meta-model) turns "which KB datasets is the new one
like" into a portfolio: configurations that do well on the similar datasets, covering each
other's gaps. The oracle gets that similarity for free: it weighs each other KB dataset by how
well its performance profile correlates with the held-out dataset's *true* row (knowledge no
proposer has), ``w_j = exp((corr_ij - 1) / temperature)``, and builds the same greedy portfolio
of normalised scores with those weights. The temperature is the best of a small grid for each
budget ``k``, chosen on the held-out rows themselves, so the figure errs on the optimistic side.

It is a reference, not a proposer: a target below it asks for more than knowing exactly which
past datasets behave alike would give with this portfolio rule; only better knowledge (more
configurations, or run history of datasets that are closer) moves it. Static only.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import numpy as np

from metaknowledge.evaluation._baselines import greedy_order, normalised_scores
from metaknowledge.evaluation._protocol import EvaluationResult
from metaknowledge.evaluation._regret import regret_curve
from metaknowledge.exceptions import InvalidInputError
from metaknowledge.knowledge import KnowledgeBase

__all__ = ["ORACLE_NAME", "ORACLE_TEMPERATURES", "similarity_oracle"]

ORACLE_NAME = "similarity oracle (bound)"

#: Softmax temperatures (in units of correlation) the oracle tries; the best one per budget wins.
ORACLE_TEMPERATURES: tuple[float, ...] = (0.02, 0.05, 0.1, 0.2)

#: Pairs of rows sharing fewer measured configurations than this get no weight (no correlation).
MIN_SHARED_CONFIGS = 5


def _correlations(normalised: np.ndarray, row: int) -> np.ndarray:
    """Pearson correlation of ``row`` with every row, over the configurations both measured
    (NaN where fewer than :data:`MIN_SHARED_CONFIGS` are shared or a side is constant)."""
    target = normalised[row]
    shared = np.isfinite(normalised) & np.isfinite(target)[None, :]
    count = shared.sum(axis=1)
    a = np.where(shared, target[None, :], 0.0)
    b = np.where(shared, normalised, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_a = a.sum(axis=1) / count
        mean_b = b.sum(axis=1) / count
        da = np.where(shared, a - mean_a[:, None], 0.0)
        db = np.where(shared, b - mean_b[:, None], 0.0)
        corr = (da * db).sum(axis=1) / np.sqrt((da**2).sum(axis=1) * (db**2).sum(axis=1))
    corr[count < MIN_SHARED_CONFIGS] = np.nan
    return corr


def similarity_oracle(
    kb: KnowledgeBase,
    *,
    dataset_ids: Iterable[int] | None = None,
    length: int = 25,
    temperatures: Sequence[float] = ORACLE_TEMPERATURES,
) -> EvaluationResult:
    """Leave-one-dataset-out regret curves of the similarity oracle (see the module docstring).

    ``curves[i, t]`` is the lowest regret after ``t + 1`` proposals over ``temperatures``, each
    temperature's regret being its mean over the held-out datasets (one temperature per budget,
    not per dataset). Held-out datasets are those with two distinct scores, as for
    :func:`evaluate_proposer`. ``extra["temperature"]`` maps each budget to the chosen one.

    Raises:
        InvalidInputError: ``length`` < 1, or no temperature given or one that is not > 0.
    """
    if length < 1:
        raise InvalidInputError("length must be >= 1")
    if not temperatures or not all(float(t) > 0 for t in temperatures):
        raise InvalidInputError("temperatures must be a non-empty sequence of values > 0")
    started = time.perf_counter()
    perf = kb.performance.to_numpy(dtype=np.float64)
    normalised = normalised_scores(perf)
    position = {int(d): i for i, d in enumerate(kb.performance.index)}
    ids = [int(i) for i in (dataset_ids if dataset_ids is not None else kb.dataset_ids)]
    used: list[int] = []
    per_temperature: list[list[np.ndarray]] = [[] for _ in temperatures]
    for dataset_id in ids:
        i = position[dataset_id]
        row = perf[i]
        finite = row[np.isfinite(row)]
        if finite.size < 2 or finite.max() <= finite.min():
            continue
        corr = _correlations(normalised, i)
        corr[i] = np.nan  # the held-out dataset does not vote for itself
        known = np.isfinite(corr)
        for t, temperature in enumerate(temperatures):
            weights = np.where(known, np.exp((np.where(known, corr, 0.0) - 1.0) / temperature), 0)
            order = greedy_order(normalised, weights, length)
            per_temperature[t].append(regret_curve(row, order, length))
        used.append(dataset_id)
    if not used:
        return EvaluationResult(ORACLE_NAME, "static", (), np.empty((0, length)), 0.0)
    stacked = np.stack([np.vstack(curves) for curves in per_temperature])  # (T, n, length)
    best = np.argmin(stacked.mean(axis=1), axis=0)  # per budget, the best temperature
    curves = stacked[best, :, np.arange(length)].T
    return EvaluationResult(
        name=ORACLE_NAME,
        setting="static",
        dataset_ids=tuple(used),
        curves=curves,
        seconds=time.perf_counter() - started,
        extra={"temperature": {str(k + 1): float(temperatures[b]) for k, b in enumerate(best)}},
    )
