"""A knowledge base from a service's own run history: rows in, :class:`KnowledgeBase` out.

A service tunes configurations anywhere in the search space, while a knowledge base scores a fixed
set of configurations. Each run is therefore placed on a configuration of the knowledge base it
extends (``onto``): the one with the same learner and parameters, else the nearest one of the same
learner in the encoded search space (the same rule the meta-model uses for observations). Runs that
land on the same (dataset, configuration) are averaged. No new configuration is ever invented and
no cell is ever filled in: every score of the result was measured.

Pure: no files, no database. The service reads its rows and hands them over.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from metaknowledge.exceptions import InvalidConfigError, InvalidInputError, UnknownLearnerError
from metaknowledge.knowledge._kb import KnowledgeBase, Provenance

__all__ = [
    "HistoryDataset",
    "HistoryKnowledge",
    "HistoryRun",
    "append_history",
    "knowledge_base_from_history",
]


@dataclass(frozen=True)
class HistoryDataset:
    """A dataset of the history: its id in the result, its name and its meta-features."""

    dataset_id: int
    name: str
    metafeatures: Mapping[str, float | None]


@dataclass(frozen=True)
class HistoryRun:
    """One evaluated configuration on a history dataset (``score``: higher is better)."""

    dataset_id: int
    learner: str
    params: Mapping[str, Any]
    score: float


@dataclass(frozen=True)
class HistoryKnowledge:
    """The result of :func:`knowledge_base_from_history` and what happened to each run.

    ``knowledge_base`` is None when no run could be placed. ``n_exact`` runs matched a
    configuration of ``onto`` exactly, ``n_nearest`` were placed on the nearest one; ``skipped``
    counts the others by reason.
    """

    knowledge_base: KnowledgeBase | None
    n_runs: int
    n_exact: int
    n_nearest: int
    skipped: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, Any]:
        """A JSON-ready copy of the counts."""
        return {
            "runs": self.n_runs,
            "exact": self.n_exact,
            "nearest": self.n_nearest,
            "skipped": dict(sorted(self.skipped.items())),
        }


class _Placer:
    """Finds the column of ``onto`` a configuration belongs to (exact, else nearest)."""

    def __init__(self, onto: KnowledgeBase) -> None:
        self.task_type = onto.task_type
        self.config_ids = onto.config_ids
        self.configs = [onto.configs[c] for c in self.config_ids]
        self.by_learner: dict[str, list[int]] = {}
        for column, config in enumerate(self.configs):
            self.by_learner.setdefault(str(config["learner"]), []).append(column)
        self._encoded: dict[str, np.ndarray] = {}

    def place(self, learner: str, params: Mapping[str, Any]) -> tuple[int, bool]:
        """(column, exact). Raises ``LookupError`` (learner absent) or ``InvalidConfigError``."""
        from metaknowledge.searchspace import encode

        columns = self.by_learner.get(learner)
        if not columns:
            raise LookupError(learner)
        for column in columns:
            if _same_params(self.configs[column]["params"], params):
                return column, True
        if learner not in self._encoded:
            self._encoded[learner] = np.stack(
                [
                    encode(learner, self.configs[c]["params"], task_type=self.task_type)
                    for c in columns
                ]
            )
        target = encode(learner, params, task_type=self.task_type)
        distance = np.abs(self._encoded[learner] - target[None, :]).sum(axis=1)
        return columns[int(np.argmin(distance))], False


def knowledge_base_from_history(
    datasets: Iterable[HistoryDataset],
    runs: Iterable[HistoryRun],
    *,
    onto: KnowledgeBase,
    source: str,
    version: str,
    provenance: Sequence[Provenance] = (),
) -> HistoryKnowledge:
    """The history as a knowledge base on the configurations of ``onto``.

    Rows are the datasets with at least one placed run (``datasets.source`` = ``source``),
    columns the configurations of ``onto`` that received a run, cells the mean score of the runs
    placed there. Meta-features keep ``onto``'s quality names (others are dropped; None is NaN).
    ``metric`` and ``task_type`` are ``onto``'s, so the result merges with it
    (:func:`~metaknowledge.knowledge.merge_knowledge_bases`). The result is the same for the same
    rows in any order.

    Skipped runs (counted by reason): a non-finite score, a dataset not in ``datasets``, a learner
    with no configuration in ``onto``, parameters the search space rejects.

    Raises:
        InvalidInputError: two datasets share an id, or an id is also a dataset of ``onto``.
    """
    info: dict[int, HistoryDataset] = {}
    taken = {int(i) for i in onto.performance.index} | {int(i) for i in onto.metafeatures.index}
    for dataset in datasets:
        key = int(dataset.dataset_id)
        if key in info:
            raise InvalidInputError(f"history dataset id {key} is given twice")
        if key in taken:
            raise InvalidInputError(f"history dataset id {key} is already in the knowledge base")
        info[key] = dataset
    placer = _Placer(onto)
    sums: dict[tuple[int, int], list[float]] = {}
    skipped: Counter[str] = Counter()
    n_runs = n_exact = n_nearest = 0
    for run in runs:
        n_runs += 1
        score = float(run.score)
        if not math.isfinite(score):
            skipped["no finite score"] += 1
            continue
        if int(run.dataset_id) not in info:
            skipped["unknown dataset"] += 1
            continue
        try:
            column, exact = placer.place(str(run.learner), dict(run.params))
        except LookupError:
            skipped[f"learner {run.learner} has no configuration in the knowledge base"] += 1
            continue
        except (InvalidConfigError, UnknownLearnerError):
            skipped["parameters outside the search space"] += 1
            continue
        n_exact += exact
        n_nearest += not exact
        sums.setdefault((int(run.dataset_id), column), []).append(score)
    if not sums:
        return HistoryKnowledge(None, n_runs, n_exact, n_nearest, dict(skipped))

    row_ids = sorted({d for d, _ in sums})
    columns = sorted({c for _, c in sums})
    matrix = np.full((len(row_ids), len(columns)), np.nan)
    row_of = {d: i for i, d in enumerate(row_ids)}
    col_of = {c: j for j, c in enumerate(columns)}
    for (dataset_id, column), scores in sums.items():
        # fsum is exactly rounded, so the mean does not depend on the order of the runs.
        matrix[row_of[dataset_id], col_of[column]] = math.fsum(scores) / len(scores)
    config_ids = [placer.config_ids[c] for c in columns]
    index = pd.Index(row_ids, name="dataset_id", dtype="int64")
    names = [str(n) for n in onto.metafeatures.columns]
    metafeatures = pd.DataFrame(
        [[_number(info[d].metafeatures.get(n)) for n in names] for d in row_ids],
        index=index.copy(),
        columns=pd.Index(names, dtype=object),
        dtype=np.float64,
    )
    kb = KnowledgeBase(
        performance=pd.DataFrame(
            matrix, index=index, columns=pd.Index(config_ids, name="config_id", dtype=object)
        ),
        metafeatures=metafeatures,
        configs={cid: onto.configs[cid] for cid in config_ids},
        runtime=pd.DataFrame(index=index.copy()),
        datasets=pd.DataFrame(
            {"name": [info[d].name for d in row_ids], "source": [source] * len(row_ids)},
            index=index.copy(),
        ),
        version=version,
        metric=onto.metric,
        task_type=onto.task_type,
        provenance=tuple(provenance),
    )
    return HistoryKnowledge(kb, n_runs, n_exact, n_nearest, dict(skipped))


def append_history(base: KnowledgeBase, history: KnowledgeBase) -> KnowledgeBase:
    """``base`` with the datasets of ``history`` (made by :func:`knowledge_base_from_history` on
    ``base``'s configurations) appended as new rows.

    The same result as :func:`~metaknowledge.knowledge.merge_knowledge_bases` for this case
    (columns and configurations stay ``base``'s, in its order), without its cell-by-cell
    combination: a tenant's knowledge base is rebuilt this way on every load, in milliseconds.

    Raises:
        InvalidInputError: different metric or task type, a configuration ``base`` lacks, or a
            dataset ``base`` already has.
    """
    if history.metric != base.metric or history.task_type != base.task_type:
        raise InvalidInputError(
            f"cannot append {history.metric}/{history.task_type} history to a "
            f"{base.metric}/{base.task_type} knowledge base"
        )
    foreign = [c for c in history.config_ids if c not in base.configs]
    if foreign:
        raise InvalidInputError(f"history configurations not in the knowledge base: {foreign[:5]}")
    taken = set(base.dataset_ids) | {int(i) for i in base.metafeatures.index}
    clash = [i for i in history.dataset_ids if i in taken]
    if clash:
        raise InvalidInputError(f"history datasets already in the knowledge base: {clash[:5]}")
    columns = base.performance.columns
    performance = pd.concat([base.performance, history.performance.reindex(columns=columns)])
    runtime = base.runtime
    if not runtime.empty:
        runtime = pd.concat(
            [runtime, pd.DataFrame(np.nan, index=history.performance.index, columns=columns)]
        )
    else:
        runtime = pd.DataFrame(index=performance.index)
    metafeatures = pd.concat(
        [base.metafeatures, history.metafeatures.reindex(columns=base.metafeatures.columns)]
    )
    datasets = pd.concat([base.datasets, history.datasets.reindex(columns=base.datasets.columns)])
    for frame in (performance, runtime, metafeatures, datasets):
        frame.index = pd.Index(frame.index.astype("int64"), name="dataset_id")
    return KnowledgeBase(
        performance=performance,
        metafeatures=metafeatures,
        configs=base.configs,
        runtime=runtime,
        datasets=datasets,
        version=f"{base.version}+{history.version}",
        metric=base.metric,
        task_type=base.task_type,
        provenance=(*base.provenance, *history.provenance),
    )


def _number(value: float | None) -> float:
    if value is None:
        return float("nan")
    number = float(value)
    return number if math.isfinite(number) else float("nan")


def _same_params(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    if set(a) != set(b):
        return False
    for key, value in a.items():
        other = b[key]
        numbers = (
            isinstance(value, int | float)
            and isinstance(other, int | float)
            and not isinstance(value, bool)
            and not isinstance(other, bool)
        )
        if numbers:
            if not math.isclose(float(value), float(other), rel_tol=1e-9, abs_tol=0.0):
                return False
        elif value != other:
            return False
    return True
