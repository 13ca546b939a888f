"""Leave-one-dataset-out evaluation of proposers over a knowledge base.

For every held-out dataset ``d`` a fresh proposer is fitted on ``kb.without([d])`` and asked for
configurations using only ``d``'s meta-features, then scored on ``d``'s row of the run history.

- static: the top-``max(ks)`` of one ``recommend`` call; regret@k uses its first ``k``;
- sequential: ``trials`` rounds, each asking ``recommend(k=1, observed=...)`` with the scores of the
  configurations proposed so far (looked up in ``d``'s row, as if they had just been run).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from metaknowledge.evaluation._regret import regret_curve
from metaknowledge.exceptions import InvalidInputError
from metaknowledge.knowledge import KnowledgeBase
from metaknowledge.metamodel import Observation, Proposer

__all__ = ["DEFAULT_KS", "EvaluationResult", "evaluate_proposer"]

DEFAULT_KS: tuple[int, ...] = (1, 3, 5, 10, 25)


@dataclass(frozen=True)
class EvaluationResult:
    """Per-dataset regret curves of one proposer in one setting.

    ``curves[i, t]`` is the normalised regret on ``dataset_ids[i]`` after ``t + 1`` proposals.
    """

    name: str
    setting: str
    dataset_ids: tuple[int, ...]
    curves: np.ndarray
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    def mean_at(self, k: int) -> float:
        """Mean normalised regret after ``k`` proposals."""
        return float(self.curves[:, k - 1].mean())

    def summary(self, ks: Sequence[int] = DEFAULT_KS) -> dict[str, Any]:
        """JSON-ready means (and standard errors) at ``ks``."""
        n = len(self.dataset_ids)
        out: dict[str, Any] = {
            "name": self.name,
            "setting": self.setting,
            "n_datasets": n,
            "seconds": self.seconds,
            "regret": {str(k): self.mean_at(k) for k in ks},
            "stderr": {
                str(k): float(self.curves[:, k - 1].std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0
                for k in ks
            },
        }
        if self.extra:
            out["extra"] = self.extra
        return out


def _query(kb: KnowledgeBase, dataset_id: int) -> dict[str, float]:
    if dataset_id not in kb.metafeatures.index:
        return {}
    row = kb.metafeatures.loc[dataset_id]
    return {str(k): float(v) for k, v in row.items() if np.isfinite(v)}


def evaluate_proposer(
    kb: KnowledgeBase,
    make_proposer: Callable[[], Proposer],
    *,
    name: str,
    setting: str = "static",
    length: int = 25,
    dataset_ids: Iterable[int] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> EvaluationResult:
    """Leave-one-dataset-out regret curves of the proposers made by ``make_proposer``.

    Datasets whose row has fewer than two distinct scores are skipped (regret is undefined there).

    Raises:
        InvalidInputError: unknown setting, or ``length`` < 1.
    """
    if setting not in ("static", "sequential"):
        raise InvalidInputError(f"setting must be 'static' or 'sequential', got {setting!r}")
    if length < 1:
        raise InvalidInputError("length must be >= 1")
    ids = [int(i) for i in (dataset_ids if dataset_ids is not None else kb.dataset_ids)]
    perf = kb.performance
    column_of = {c: i for i, c in enumerate(perf.columns)}
    used: list[int] = []
    curves: list[np.ndarray] = []
    started = time.perf_counter()
    for step, dataset_id in enumerate(ids):
        row = perf.loc[dataset_id].to_numpy(dtype=np.float64)
        finite = row[np.isfinite(row)]
        if finite.size < 2 or finite.max() <= finite.min():
            continue
        proposer = make_proposer().fit(kb.without([dataset_id]))
        query = _query(kb, dataset_id)
        if setting == "static":
            recs = proposer.recommend(query, length)
            order = [column_of[r.config_id] for r in recs if r.config_id in column_of]
        else:
            order = []
            observed: list[Observation] = []
            for _ in range(length):
                recs = proposer.recommend(query, 1, observed=observed)
                config_id = recs[0].config_id if recs else None
                if config_id is None or config_id not in column_of:
                    break
                column = column_of[config_id]
                order.append(column)
                observed.append((config_id, float(row[column])))
        curves.append(regret_curve(row, order, length))
        used.append(dataset_id)
        if progress is not None:
            progress(step + 1, len(ids))
    return EvaluationResult(
        name=name,
        setting=setting,
        dataset_ids=tuple(used),
        curves=np.vstack(curves) if curves else np.empty((0, length)),
        seconds=time.perf_counter() - started,
    )
