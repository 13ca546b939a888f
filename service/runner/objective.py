"""The trial objective: cross-validate one configuration's sklearn pipeline on a task.

This is the one module of the service that builds pipelines (with
:func:`metaknowledge.searchspace.build_pipeline`). Classification uses stratified K-fold, regression
plain K-fold, both shuffled with the study's seed; K is lowered to the rarest class's size when a
class has fewer than K rows.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.metrics import get_scorer
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score

from service.metrics import METRICS
from service.profiling import ProblemData, split_problem
from service.tables import read_table

__all__ = ["DataCache", "TrialJob", "TrialOutcome", "evaluate", "run_job"]


@dataclass(frozen=True)
class TrialJob:
    """Everything needed to evaluate one configuration, picklable for a child process."""

    dataset_path: str
    target: str
    task_type: str
    metric: str
    folds: int
    seed: int
    learner: str
    params: dict[str, Any]


@dataclass(frozen=True)
class TrialOutcome:
    """A score (natural units of the metric), or the reason the configuration failed."""

    score: float | None
    duration_s: float
    error: str | None = None


class DataCache:
    """The last problem loaded, keyed by (file, target, task type): a study reuses one dataset."""

    def __init__(self) -> None:
        self._key: tuple[str, str, str] | None = None
        self._problem: ProblemData | None = None

    def get(self, path: str, target: str, task_type: str) -> ProblemData:
        """The task's features and target (read from the stored file on first use)."""
        key = (path, target, task_type)
        if self._key != key or self._problem is None:
            frame, _ = read_table(Path(path))
            self._problem = split_problem(frame, target, task_type)
            self._key = key
        return self._problem


def evaluate(
    X: pd.DataFrame,
    y: pd.Series,
    learner: str,
    params: dict[str, Any],
    *,
    task_type: str,
    metric: str,
    folds: int,
    seed: int,
) -> float:
    """Mean cross-validated score of ``(learner, params)`` in the metric's natural units.

    Raises whatever the pipeline raises while fitting or scoring (the caller records it), and
    ``ValueError`` for a non-finite score.
    """
    from metaknowledge.searchspace import build_pipeline

    spec = METRICS[metric]
    pipeline = build_pipeline(learner, params, X, task_type=task_type, random_state=seed)
    if task_type == "classification":
        smallest = int(y.astype(str).value_counts().min())
        n_classes = int(y.nunique())
        cv: Any = StratifiedKFold(
            n_splits=max(2, min(folds, smallest)), shuffle=True, random_state=seed
        )
    else:
        n_classes = 0
        cv = KFold(n_splits=max(2, min(folds, len(y))), shuffle=True, random_state=seed)
    scorer = get_scorer(spec.scorer_for(n_classes))
    scores = cross_val_score(pipeline, X, y, cv=cv, scoring=scorer, error_score="raise")
    score = float(scores.mean()) * spec.sign
    if not math.isfinite(score):
        raise ValueError(f"the cross-validated {metric} is not finite")
    return score


def run_job(job: TrialJob, cache: DataCache) -> TrialOutcome:
    """Evaluate a job; any exception becomes a failed outcome with a one-line reason."""
    start = time.perf_counter()
    try:
        problem = cache.get(job.dataset_path, job.target, job.task_type)
        score = evaluate(
            problem.X,
            problem.y,
            job.learner,
            job.params,
            task_type=job.task_type,
            metric=job.metric,
            folds=job.folds,
            seed=job.seed,
        )
    except Exception as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else ""
        return TrialOutcome(None, time.perf_counter() - start, f"{type(e).__name__}: {reason}")
    return TrialOutcome(score, time.perf_counter() - start)
