"""Evaluating one configuration with the service's trial code, bounded in time.

Trials go through :func:`service.runner.executor.make_executor`: with a time limit each trial runs
in the service's :class:`~service.runner.executor.ChildExecutor` (one spawned child per dataset
worker, killed and replaced when a trial exceeds the limit), which calls
:func:`service.runner.objective.run_job` -> ``evaluate`` (K-fold CV of ``build_pipeline`` with the
task's metric, splits shuffled with the seed). A crash or a timeout is a failed trial (no score).

Each trial uses one thread (:func:`limit_threads` sets the OpenMP/BLAS variables that the spawned
child inherits): on a shared machine, OpenMP's default of one thread per core makes
``HistGradientBoosting`` on 60 rows take 10-30 s instead of 0.02 s, which would measure the load
of the machine rather than the strategies.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

from benchmarks.e2e._problem import Problem

__all__ = ["THREAD_VARIABLES", "TrialEvaluator", "TrialRecord", "limit_threads"]

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def limit_threads(threads: int = 1) -> None:
    """Make processes started from now on (the trial children) use ``threads`` threads.

    Also limits this process's already-loaded thread pools (for runs without a time limit, where
    trials run in this process).
    """
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)


@dataclass(frozen=True)
class TrialRecord:
    """One evaluated configuration: the score (None when it failed) and where it came from."""

    number: int
    learner: str
    params: dict[str, Any]
    score: float | None
    duration_s: float
    source: str
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        return asdict(self)


class TrialEvaluator:
    """Cross-validates configurations of one problem at one seed (the CV splits' seed)."""

    def __init__(self, problem: Problem, *, folds: int, timeout_s: float | None) -> None:
        from service.runner.executor import make_executor

        self.problem = problem
        self.folds = folds
        limit_threads(1)
        self._executor = make_executor(timeout_s)

    def evaluate(
        self, learner: str, params: dict[str, Any], *, seed: int, number: int, source: str
    ) -> TrialRecord:
        """The record of one trial (never raises for a failing configuration)."""
        from service.runner.objective import TrialJob

        outcome = self._executor.run(
            TrialJob(
                dataset_path=str(self.problem.csv_path),
                target="target",
                task_type=self.problem.task_type,
                metric=self.problem.metric,
                folds=self.folds,
                seed=seed,
                learner=learner,
                params=dict(params),
            )
        )
        return TrialRecord(
            number=number,
            learner=learner,
            params=dict(params),
            score=outcome.score,
            duration_s=outcome.duration_s,
            source=source,
            error=outcome.error,
        )

    def warm_up(self) -> None:
        """Start the trial child now (one fast trial, discarded), so that its start-up time is
        not charged to whichever strategy runs first."""
        from metaknowledge.searchspace import default_config, learners_for

        learner = learners_for(self.problem.task_type)[0]
        params = default_config(learner, task_type=self.problem.task_type)
        self.evaluate(learner, params, seed=0, number=-1, source="warm_up")

    def close(self) -> None:
        """Stop the trial child process."""
        self._executor.close()
