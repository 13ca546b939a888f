"""Studies: create (with the first warm-start trial enqueued in Optuna), inspect, list trials,
cancel."""

from __future__ import annotations

import uuid

from service.context import ServiceContext
from service.db import StudyRecord, StudyRepository, TrialRecord, TrialRepository
from service.errors import ConflictError, NotFoundError
from service.metrics import METRICS
from service.operations.datasets import dataset_path, get_dataset_record
from service.operations.recommendations import observed_on_task
from service.operations.tasks import get_task_record
from service.runner.bridge import create_study as create_optuna_study
from service.runner.bridge import delete_study as delete_optuna_study
from service.runner.bridge import warm_start_flat
from service.schemas import (
    BestTrial,
    RecommendationPublic,
    StudiesPublic,
    StudyCreate,
    StudyPublic,
    TrialPublic,
    TrialsPublic,
)

__all__ = [
    "DEFAULT_WARM_START",
    "cancel_study",
    "create_study",
    "get_study",
    "get_study_record",
    "list_studies",
    "list_trials",
]

DEFAULT_WARM_START = 5


def _learners(requested: list[str] | None, task_type: str) -> list[str]:
    from metaknowledge.exceptions import UnknownLearnerError
    from metaknowledge.searchspace import get_learner, learners_for

    available = learners_for(task_type)
    if requested is None:
        return available
    names = list(dict.fromkeys(requested))
    for name in names:
        get_learner(name)  # UnknownLearnerError naming the known learners
        if name not in available:
            raise UnknownLearnerError(
                f"learner {name!r} does not serve {task_type}; choose from {available}"
            )
    return names


def create_study(ctx: ServiceContext, tenant_id: int, request: StudyCreate) -> StudyPublic:
    """Queue a study of the tenant's task: recommend the warm start, create the Optuna study with
    its first configuration enqueued.

    ``warm_start`` None means 5 when the knowledge base covers the task type (and a meta-model is
    loaded), else 0. The warm start never exceeds ``n_trials``. The study's ``warm_start`` is the
    meta-model's proposal now; the workers steer each next warm-start trial from the results so
    far (:mod:`service.runner.steering`) and record it there in place of the proposal's.

    Raises:
        NotFoundError: unknown task (or its dataset file is gone).
        ConflictError: an explicit warm start the knowledge base cannot give for this task type.
        ServiceUnavailableError: an explicit warm start with no meta-model loaded.
        UnknownLearnerError: a learner that does not serve the task type.
    """
    task = get_task_record(ctx, tenant_id, request.task_id)
    dataset_path(
        ctx, get_dataset_record(ctx, tenant_id, task.dataset_id)
    )  # fail now, not in a worker
    learners = _learners(request.learners, task.task_type)
    metric = METRICS[task.metric]
    k = request.warm_start
    if k is None:
        advisor = ctx.advisor_for_or_none(tenant_id, task.task_type)
        k = DEFAULT_WARM_START if advisor is not None and advisor.covers(task.task_type) else 0
    k = min(k, request.n_trials)
    warm: list[RecommendationPublic] = []
    version: str | None = None
    if k > 0:
        advisor = ctx.advisor_for(tenant_id, task.task_type)
        warm = advisor.recommend(
            task.metafeatures,
            k,
            task_type=task.task_type,
            observed=observed_on_task(ctx, task),
            learners=learners,
        )
        version = advisor.version
    flats = [warm_start_flat(r.learner, r.params, task_type=task.task_type) for r in warm]
    name = f"warmstart-task{task.id}-{uuid.uuid4().hex}"
    # Only the first is enqueued now; workers steer the rest from the results (runner.steering).
    create_optuna_study(ctx.optuna_storage, name, maximize=metric.maximize, warm_start=flats[:1])
    try:
        with ctx.db.session() as session:
            record = StudyRepository(session).add(
                tenant_id=tenant_id,
                task_id=task.id,
                n_trials=request.n_trials,
                timeout_s=request.timeout_s,
                warm_start_k=k,
                seed=request.seed,
                optuna_study_name=name,
                metamodel_version=version,
                learners=learners,
                warm_start=[r.model_dump(mode="json") for r in warm],
                n_warm_enqueued=min(len(flats), 1),
            )
    except BaseException:
        delete_optuna_study(ctx.optuna_storage, name)  # no orphan without a study row
        raise
    return _public(ctx, record, task.metric)


