"""The :class:`KnowledgeBase`: past datasets, configurations, and how each configuration scored."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from metaknowledge.exceptions import InvalidInputError

__all__ = ["KnowledgeBase", "Provenance", "local_dataset_id"]


def local_dataset_id(namespace: str, key: str) -> int:
    """A stable id for a dataset that has no OpenML id (a name in a source, a file's checksum).

    Negative, so it never collides with an OpenML dataset id, and within 32 bits:
    ``-(1 + the first 31 bits of sha256("<namespace>/<key>"))``. Callers check their own ids for
    collisions (about one in 10^7 for a thousand datasets).
    """
    digest = hashlib.sha256(f"{namespace}/{key}".encode()).digest()
    return -(1 + int.from_bytes(digest[:4], "big") % (2**31 - 1))


@dataclass(frozen=True)
class Provenance:
    """Where a block of meta-knowledge came from.

    ``package``/``version``/``file``/``sha256`` identify the exact upstream artifact; ``licence``
    names its licence (the full texts are in ``metaknowledge/NOTICE``).
    """

    source: str
    package: str
    version: str
    file: str
    sha256: str
    licence: str
    description: str = ""

    def as_dict(self) -> dict[str, str]:
        """A JSON-ready copy."""
        return {
            "source": self.source,
            "package": self.package,
            "version": self.version,
            "file": self.file,
            "sha256": self.sha256,
            "licence": self.licence,
            "description": self.description,
        }


@dataclass(frozen=True, eq=False)
class KnowledgeBase:
    """Run history of past datasets: who was evaluated with what, and how well.

    Attributes (a stable contract, other tools read them):

    - ``performance``: index ``dataset_id`` (int), columns ``config_id`` (str); values are scores,
      higher is better (for the Oboe source: balanced accuracy = 1 - balanced error rate); NaN where
      a configuration was not evaluated on a dataset.
    - ``metafeatures``: index ``dataset_id``; columns are OpenML quality names (plus the few
      documented non-OpenML names listed in ``NON_OPENML_QUALITIES``); NaN where unknown.
    - ``configs``: ``config_id -> {"learner": str, "params": dict}`` (read-only mapping).
    - ``runtime``: same shape as ``performance``, fit time in seconds where the source recorded it.
    - ``datasets``: index ``dataset_id``; columns ``name`` and ``source``.
    - ``version``: snapshot version; ``metric`` and ``task_type`` say what the scores measure.
    - ``provenance``: the upstream artifacts every block was derived from.

    Instances are immutable in spirit: methods return new knowledge bases and never modify frames in
    place. ``without`` is the tool for honest held-out evaluation.
    """

    performance: pd.DataFrame
    metafeatures: pd.DataFrame
    configs: Mapping[str, Mapping[str, Any]]
    runtime: pd.DataFrame
    datasets: pd.DataFrame
    version: str
    metric: str = "balanced_accuracy"
    task_type: str = "classification"
    provenance: tuple[Provenance, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        missing = [c for c in self.performance.columns if c not in self.configs]
        if missing:
            raise InvalidInputError(
                f"performance has config ids with no configuration: {missing[:5]}"
            )
        if not self.runtime.empty and not self.runtime.index.equals(self.performance.index):
            raise InvalidInputError("runtime and performance must share their dataset index")
        object.__setattr__(self, "configs", MappingProxyType(dict(self.configs)))

    # -- views ---------------------------------------------------------------------------------
    @property
    def dataset_ids(self) -> list[int]:
        """The datasets with run history, in the order of ``performance``."""
        return [int(i) for i in self.performance.index]

    @property
    def config_ids(self) -> list[str]:
        """The configurations, in the order of ``performance``'s columns."""
        return [str(c) for c in self.performance.columns]

    @property
    def learners(self) -> list[str]:
        """The distinct learners of the configurations, sorted."""
        return sorted({str(c["learner"]) for c in self.configs.values()})

    def config(self, config_id: str) -> Mapping[str, Any]:
        """The configuration ``{"learner", "params"}`` of ``config_id``.

        Raises:
            InvalidInputError: the id is not in this knowledge base.
        """
        try:
            return self.configs[config_id]
        except KeyError:
            raise InvalidInputError(f"unknown config_id {config_id!r}") from None

    def metafeatures_for(self, dataset_ids: Iterable[int]) -> pd.DataFrame:
        """Meta-features of ``dataset_ids`` (rows of NaN for datasets without any)."""
        return self.metafeatures.reindex(list(dataset_ids))

    # -- derivations ---------------------------------------------------------------------------
    def without(self, dataset_ids: Iterable[int]) -> KnowledgeBase:
        """A copy that knows nothing of ``dataset_ids`` (ids not present are ignored)."""
        drop = {int(i) for i in dataset_ids}
        keep = [i for i in self.performance.index if int(i) not in drop]
        return KnowledgeBase(
            performance=self.performance.loc[keep],
            metafeatures=self.metafeatures.loc[
                [i for i in self.metafeatures.index if int(i) not in drop]
            ],
            configs=self.configs,
            runtime=self.runtime.loc[keep] if not self.runtime.empty else self.runtime,
            datasets=self.datasets.loc[[i for i in self.datasets.index if int(i) not in drop]],
            version=self.version,
            metric=self.metric,
            task_type=self.task_type,
            provenance=self.provenance,
        )

    def summary(self) -> dict[str, Any]:
        """Counts and provenance for people and the ``/metaknowledge`` endpoint."""
        perf = self.performance.to_numpy(dtype=float)
        known = int(np.isfinite(perf).sum())
        return {
            "version": self.version,
            "task_type": self.task_type,
            "metric": self.metric,
            "n_datasets": int(perf.shape[0]),
            "n_configs": int(perf.shape[1]),
            "n_runs": known,
            "density": known / perf.size if perf.size else 0.0,
            "learners": {
                learner: sum(1 for c in self.configs.values() if c["learner"] == learner)
                for learner in self.learners
            },
            "n_metafeatures": int(self.metafeatures.shape[1]),
            "metafeature_coverage": {
                str(name): float(self.metafeatures[name].notna().mean())
                for name in self.metafeatures.columns
            },
            "sources": [p.as_dict() for p in self.provenance],
        }
