"""Recommendations and similar past problems for a task, and the one-shot upload-and-recommend."""

from __future__ import annotations

import math
from typing import Any, BinaryIO

from metaknowledge import KnowledgeBase
from service.context import ServiceContext
from service.db import TaskRecord, TaskRepository, TrialRepository, trials_observed_on_task
from service.metrics import METRICS
from service.operations.datasets import register_dataset
from service.operations.tasks import create_task, get_task_record
from service.schemas import (
    BestTrial,
    RecommendationsPublic,
    SimilarItem,
    SimilarPublic,
    TaskCreate,
)

__all__ = ["observed_on_task", "recommend_for_task", "recommend_for_upload", "similar_to_task"]


def observed_on_task(ctx: ServiceContext, task: TaskRecord) -> list[tuple[dict[str, Any], float]]:
    """The configurations measured on the task so far, in the meta-model's ``observed`` form.

    Only when the task's metric is the knowledge base's (other metrics are not on its scale).
    """
    advisor = ctx.advisor_for(task.tenant_id, task.task_type)
    if task.metric != advisor.kb.metric:
        return []
    with ctx.db.read() as connection:
        trials = trials_observed_on_task(connection, task.id, tenant_id=task.tenant_id)
    return [({"learner": learner, "params": params}, score) for learner, params, score in trials]


def recommend_for_task(
    ctx: ServiceContext,
    tenant_id: int,
    task_id: int,
    *,
    k: int = 5,
    learners: list[str] | None = None,
) -> RecommendationsPublic:
    """Up to ``k`` configurations for the tenant's task, informed by its run history so far.

    The meta-model is the tenant's own version when a refit gave it one (public knowledge plus
    the tenant's history), else the public one; ``metamodel_version`` says which.

    Raises:
        NotFoundError: unknown task. ServiceUnavailableError: no meta-model loaded.
        ConflictError: the knowledge base does not cover the task type.
        UnknownLearnerError: a learner name the search space does not define.
    """
    task = get_task_record(ctx, tenant_id, task_id)
    advisor = ctx.advisor_for(tenant_id, task.task_type)
    items = advisor.recommend(
        task.metafeatures,
        k,
        task_type=task.task_type,
        observed=observed_on_task(ctx, task),
        learners=learners,
    )
    return RecommendationsPublic(
        items=items, metamodel_version=advisor.version, task_id=task.id, dataset_id=task.dataset_id
    )


def similar_to_task(
    ctx: ServiceContext, tenant_id: int, task_id: int, *, k: int = 5
) -> SimilarPublic:
    """The ``k`` closest past problems: the tenant's other tasks and knowledge-base datasets.

    Service tasks carry their best configuration so far; distances of both kinds are on the
    meta-model's scale, so one ranking covers both.
    """
    task = get_task_record(ctx, tenant_id, task_id)
    advisor = ctx.advisor_for(tenant_id, task.task_type)
    items: list[SimilarItem] = []
    with ctx.db.session() as session:
        others = TaskRepository(session).all_except(
            task.id, task_type=task.task_type, tenant_id=tenant_id
        )
    if others:
        distances = advisor.distances(task.metafeatures, [o.metafeatures for o in others])
        ranked = sorted(
            ((d, o) for d, o in zip(distances, others, strict=True) if math.isfinite(d)),
            key=lambda pair: (pair[0], pair[1].id),
        )[:k]
        with ctx.db.session() as session:
            trials = TrialRepository(session)
            for distance, other in ranked:
                best = trials.best_of_task(
                    other.id, tenant_id=tenant_id, maximize=METRICS[other.metric].maximize
                )
                items.append(
                    SimilarItem(
                        source="service",
                        task_id=other.id,
                        dataset_id=other.dataset_id,
                        name=f"task {other.id}: {other.target}",
                        distance=distance,
                        best=None
                        if best is None or best.learner is None or best.score is None
                        else BestTrial(learner=best.learner, params=best.params, score=best.score),
                    )
                )
    if advisor.covers(task.task_type):
        for neighbour in advisor.similar(task.metafeatures, k):
            items.append(
                SimilarItem(
                    source="knowledge_base",
                    dataset_id=neighbour.dataset_id,
                    name=neighbour.name,
                    distance=neighbour.distance,
                    best=_kb_best(advisor.kb, neighbour.dataset_id),
                )
            )
    items.sort(key=lambda item: item.distance)
    return SimilarPublic(items=items[:k])


def _kb_best(kb: KnowledgeBase, dataset_id: int) -> BestTrial | None:
    if dataset_id not in kb.performance.index:
        return None
    row = kb.performance.loc[dataset_id].dropna()
    if row.empty:
        return None
    config_id = str(row.idxmax())
    config = kb.config(config_id)
    return BestTrial(
        learner=str(config["learner"]), params=dict(config["params"]), score=float(row.max())
    )


def recommend_for_upload(
    ctx: ServiceContext,
    tenant_id: int,
    stream: BinaryIO,
    *,
    filename: str | None,
    target: str,
    k: int = 5,
    task_type: str | None = None,
    metric: str | None = None,
    learners: list[str] | None = None,
) -> RecommendationsPublic:
    """Upload (or find) a dataset, define (or find) the task, and recommend: one call for CI."""
    dataset, _ = register_dataset(ctx, tenant_id, stream, filename=filename)
    task, _ = create_task(
        ctx,
        tenant_id,
        TaskCreate(dataset_id=dataset.id, target=target, task_type=task_type, metric=metric),  # type: ignore[arg-type]
    )
    return recommend_for_task(ctx, tenant_id, task.id, k=k, learners=learners)
