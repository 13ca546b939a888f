"""Which datasets of a knowledge base the leave-one-dataset-out protocol can score, and a check
that the scores it compares are oriented as the regret formula assumes.

Regret is ``(best - reached) / (best - worst)`` over a held-out row, so a row needs two distinct
scores. Sparse sources have rows with a single score (auto-sklearn's regression scenario keeps one
run per dataset, its best); they still train the proposers but cannot be held out.
"""

from __future__ import annotations

import numpy as np

from metaknowledge.exceptions import InvalidInputError
from metaknowledge.knowledge import KnowledgeBase

__all__ = ["LOSS_METRICS", "check_higher_is_better", "evaluable_dataset_ids"]

LOSS_METRICS = frozenset(
    {"rmse", "mse", "mae", "log_loss", "error_rate", "balanced_error_rate", "loss"}
)
"""Metric names that mean lower-is-better; a knowledge base must store scores, never these."""


def evaluable_dataset_ids(kb: KnowledgeBase) -> list[int]:
    """The datasets whose row holds at least two distinct finite scores, in ``kb`` order."""
    perf = kb.performance.to_numpy(dtype=np.float64)
    finite = np.isfinite(perf)
    high = np.where(finite, perf, -np.inf).max(axis=1, initial=-np.inf)
    low = np.where(finite, perf, np.inf).min(axis=1, initial=np.inf)
    keep = (finite.sum(axis=1) >= 2) & (high > low)
    return [int(i) for i, k in zip(kb.performance.index, keep, strict=True) if k]


def check_higher_is_better(kb: KnowledgeBase) -> None:
    """Refuse a knowledge base whose metric names a loss (its regret would be inverted).

    Raises:
        InvalidInputError: ``kb.metric`` is one of :data:`LOSS_METRICS`.
    """
    if kb.metric.lower() in LOSS_METRICS:
        raise InvalidInputError(
            f"knowledge base {kb.version} stores {kb.metric!r}, a loss: knowledge bases hold "
            "higher-is-better scores (store e.g. r2, or the negated loss)"
        )
