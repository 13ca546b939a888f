"""The meta-model bridge: load the knowledge base, fit :class:`metaknowledge.MetaModel`, answer.

This is the one module of the service that calls the meta-model. An :class:`Advisor` is built once
per process (in the app's lifespan, or by the CLI) and kept on ``app.state``; it is read-only after
construction, so concurrent requests may share it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metaknowledge import KnowledgeBase, load_knowledge_base
from metaknowledge.metamodel import MetaModel, Observation
from service.cache import LruCache
from service.errors import ConflictError
from service.schemas import EvidencePublic, RecommendationPublic

__all__ = ["Advisor", "Neighbour"]


@dataclass(frozen=True)
class Neighbour:
    """A knowledge-base dataset close to a query."""

    dataset_id: int
    name: str
    distance: float


class Advisor:
    """A fitted meta-model and the knowledge base it was fitted on."""

    def __init__(
        self,
        kb: KnowledgeBase,
        model: MetaModel,
        *,
        cache_size: int = 1024,
        version: str | None = None,
    ) -> None:
        self.kb = kb
        self.model = model
        self._version = version
        self._cache: LruCache[str, list[RecommendationPublic]] = LruCache(cache_size)
        self._summary: dict[str, Any] | None = None

    @classmethod
    def load(
        cls,
        snapshot_dir: Path | None = None,
        *,
        random_state: int = 0,
        task_type: str | None = None,
    ) -> Advisor:
        """Load a snapshot (default: the bundled one of ``task_type``, classification if None)
        and fit the meta-model on it.

        Raises:
            SnapshotError: the snapshot is missing or unreadable.
            InvalidInputError: the knowledge base cannot be fitted (e.g. empty), or the snapshot
                holds another task type than ``task_type``.
        """
        kb = load_knowledge_base(snapshot_dir, task_type=task_type)
        return cls(kb, MetaModel(random_state=random_state).fit(kb))

    @property
    def version(self) -> str:
        """The meta-model version recorded with every recommendation and study: ``v<id>`` of a
        stored version (``warmstart kb versions``), else the model's own
        ``<knowledge-base version>+mm.<parameter hash>`` (the snapshot before any refit)."""
        return self._version or str(self.model.version)

    def covers(self, task_type: str) -> bool:
        """True when the knowledge base holds run history for this task type."""
        return self.kb.task_type == task_type

    def check_covers(self, task_type: str) -> None:
        """Raise :class:`ConflictError` when the knowledge base has nothing for ``task_type``."""
        if not self.covers(task_type):
            raise ConflictError(
                f"the knowledge base holds {self.kb.task_type} run history only; no "
                f"recommendations for {task_type} tasks (start the study with warm_start=0)"
            )

    def recommend(
        self,
        metafeatures: Mapping[str, float | None],
        k: int,
        *,
        task_type: str,
        observed: Sequence[Observation] = (),
        learners: Sequence[str] | None = None,
    ) -> list[RecommendationPublic]:
        """Up to ``k`` configurations for a task, best first.

        Raises:
            ConflictError: the knowledge base does not cover ``task_type``.
            InvalidInputError / UnknownLearnerError: from the meta-model (bad ``k``, learners).
        """
        self.check_covers(task_type)
        query = _finite(metafeatures)
        # The meta-model is deterministic, so equal questions get the remembered answer: a
        # registered task asked again (the common case) skips the model entirely.
        key = json.dumps(
            [sorted(query.items()), k, list(observed), list(learners or [])],
            sort_keys=True,
            default=str,
        )
        cached = self._cache.get(key)
        if cached is not None:
            return list(cached)
        answer = self._recommend(query, k, observed, learners)
        self._cache.put(key, answer)
        return list(answer)

    def _recommend(
        self,
        query: dict[str, float],
        k: int,
        observed: Sequence[Observation],
        learners: Sequence[str] | None,
    ) -> list[RecommendationPublic]:
        recommendations = self.model.recommend(query, k, observed=list(observed), learners=learners)
        return [
            RecommendationPublic(
                rank=rank,
                learner=r.learner,
                params=dict(r.params),
                predicted_score=r.predicted_score,
                config_id=r.config_id,
                evidence=[
                    EvidencePublic(
                        dataset_id=e.dataset_id, name=e.name, similarity=e.similarity, score=e.score
                    )
                    for e in r.evidence
                ],
            )
            for rank, r in enumerate(recommendations, start=1)
        ]

    def similar(self, metafeatures: Mapping[str, float | None], k: int) -> list[Neighbour]:
        """The ``k`` closest knowledge-base datasets."""
        return [
            Neighbour(dataset_id=n.dataset_id, name=n.name, distance=n.distance)
            for n in self.model.similar(_finite(metafeatures), k)
        ]

    def distances(
        self,
        query: Mapping[str, float | None],
        others: Sequence[Mapping[str, float | None]],
    ) -> list[float]:
        """Distances from ``query`` to other (service) tasks, on the meta-model's scale.

        Same definition as the meta-model's ``similar``: the weighted RMS difference of the
        robust-scaled qualities both sides know (``inf`` when they share none).
        """
        return self.model.distances(_finite(query), [_finite(o) for o in others])

    def summary(self) -> dict[str, Any]:
        """The knowledge base's summary plus the meta-model version (computed once: 7 ms)."""
        if self._summary is None:
            self._summary = {**self.kb.summary(), "metamodel_version": self.version}
        return dict(self._summary)


def _finite(metafeatures: Mapping[str, float | None]) -> dict[str, float]:
    return {
        str(k): float(v)
        for k, v in metafeatures.items()
        if v is not None and math.isfinite(float(v))
    }
