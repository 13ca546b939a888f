"""Baseline proposers the meta-model must beat; each follows the :class:`Proposer` interface.

- :class:`RandomOrder`: configurations in a random order (seeded).
- :class:`AverageRank`: configurations by their mean rank over the KB datasets.
- :class:`GreedyPortfolio`: auto-sklearn 2.0 / FLAML zero-shot style portfolio, built greedily to
  minimise the mean normalised regret over all KB datasets.
- :class:`KnnBestConfigs`: auto-sklearn 1.0 style: the best configuration of each nearest KB dataset
  in turn, nearness = L1 distance on scaled meta-features (on the qualities both sides know).

None of them learns from ``observed`` beyond not proposing a configuration twice.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from metaknowledge.exceptions import InvalidInputError, NotFittedError
from metaknowledge.knowledge import KnowledgeBase
from metaknowledge.metamodel import Observation, Recommendation
from metaknowledge.metamodel._features import FeatureSpace

__all__ = ["AverageRank", "GreedyPortfolio", "KnnBestConfigs", "RandomOrder"]


class _OrderedProposer(ABC):
    """Shared plumbing: a fitted KB, and turning an order of columns into recommendations."""

    def fit(self, kb: KnowledgeBase) -> _OrderedProposer:
        if kb.performance.empty:
            raise InvalidInputError("cannot fit on an empty knowledge base")
        self.kb_ = kb
        self.performance_ = kb.performance.to_numpy(dtype=np.float64)
        self.config_ids_ = [str(c) for c in kb.performance.columns]
        self._fit()
        return self

    def _fit(self) -> None:  # noqa: B027 - an optional hook, not an abstract step
        """Hook for subclasses: learn what the order needs from ``self.kb_``."""

    @abstractmethod
    def _order(self, metafeatures: Mapping[str, float]) -> Sequence[int]:
        """Every configuration column, in the order this baseline proposes them."""

    def recommend(
        self,
        metafeatures: Mapping[str, float],
        k: int,
        *,
        observed: Sequence[Observation] = (),
        learners: Sequence[str] | None = None,
    ) -> list[Recommendation]:
        """The first ``k`` configurations of this baseline's order not yet observed."""
        if not hasattr(self, "kb_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted")
        if k < 1:
            raise InvalidInputError("k must be >= 1")
        seen = {str(c) for c, _ in observed if isinstance(c, str)}
        out: list[Recommendation] = []
        for column in self._order(metafeatures):
            cid = self.config_ids_[column]
            config = self.kb_.configs[cid]
            if cid in seen or (learners is not None and config["learner"] not in learners):
                continue
            mean = np.nanmean(self.performance_[:, column])
            out.append(
                Recommendation(cid, str(config["learner"]), dict(config["params"]), float(mean))
            )
            if len(out) == k:
                break
        return out


class RandomOrder(_OrderedProposer):
    """A random permutation of the configurations, fixed by ``random_state`` and the query."""

    def __init__(self, random_state: int = 0) -> None:
        self.random_state = random_state

    def _order(self, metafeatures: Mapping[str, float]) -> Sequence[int]:
        key = repr(sorted((str(k), float(v)) for k, v in metafeatures.items()))
        salt = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)
        rng = np.random.default_rng([self.random_state, salt])
        return [int(i) for i in rng.permutation(len(self.config_ids_))]


class AverageRank(_OrderedProposer):
    """Configurations by mean rank over the KB datasets (rank 1 = a dataset's best)."""

    def _fit(self) -> None:
        ranks = pd.DataFrame(self.performance_).rank(axis=1, ascending=False).to_numpy()
        self.order_ = [int(i) for i in np.argsort(np.nanmean(ranks, axis=0), kind="stable")]

    def _order(self, metafeatures: Mapping[str, float]) -> Sequence[int]:
        return self.order_


def greedy_order(normalised: np.ndarray, weights: np.ndarray, length: int) -> list[int]:
    """Greedy portfolio over per-dataset normalised scores (NaN = 0) with dataset ``weights``."""
    scores = np.nan_to_num(normalised, nan=0.0)
    current = np.zeros(scores.shape[0])
    chosen: list[int] = []
    free = np.ones(scores.shape[1], dtype=bool)
    for _ in range(min(length, scores.shape[1])):
        gain = (weights[:, None] * np.maximum(current[:, None], scores)).sum(axis=0)
        gain[~free] = -np.inf
        c = int(np.argmax(gain))
        chosen.append(c)
        free[c] = False
        current = np.maximum(current, scores[:, c])
    return chosen


def normalised_scores(performance: np.ndarray) -> np.ndarray:
    """Per-dataset min-max normalised scores (NaN stays NaN; constant rows become 0)."""
    best = np.nanmax(performance, axis=1, keepdims=True)
    worst = np.nanmin(performance, axis=1, keepdims=True)
    span = np.where(best > worst, best - worst, 1.0)
    return (performance - worst) / span


class GreedyPortfolio(_OrderedProposer):
    """The greedy portfolio minimising mean normalised regret over all KB datasets."""

    def _fit(self) -> None:
        normalised = normalised_scores(self.performance_)
        self.order_ = greedy_order(normalised, np.ones(len(normalised)), normalised.shape[1])

    def _order(self, metafeatures: Mapping[str, float]) -> Sequence[int]:
        return self.order_


class KnnBestConfigs(_OrderedProposer):
    """Best configurations of the nearest KB datasets, nearest first (auto-sklearn 1.0 style)."""

    def _fit(self) -> None:
        ids = [int(i) for i in self.kb_.performance.index]
        self.space_ = FeatureSpace(self.kb_.metafeatures, ids, weights={}, other_weight=1.0)
        filled = np.where(np.isfinite(self.performance_), self.performance_, -np.inf)
        self.best_columns_ = np.argsort(-filled, axis=1, kind="stable")

    def _order(self, metafeatures: Mapping[str, float]) -> Sequence[int]:
        query = self.space_.vector(metafeatures)
        diff = np.abs(self.space_.matrix - query[None, :])
        shared = np.isfinite(diff)
        count = shared.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            distance = np.where(count > 0, np.where(shared, diff, 0.0).sum(axis=1) / count, np.inf)
        order: list[int] = []
        seen: set[int] = set()
        neighbours = np.argsort(distance, kind="stable")
        # Pass r takes each neighbour's r-th best configuration, so the order covers every column.
        for rank in range(self.best_columns_.shape[1]):
            for j in neighbours:
                c = int(self.best_columns_[j, rank])
                if c not in seen:
                    seen.add(c)
                    order.append(c)
            if len(order) == self.best_columns_.shape[1]:
                break
        return order