def _best(trial: TrialRecord | None) -> BestTrial | None:
    if trial is None or trial.learner is None or trial.score is None:
        return None
    return BestTrial(
        learner=trial.learner, params=trial.params, score=trial.score, trial_number=trial.number
    )


def _public(ctx: ServiceContext, record: StudyRecord, metric_name: str) -> StudyPublic:
    metric = METRICS[metric_name]
    with ctx.db.session() as session:
        trials = TrialRepository(session)
        counts = trials.count_by_state(record.id)
        best = trials.best(record.id, maximize=metric.maximize)
    return StudyPublic(
        id=record.id,
        task_id=record.task_id,
        status=record.status,  # type: ignore[arg-type]
        n_trials=record.n_trials,
        n_complete=counts.get("complete", 0),
        n_failed=counts.get("failed", 0),
        n_running=counts.get("running", 0),
        timeout_s=record.timeout_s,
        seed=record.seed,
        learners=record.learners,
        metric=metric.name,
        maximize=metric.maximize,
        best=_best(best),
        warm_start=[RecommendationPublic.model_validate(w) for w in record.warm_start],
        metamodel_version=record.metamodel_version,
        error=record.error,
        created_at=record.created_at,
        started_at=record.started_at,
        finished_at=record.finished_at,
    )


def get_study_record(ctx: ServiceContext, tenant_id: int, study_id: int) -> StudyRecord:
    """The tenant's study ``study_id``; :class:`NotFoundError` if it has none."""
    with ctx.db.session() as session:
        record = StudyRepository(session).get(study_id, tenant_id=tenant_id)
    if record is None:
        raise NotFoundError(f"study {study_id} not found")
    return record


def get_study(ctx: ServiceContext, tenant_id: int, study_id: int) -> StudyPublic:
    """The API view of the tenant's study, with counts and the best trial so far."""
    record = get_study_record(ctx, tenant_id, study_id)
    return _public(ctx, record, get_task_record(ctx, tenant_id, record.task_id).metric)


def list_studies(
    ctx: ServiceContext,
    tenant_id: int,
    *,
    task_id: int | None = None,
    offset: int = 0,
    limit: int = 100,
) -> StudiesPublic:
    """A page of the tenant's studies, oldest first (optionally of one task)."""
    with ctx.db.session() as session:
        records, total = StudyRepository(session).page(
            tenant_id=tenant_id, task_id=task_id, offset=offset, limit=limit
        )
    metrics: dict[int, str] = {}
    items = []
    for record in records:
        if record.task_id not in metrics:
            metrics[record.task_id] = get_task_record(ctx, tenant_id, record.task_id).metric
        items.append(_public(ctx, record, metrics[record.task_id]))
    return StudiesPublic(items=items, count=total)


def _trial_public(trial: TrialRecord) -> TrialPublic:
    return TrialPublic(
        number=trial.number,
        source=trial.source,  # type: ignore[arg-type]
        state=trial.state,  # type: ignore[arg-type]
        learner=trial.learner,
        params=trial.params,
        score=trial.score,
        duration_s=trial.duration_s,
        error=trial.error,
        worker=trial.worker,
        started_at=trial.started_at,
        finished_at=trial.finished_at,
    )


def list_trials(ctx: ServiceContext, tenant_id: int, study_id: int) -> TrialsPublic:
    """All trials of the tenant's study, by number."""
    get_study_record(ctx, tenant_id, study_id)
    with ctx.db.session() as session:
        trials = TrialRepository(session).of_study(study_id)
    return TrialsPublic(items=[_trial_public(t) for t in trials], count=len(trials))


def cancel_study(ctx: ServiceContext, tenant_id: int, study_id: int) -> StudyPublic:
    """Cancel a queued or running study; workers stop it within one trial.

    Cancelling a cancelled study is a no-op. Raises :class:`ConflictError` for a study that
    already succeeded or failed.
    """
    record = get_study_record(ctx, tenant_id, study_id)
    if record.status != "cancelled":
        with ctx.db.session() as session:
            changed = StudyRepository(session).set_terminal(study_id, status="cancelled")
        if not changed:
            current = get_study_record(ctx, tenant_id, study_id)
            if current.status != "cancelled":
                raise ConflictError(f"study {study_id} already {current.status}; nothing to cancel")
    return get_study(ctx, tenant_id, study_id)
