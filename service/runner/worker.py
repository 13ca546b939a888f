"""The worker loop: claim studies from the database and run their trials.

Any number of workers (processes, machines) may share a database. Each trial needs a slot reserved
with one conditional ``UPDATE`` (so a study never gets more than ``n_trials`` trials) and gets its
configuration from Optuna's ``ask`` on the shared RDB storage (so two workers never run the same
trial: enqueued warm-start trials are handed out once, in order, then the sampler proposes). While
a study's warm phase lasts, the worker first enqueues the next warm-start configuration, proposed
by the meta-model from the results so far (:mod:`service.runner.steering`). Before each trial the
worker checks the study is still running, so a cancelled study stops within one trial.

While a trial runs, a thread records Optuna heartbeats for it. Between studies every worker looks
for stale trials (no heartbeat for ``stale_grace_s``: their worker was killed or lost) with
:func:`optuna.storages.fail_stale_trials`. Optuna's conditional state change hands each stale
trial to exactly one worker, which then fails our ``ws_trials`` row with the reason and settles the
slot per ``stale_trial_policy``: ``retry`` releases the slot and enqueues the same configuration
again (once; a retry that goes stale too releases its slot for a sampled trial), ``skip`` counts
the slot as used. A worker whose trial was failed as stale while it was in fact alive (its
heartbeats did not get through) finds Optuna's trial finished when it reports and leaves the
outcome to the worker that failed it.

A database outage does not end a worker: the loop logs and polls again, and the bookkeeping that
must not be lost (reporting a finished trial, giving back an unused slot, finishing the study)
is retried while the database is unavailable (:func:`service.db.engine.is_unavailable_error`),
until it is back or the worker is stopped. A trial whose worker could not hold on (stopped during
the outage) is found by the heartbeats like a killed one.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import optuna
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy.exc import IntegrityError

from service.context import ServiceContext
from service.db import StudyRecord, StudyRepository, TaskRecord, TrialRepository
from service.db.engine import is_unavailable_error
from service.operations.datasets import dataset_path, get_dataset_record
from service.operations.tasks import get_task_record
from service.runner.bridge import WARM_START_ATTR, load_study, make_storage, sample_config
from service.runner.executor import TrialExecutor, make_executor
from service.runner.objective import TrialJob
from service.runner.steering import steer

__all__ = ["Worker", "default_worker_name"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

RETRY_OF_ATTR = "warmstart_retry_of"
"""User attribute of a re-enqueued trial: the number of the stale trial it repeats."""

MAX_CONFIG_RETRIES = 1
"""How often a stale trial's configuration is enqueued again (a configuration that kills its
worker every time must not take the study down with it); later ones only release the slot."""


def default_worker_name() -> str:
    """``host:pid``, unique among running workers."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class _Plan:
    study: StudyRecord
    optuna_study: optuna.Study
    task: TaskRecord
    dataset_path: str
    seed: int
    steering: bool = True  # the warm phase may go on (see service.runner.steering)
    models_checked: bool = False  # the meta-models were loaded or refreshed for this study

    @property
    def task_type(self) -> str:
        return self.task.task_type

    @property
    def target(self) -> str:
        return self.task.target

    @property
    def metric(self) -> str:
        return self.task.metric


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
        self._stale_storage: optuna.storages.RDBStorage | None = None
        self._stale: list[FrozenTrial] = []
        self._stop: threading.Event | None = None
        self._refit_checked = -math.inf
        self._advisor_loaded = False  # load_advisor() was called (worker processes load lazily)
        # study id -> (n_reserved, n_finished, n_workers) with no trial running, since when
        self._idle_slots: dict[int, tuple[tuple[int, int, int], float]] = {}
        # Optuna study names without a study row, and since when (monotonic); last check
        self._orphans_seen: dict[str, float] = {}
        self._orphans_checked = -math.inf

    # -- the loop --------------------------------------------------------------------------------
    def run(self, stop: threading.Event | None = None, *, exit_when_idle: bool = False) -> int:
        """Work until ``stop`` is set (or, with ``exit_when_idle``, until nothing is claimable).

        Returns the number of trials run.
        """
        stop = stop or threading.Event()
        total = 0
        try:
            while not stop.is_set():
                try:
                    self.recover_stale_trials()
                except Exception:
                    if exit_when_idle:
                        raise
                    logger.exception("worker %s: error while looking for stale trials", self.name)
                try:
                    study_id = self.next_study()
                except Exception:  # the database is away: poll again after a while
                    if exit_when_idle:
                        raise
                    logger.warning("worker %s: cannot look for studies", self.name, exc_info=True)
                    stop.wait(self.ctx.settings.worker_poll_s)
                    continue
                if study_id is None:
                    if exit_when_idle:
                        break
                    self.maybe_refit()
                    stop.wait(self.ctx.settings.worker_poll_s)
                    continue
                try:
                    total += self.work_on(study_id, stop=stop)
                    self.maybe_refit(now=True)
                except Exception:  # e.g. the database went away: log, back off, go on
                    if exit_when_idle:
                        raise
                    logger.exception(
                        "worker %s: error while working on study %s", self.name, study_id
                    )
                    stop.wait(self.ctx.settings.worker_poll_s)
        finally:
            self.executor.close()
            if self._stale_storage is not None:
                self._stale_storage.engine.dispose()
                self._stale_storage = None
        return total

    # -- stale trials (their worker was killed) --------------------------------------------------
    def recover_stale_trials(self) -> int:
        """Fail the stale trials of every running study and settle their slots; how many.

        Also the rarer leftovers of killed workers and cut-off requests: slots reserved but never
        used, trials reported to Optuna but not recorded, Optuna studies without a study row.
        """
        self._delete_orphan_studies()
        with self.ctx.db.session() as session:
            studies = StudyRepository(session).with_trials_in_flight()
        recovered = 0
        for study in studies:
            optuna_study = optuna.load_study(
                study_name=study.optuna_study_name, storage=self._heartbeat_storage()
            )
            self._release_lost_slots(study, optuna_study)
            self._stale.clear()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                optuna.storages.fail_stale_trials(optuna_study)  # calls _collect_stale
            stale, self._stale = list(self._stale), []
            stale += self._fail_unbeaten(study, optuna_study)
            for frozen in stale:
                self._settle_stale(study, optuna_study, frozen)
                recovered += 1
            if stale:
                self._finish_if_done(study.id)
        return recovered

    def _fail_unbeaten(self, study: StudyRecord, optuna_study: optuna.Study) -> list[FrozenTrial]:
        """Fail the running trials that never got a heartbeat; the ones this worker failed.

        Optuna's check skips trials without any heartbeat, so a worker killed between ``ask`` and
        its first heartbeat would hold its slot for ever. Such a trial has no row of ours either
        (the row is written after the first heartbeat); once it is twice the grace period old it
        is failed here, by one worker (the state change is conditional).
        """
        storage = self._heartbeat_storage()
        # Optuna stamps datetime_start with the asking process's naive local time.
        oldest = datetime.now() - timedelta(seconds=2 * self.ctx.settings.stale_grace_s)
        failed = []
        for frozen in optuna_study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if frozen.datetime_start is None or frozen.datetime_start > oldest:
                continue
            with self.ctx.db.session() as session:
                if TrialRepository(session).get_by_number(study.id, frozen.number) is not None:
                    continue
            try:
                if storage.set_trial_state_values(frozen._trial_id, state=TrialState.FAIL):
                    failed.append(storage.get_trial(frozen._trial_id))
            except optuna.exceptions.UpdateFinishedTrialError:
                continue  # another worker failed it first, or it finished after all
        return failed

    def _release_lost_slots(self, study: StudyRecord, optuna_study: optuna.Study) -> None:
        """Give back the slots of workers killed between reserving a slot and Optuna's ``ask``.

        Such a slot has no trial anywhere. A study whose reserved-but-unfinished slots stay the
        same for twice the grace period while Optuna runs none of its trials has only such slots
        (a live worker's slot gets a running trial within moments): they are released, so the
        study gets its trials. ``study`` must be read before Optuna's trials.
        """
        in_flight = (study.n_reserved, study.n_finished, study.n_workers)
        running = optuna_study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        if running or study.n_reserved <= study.n_finished:
            self._idle_slots.pop(study.id, None)
            return
        seen, since = self._idle_slots.setdefault(study.id, (in_flight, time.monotonic()))
        if seen != in_flight:
            self._idle_slots[study.id] = (in_flight, time.monotonic())
            return
        if time.monotonic() - since < 2 * self.ctx.settings.stale_grace_s:
            return
        if self._settle_told(study, optuna_study):
            self._idle_slots.pop(study.id, None)
            return
        with self.ctx.db.session() as session:
            lost = StudyRepository(session).release_lost_slots(
                study.id,
                n_reserved=study.n_reserved,
                n_finished=study.n_finished,
                n_workers=study.n_workers,
            )
        self._idle_slots.pop(study.id, None)
        if lost:
            logger.warning(
                "study %s: %s reserved slot(s) without a trial (their worker was killed before "
                "starting it) released",
                study.id,
                lost,
            )

    def _settle_told(self, study: StudyRecord, optuna_study: optuna.Study) -> int:
        """Record the trials Optuna has finished while our rows still say running (their worker
        was killed between reporting to Optuna and recording it); how many.

        ``finish_running`` is conditional, so a live worker recording the same trial at the same
        moment makes no difference: one of the two counts its slot.
        """
        with self.ctx.db.session() as session:
            trials = TrialRepository(session).of_study(study.id)
        running = [t for t in trials if t.state == "running"]
        if not running:
            return 0
        done = (TrialState.COMPLETE, TrialState.FAIL)
        told = {t.number: t for t in optuna_study.get_trials(deepcopy=False, states=done)}
        settled = 0
        for row in running:
            frozen = told.get(row.number)
            if frozen is None:
                continue
            complete = frozen.state == TrialState.COMPLETE
            started, ended = frozen.datetime_start, frozen.datetime_complete
            with self.ctx.db.session() as session:
                if TrialRepository(session).finish_running(
                    row.id,
                    state="complete" if complete else "failed",
                    score=frozen.value if complete else None,
                    duration_s=(ended - started).total_seconds() if started and ended else None,
                    error=None if complete else str(frozen.user_attrs.get("error", "failed")),
                ):
                    StudyRepository(session).trial_finished(study.id)
                    settled += 1
        if settled:
            logger.warning(
                "study %s: %s trial(s) finished in Optuna but not recorded (their worker was "
                "killed in between) recorded",
                study.id,
                settled,
            )
            self._finish_if_done(study.id)
        return settled

    def _delete_orphan_studies(self) -> None:
        """Delete our Optuna studies that have had no study row for twice the grace period.

        A create request cut off by a database outage after Optuna's study was created and before
        our row was written leaves one (the request answered 503; a retry makes a new one).
        Checked at most once per grace period; only names starting with ``warmstart-`` (the
        ones :func:`service.operations.studies.create_study` makes) are considered.
        """
        now = time.monotonic()
        grace = self.ctx.settings.stale_grace_s
        if now - self._orphans_checked < grace:
            return
        self._orphans_checked = now
        storage = self._heartbeat_storage()
        names = {n for n in optuna.get_all_study_names(storage) if n.startswith("warmstart-")}
        with self.ctx.db.session() as session:
            orphans = names - StudyRepository(session).optuna_study_names()
        self._orphans_seen = {n: self._orphans_seen.get(n, now) for n in orphans}
        for name, since in list(self._orphans_seen.items()):
            if now - since < 2 * grace:
                continue
            with suppress(KeyError):  # another worker deleted it first
                optuna.delete_study(study_name=name, storage=storage)
            del self._orphans_seen[name]
            logger.warning("Optuna study %s had no study row (a cut-off create): deleted", name)

    def _heartbeat_storage(self) -> optuna.storages.RDBStorage:
        if self._stale_storage is None:
            settings = self.ctx.settings
            self._stale_storage = make_storage(
                self.ctx.db.url,
                heartbeat_interval=settings.heartbeat_interval_s,
                grace_period=settings.stale_grace_s,
                stale_trial_callback=self._collect_stale,
            )
        return self._stale_storage

    def _collect_stale(self, study: optuna.Study, trial: FrozenTrial) -> None:
        # Optuna calls this only in the process whose update failed the trial.
        self._stale.append(trial)

    def _settle_stale(
        self, study: StudyRecord, optuna_study: optuna.Study, frozen: FrozenTrial
    ) -> None:
        settings = self.ctx.settings
        retry = settings.stale_trial_policy == "retry"
        started = frozen.datetime_start
        duration = (
            (frozen.datetime_complete - started).total_seconds()
            if (started is not None and frozen.datetime_complete is not None)
            else None
        )
        with self.ctx.db.session() as session:
            row = TrialRepository(session).get_by_number(study.id, frozen.number)
        lost = row.worker if row is not None and row.worker else "its worker"
        # An enqueued trial (warm start, retry) killed before it asked for its parameters still
        # has them as Optuna's fixed parameters.
        params = dict(frozen.system_attrs.get("fixed_params") or frozen.params)
        again = retry and _retries(frozen) < MAX_CONFIG_RETRIES and bool(params)
        if again:
            policy = "retry: the configuration runs again"
        elif retry:
            why = "this configuration was retried before" if params else "it had no parameters yet"
            policy = f"retry: its slot goes to a new trial ({why})"
        else:
            policy = "skip: its slot is used up"
        reason = (
            f"StaleTrialError: no heartbeat for over {settings.stale_grace_s} s ({lost} was "
            f"killed or lost); stale_trial_policy={policy}"
        )
        if again:
            # Enqueued before the slot is released, so the next trial of the study repeats it.
            optuna_study.enqueue_trial(
                params,
                user_attrs={
                    **frozen.user_attrs,
                    RETRY_OF_ATTR: [*frozen.user_attrs.get(RETRY_OF_ATTR, []), frozen.number],
                },
            )
        with self.ctx.db.session() as session:
            trials = TrialRepository(session)
            if row is None:  # killed between Optuna's ask and our row: record it all the same
                learner = frozen.params.get("learner")
                row = trials.start(
                    tenant_id=study.tenant_id,
                    study_id=study.id,
                    number=frozen.number,
                    source="warm_start" if frozen.user_attrs.get(WARM_START_ATTR) else "sampler",
                    learner=learner if isinstance(learner, str) else None,
                    params={},
                    worker=None,
                )
            if trials.finish_running(
                row.id, state="failed", score=None, duration_s=duration, error=reason
            ):
                studies = StudyRepository(session)
                if retry:
                    studies.release_trial(study.id)
                else:
                    studies.trial_finished(study.id)
        logger.warning("study %s trial %s: %s", study.id, frozen.number, reason)

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
        self._stop = stop
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
            if not self._reserve(plan):
                break
            outcome = self._run_trial(plan)
            if outcome is False:
                break
            if outcome is None:  # another worker runs that trial
                continue
            ran += 1
            if on_trial is not None:
                on_trial()
        self._persist(lambda: self._finish_if_done(study_id), f"finishing study {study_id}")
        return ran

    def _persist(self, action: Callable[[], _T], what: str) -> _T:
        """``action()``, retried while the database is unavailable, unless the worker stops.

        Raises:
            Exception: ``action``'s error if it is not an outage, or the worker was stopped.
        """
        while True:
            try:
                return action()
            except Exception as e:
                stopping = self._stop is not None and self._stop.is_set()
                if stopping or not is_unavailable_error(e):
                    raise
                logger.warning("worker %s: database unavailable while %s", self.name, what)
                (self._stop or threading.Event()).wait(self.ctx.settings.worker_poll_s)

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
            task=task,
            dataset_path=str(path),
            seed=seed,
            steering=study.n_warm_enqueued < study.warm_start_k,
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

    def _run_trial(self, plan: _Plan) -> bool | None:
        """Run one reserved trial: True when it ran, False if the study had to be failed
        instead, None when another worker turned out to run the trial Optuna handed out."""
        study = plan.study
        self._steer(plan)
        try:
            trial = plan.optuna_study.ask()
        except Exception:
            self._give_back_slot(study.id)
            raise
        with self._heartbeat(trial):
            return self._run_asked(plan, trial)

    def _steer(self, plan: _Plan) -> None:
        """Enqueue the study's next warm-start configuration while its warm phase lasts.

        A worker process loads the meta-models the first time a study needs them, and looks for
        newer stored versions once per study it joins. Steering that fails (the meta-model, the
        database) is logged and the sampler proposes instead: the trial is not lost.
        """
        if not plan.steering:
            return
        try:
            if not plan.models_checked:
                plan.models_checked = True
                if self._advisor_loaded:  # newer versions since (`kb refit`, a worker's refit)
                    self.ctx.refresh_metamodels()
                elif self.ctx.advisor_for_or_none(plan.study.tenant_id, plan.task_type) is None:
                    self._advisor_loaded = True
                    self.ctx.load_advisor()  # with the stored versions
            plan.steering = steer(self.ctx, plan.optuna_study, plan.study.id, plan.task)
        except Exception:
            logger.warning(
                "study %s: the warm start could not be steered; the sampler proposes",
                plan.study.id,
                exc_info=True,
            )

    def _give_back_slot(self, study_id: int) -> None:
        """Release a reserved slot that ran no trial (retried through an outage)."""

        def release() -> None:
            with self.ctx.db.session() as session:
                StudyRepository(session).release_trial(study_id)

        self._persist(release, f"giving back a slot of study {study_id}")

    @contextmanager
    def _heartbeat(self, trial: optuna.Trial) -> Iterator[None]:
        """Record Optuna heartbeats for ``trial`` (first one at once) until the block ends."""
        storage = self.ctx.optuna_storage
        trial_id = trial._trial_id
        interval = self.ctx.settings.heartbeat_interval_s
        done = threading.Event()

        def record() -> None:
            try:
                storage.record_heartbeat(trial_id)
            except Exception:  # the database is away: try again at the next beat
                logger.warning("trial %s: heartbeat not recorded", trial.number, exc_info=True)

        def beat() -> None:
            while not done.wait(interval):
                record()

        record()  # before the trial starts, so a worker killed at any point after is detected
        thread = threading.Thread(target=beat, name=f"heartbeat-{trial_id}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()

    def _tell(self, plan: _Plan, trial: optuna.Trial, score: float | None) -> bool:
        """Report the outcome to Optuna; False if the trial was failed as stale meanwhile."""
        try:
            if score is not None:
                plan.optuna_study.tell(trial, score)
            else:
                plan.optuna_study.tell(trial, state=TrialState.FAIL)
        except (ValueError, optuna.exceptions.UpdateFinishedTrialError):
            state = self.ctx.optuna_storage.get_trial(trial._trial_id).state
            if state == TrialState.RUNNING:
                raise
            logger.warning(
                "study %s trial %s was failed as stale while running; its outcome is dropped",
                plan.study.id,
                trial.number,
            )
            return False
        return True

    def _run_asked(self, plan: _Plan, trial: optuna.Trial) -> bool | None:
        study = plan.study
        try:
            learner, params, source = sample_config(trial, study.learners, task_type=plan.task_type)
        except Exception as e:  # the search space rejected it: the study cannot go on
            plan.optuna_study.tell(trial, state=TrialState.FAIL)
            with self.ctx.db.session() as session:
                studies = StudyRepository(session)
                studies.release_trial(study.id)
                studies.set_terminal(
                    study.id, status="failed", error=f"sampling failed: {type(e).__name__}: {e}"
                )
            logger.exception("study %s: sampling failed", study.id)
            return False
        try:
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
        except IntegrityError:
            # Another worker recorded this trial number first. Optuna's ``ask`` hands an enqueued
            # trial to one worker (on SQLite since its storage begins transactions with the
            # write lock: ``make_storage``); kept as the last line of defence, for storages made
            # otherwise. That worker runs and reports it; this one gives its slot back.
            self._give_back_slot(study.id)
            logger.info("study %s trial %s is run by another worker", study.id, trial.number)
            return None
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
        what = f"reporting trial {trial.number} of study {study.id}"
        if outcome.score is None:

            def note_error() -> None:
                with suppress(optuna.exceptions.UpdateFinishedTrialError):  # stale: _tell says so
                    trial.set_user_attr("error", outcome.error)

            self._persist(note_error, what)
        if not self._persist(lambda: self._tell(plan, trial, outcome.score), what):
            return True  # the worker that failed it as stale recorded it and settled the slot

        def finish() -> None:
            with self.ctx.db.session() as session:
                if TrialRepository(session).finish_running(
                    record.id,
                    state="complete" if outcome.score is not None else "failed",
                    score=outcome.score,
                    duration_s=outcome.duration_s,
                    error=outcome.error,
                ):
                    StudyRepository(session).trial_finished(study.id)

        self._persist(finish, what)
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
        from service.operations.history import record_study

        with self.ctx.db.session() as session:
            counts = TrialRepository(session).count_by_state(study_id)
            if counts.get("complete", 0) > 0:
                finished = StudyRepository(session).finish_if_done(study_id, status="succeeded")
                if finished:
                    # Same transaction: a study is in the knowledge base iff it succeeded.
                    record_study(session, study_id, cv_folds=self.ctx.settings.cv_folds)
            else:
                finished = StudyRepository(session).finish_if_done(
                    study_id, status="failed", error="no trial completed (see the trials' errors)"
                )
        if finished:
            self._fail_orphans(study_id)

    def _fail_orphans(self, study_id: int) -> None:
        """Fail (and record) the Optuna trials still running in a study that just finished.

        Every slot is finished, so no worker runs them: an ``ask`` that failed half-way (the
        database went away after Optuna created the trial) left them behind.
        """
        with self.ctx.db.session() as session:
            study = StudyRepository(session).get(study_id, tenant_id=None)
        if study is None:
            return
        storage = self.ctx.optuna_storage
        optuna_study = optuna.load_study(study_name=study.optuna_study_name, storage=storage)
        for frozen in optuna_study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            try:
                if not storage.set_trial_state_values(frozen._trial_id, state=TrialState.FAIL):
                    continue
            except optuna.exceptions.UpdateFinishedTrialError:
                continue
            with self.ctx.db.session() as session:
                trials = TrialRepository(session)
                if trials.get_by_number(study_id, frozen.number) is not None:
                    continue
                warm = frozen.user_attrs.get(WARM_START_ATTR)
                row = trials.start(
                    tenant_id=study.tenant_id,
                    study_id=study_id,
                    number=frozen.number,
                    source="warm_start" if warm else "sampler",
                    learner=None,
                    params={},
                    worker=None,
                )
                trials.finish_running(
                    row.id,
                    state="failed",
                    score=None,
                    duration_s=None,
                    error="OrphanedTrialError: Optuna created it but its worker never got it "
                    "(the database went away during ask); it never ran",
                )
            logger.warning(
                "study %s trial %s: orphaned by a failed ask, failed", study_id, frozen.number
            )

    def maybe_refit(self, *, now: bool = False) -> None:
        """Refit the meta-model if ``refit_after_studies`` new studies are in the history
        (checked after each study, and every ``metamodel_poll_s`` while idle). A failed refit
        is logged; the worker goes on."""
        from service.operations.refit import maybe_refit

        settings = self.ctx.settings
        if settings.refit_after_studies <= 0 or (not now and settings.metamodel_poll_s <= 0):
            return
        clock = time.monotonic()
        if not now and clock - self._refit_checked < settings.metamodel_poll_s:
            return
        self._refit_checked = clock
        try:
            report = maybe_refit(self.ctx, owner=self.name)
        except Exception:
            logger.exception("worker %s: the automatic refit failed", self.name)
            return
        if report is not None:
            created = [v.label for v in report.versions if v.status == "created"]
            logger.info(
                "worker %s refitted the meta-model: %s",
                self.name,
                ", ".join(created) or "no change",
            )


def _retries(trial: FrozenTrial) -> int:
    """How many stale trials ran this configuration before ``trial``."""
    return len(trial.user_attrs.get(RETRY_OF_ATTR, []))
