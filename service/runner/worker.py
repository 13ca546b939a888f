"""The worker loop: claim studies from the database and run their trials.

Any number of workers (processes, machines) may share a database. Each trial needs a slot reserved
with one conditional ``UPDATE`` (so a study never gets more than ``n_trials`` trials) and gets its
configuration from Optuna's ``ask`` on the shared RDB storage (so two workers never run the same
trial: enqueued warm-start trials are handed out once, in order, then the sampler proposes). Before
each trial the worker checks the study is still running, so a cancelled study stops within one
trial.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import optuna

from service.context import ServiceContext
from service.db import StudyRecord, StudyRepository, TrialRepository
from service.operations.datasets import dataset_path, get_dataset_record
from service.operations.tasks import get_task_record
from service.runner.bridge import load_study, sample_config
from service.runner.executor import TrialExecutor, make_executor
from service.runner.objective import TrialJob

__all__ = ["Worker", "default_worker_name"]

logger = logging.getLogger(__name__)


def default_worker_name() -> str:
    """``host:pid``, unique among running workers."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class _Plan:
    study: StudyRecord
    optuna_study: optuna.Study
    task_type: str
    target: str
    metric: str
    dataset_path: str
    seed: int


class Worker:
    """Runs the trials of queued and running studies until stopped."""

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        name: str | None = None,
        executor: TrialExecutor | None = None,
    ) -> None:
        self.ctx = ctx
        self.name = name or default_worker_name()
        self.executor = executor or make_executor(ctx.settings.trial_timeout_s)

    # -- the loop --------------------------------------------------------------------------------
    def run(self, stop: threading.Event | None = None, *, exit_when_idle: bool = False) -> int:
        """Work until ``stop`` is set (or, with ``exit_when_idle``, until nothing is claimable).

        Returns the number of trials run.
        """
        stop = stop or threading.Event()
        total = 0
        try:
            while not stop.is_set():
                study_id = self.next_study()
                if study_id is None:
                    if exit_when_idle:
                        break
                    stop.wait(self.ctx.settings.worker_poll_s)
                    continue
                try:
                    total += self.work_on(study_id, stop=stop)
                except Exception:  # e.g. the database went away: log, back off, go on
                    if exit_when_idle:
                        raise
                    logger.exception(
                        "worker %s: error while working on study %s", self.name, study_id
                    )
                    stop.wait(self.ctx.settings.worker_poll_s)
        finally:
            self.executor.close()
        return total

    def next_study(self) -> int | None:
        """The oldest study this worker can join, or None."""
        with self.ctx.db.session() as session:
            candidates = StudyRepository(session).claimable()
        return candidates[0].id if candidates else None

    def work_on(
        self,
        study_id: int,
        *,
        stop: threading.Event | None = None,
        max_trials: int | None = None,
        on_trial: Callable[[], None] | None = None,
    ) -> int:
        """Join a study and run its trials until no slot is left (or ``max_trials`` ran).

        ``on_trial`` is called after each trial (progress display). Returns the number of trials
        this worker ran. Problems that make the whole study impossible (its dataset file is gone,
        Optuna's study is missing) fail the study.
        """
        with self.ctx.db.session() as session:
            slot = StudyRepository(session).join(study_id)
        if slot is None:
            return 0
        try:
            plan = self._plan(study_id, slot)
        except Exception as e:
            logger.exception("study %s cannot run", study_id)
            with self.ctx.db.session() as session:
                StudyRepository(session).set_terminal(
                    study_id, status="failed", error=f"{type(e).__name__}: {e}"
                )
            return 0
        ran = 0
        while (stop is None or not stop.is_set()) and (max_trials is None or ran < max_trials):
            if not self._reserve(plan) or not self._run_trial(plan):
                break
            ran += 1
            if on_trial is not None:
                on_trial()
        self._finish_if_done(study_id)
        return ran

    # -- steps -----------------------------------------------------------------------------------
    def _plan(self, study_id: int, slot: int) -> _Plan:
        with self.ctx.db.session() as session:
            study = StudyRepository(session).get(study_id, tenant_id=None)
        if study is None:
            raise LookupError(f"study {study_id} vanished")
        task = get_task_record(self.ctx, study.tenant_id, study.task_id)
        path = dataset_path(
            self.ctx, get_dataset_record(self.ctx, study.tenant_id, task.dataset_id)
        )
        seed = study.seed if study.seed is not None else study.id
        optuna_study = load_study(
            self.ctx.optuna_storage, study.optuna_study_name, seed=seed + slot
        )
        return _Plan(
            study=study,
            optuna_study=optuna_study,
            task_type=task.task_type,
            target=task.target,
            metric=task.metric,
            dataset_path=str(path),
            seed=seed,
        )

    def _reserve(self, plan: _Plan) -> bool:
        study = plan.study
        with self.ctx.db.session() as session:
            studies = StudyRepository(session)
            if study.timeout_s is not None:
                current = studies.get(study.id, tenant_id=None)
                started = current.started_at if current is not None else None
                if started is not None and time.time() - started.timestamp() >= study.timeout_s:
                    studies.close_budget(study.id)
                    return False
            return studies.reserve_trial(study.id)

    def _run_trial(self, plan: _Plan) -> bool:
        """Run one reserved trial; False if the study had to be failed instead."""
        study = plan.study
        try:
            trial = plan.optuna_study.ask()
        except Exception:
            with self.ctx.db.session() as session:
                StudyRepository(session).release_trial(study.id)
            raise
        try:
            learner, params, source = sample_config(trial, study.learners, task_type=plan.task_type)
        except Exception as e:  # the search space rejected it: the study cannot go on
            plan.optuna_study.tell(trial, state=optuna.trial.TrialState.FAIL)
            with self.ctx.db.session() as session:
                studies = StudyRepository(session)
                studies.release_trial(study.id)
                studies.set_terminal(
                    study.id, status="failed", error=f"sampling failed: {type(e).__name__}: {e}"
                )
            logger.exception("study %s: sampling failed", study.id)
            return False
        with self.ctx.db.session() as session:
            record = TrialRepository(session).start(
                tenant_id=study.tenant_id,
                study_id=study.id,
                number=trial.number,
                source=source,
                learner=learner,
                params=params,
                worker=self.name,
            )
        outcome = self.executor.run(
            TrialJob(
                dataset_path=plan.dataset_path,
                target=plan.target,
                task_type=plan.task_type,
                metric=plan.metric,
                folds=self.ctx.settings.cv_folds,
                seed=plan.seed,
                learner=learner,
                params=params,
            )
        )
        if outcome.score is not None:
            plan.optuna_study.tell(trial, outcome.score)
        else:
            trial.set_user_attr("error", outcome.error)
            plan.optuna_study.tell(trial, state=optuna.trial.TrialState.FAIL)
        with self.ctx.db.session() as session:
            TrialRepository(session).finish(
                record.id,
                state="complete" if outcome.score is not None else "failed",
                score=outcome.score,
                duration_s=outcome.duration_s,
                error=outcome.error,
            )
            StudyRepository(session).trial_finished(study.id)
        logger.info(
            "study %s trial %s (%s %s): %s",
            study.id,
            trial.number,
            source,
            learner,
            outcome.error or f"{plan.metric}={outcome.score:.4f}",
        )
        return True

    def _finish_if_done(self, study_id: int) -> None:
        with self.ctx.db.session() as session:
            counts = TrialRepository(session).count_by_state(study_id)
            if counts.get("complete", 0) > 0:
                StudyRepository(session).finish_if_done(study_id, status="succeeded")
            else:
                StudyRepository(session).finish_if_done(
                    study_id, status="failed", error="no trial completed (see the trials' errors)"
                )
