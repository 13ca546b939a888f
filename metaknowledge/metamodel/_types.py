"""Value types shared by every proposer, and the proposer interface itself."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from metaknowledge.knowledge import KnowledgeBase

__all__ = ["Evidence", "Neighbor", "Observation", "Proposer", "Recommendation"]

#: A measured configuration on the new dataset: ``(config_id or {"learner", "params"}, score)``.
Observation = tuple[str | Mapping[str, Any], float]


@dataclass(frozen=True)
class Evidence:
    """A past dataset that supports a recommendation: its similarity and the config's score."""

    dataset_id: int
    name: str
    similarity: float
    score: float

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        return {
            "dataset_id": self.dataset_id,
            "name": self.name,
            "similarity": self.similarity,
            "score": self.score,
        }


@dataclass(frozen=True)
class Recommendation:
    """One proposed configuration.

    ``config_id`` names the knowledge-base configuration it comes from (None for a configuration the
    knowledge base has never run, e.g. a learner's defaults). ``predicted_score`` is in the units of
    the knowledge base's metric (None when nothing supports a prediction). ``evidence`` lists the
    most influential past datasets, most similar first.
    """

    config_id: str | None
    learner: str
    params: Mapping[str, Any]
    predicted_score: float | None
    evidence: tuple[Evidence, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        return {
            "config_id": self.config_id,
            "learner": self.learner,
            "params": dict(self.params),
            "predicted_score": self.predicted_score,
            "evidence": [e.as_dict() for e in self.evidence],
        }


@dataclass(frozen=True)
class Neighbor:
    """A past dataset close to the query: ``distance`` >= 0 and ``similarity`` in (0, 1]."""

    dataset_id: int
    name: str
    distance: float
    similarity: float


@runtime_checkable
class Proposer(Protocol):
    """What every proposer offers (the meta-model and the evaluation baselines alike).

    ``recommend`` returns at most ``k`` distinct configurations, never one already in ``observed``
    when it comes from the knowledge base, and is deterministic for a fixed ``random_state``.
    """

    def fit(self, kb: KnowledgeBase) -> Proposer: ...

    def recommend(
        self,
        metafeatures: Mapping[str, float],
        k: int,
        *,
        observed: Sequence[Observation] = (),
        learners: Sequence[str] | None = None,
    ) -> list[Recommendation]: ...
