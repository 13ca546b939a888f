"""Defining tasks on datasets: validate the target, infer the task type, profile meta-features."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from service.context import ServiceContext
from service.db import TaskRecord, TaskRepository
from service.errors import NotFoundError
from service.metrics import get_metric
from service.operations.datasets import dataset_path, get_dataset_record
from service.profiling import compute_metafeatures, split_problem
from service.schemas import TaskCreate, TaskPublic, TasksPublic
from service.tables import read_table

__all__ = ["create_task", "get_task", "get_task_record", "list_tasks", "to_public"]


def to_public(record: TaskRecord) -> TaskPublic:
    """The API view of a task."""
    return TaskPublic(
        id=record.id,
        dataset_id=record.dataset_id,
        target=record.target,
        task_type=record.task_type,  # type: ignore[arg-type]
        metric=record.metric,
        metafeatures=record.metafeatures,
        created_at=record.created_at,
    )


def create_task(
    ctx: ServiceContext, tenant_id: int, request: TaskCreate
) -> tuple[TaskPublic, bool]:
    """Define a task; returns it and whether it is new (the same problem again returns the old).

    Raises:
        NotFoundError: unknown dataset.
        InvalidRequestError: unknown target column, one class, unsuitable metric, ...
        InvalidInputError: the meta-features cannot be computed for this data.
    """
    dataset = get_dataset_record(ctx, tenant_id, request.dataset_id)
    frame, _ = read_table(dataset_path(ctx, dataset))
    problem = split_problem(frame, request.target, request.task_type)
    metric = get_metric(request.metric, problem.task_type)
    with ctx.db.session() as session:
        existing = TaskRepository(session).find(
            dataset.id, request.target, problem.task_type, metric.name, tenant_id=tenant_id
        )
    if existing is not None:
        return to_public(existing), False
    metafeatures = compute_metafeatures(problem)
    try:
        with ctx.db.session() as session:
            record = TaskRepository(session).add(
                tenant_id=tenant_id,
                dataset_id=dataset.id,
                target=request.target,
                task_type=problem.task_type,
                metric=metric.name,
                metafeatures=metafeatures,
            )
    except IntegrityError:
        with ctx.db.session() as session:
            raced = TaskRepository(session).find(
                dataset.id, request.target, problem.task_type, metric.name, tenant_id=tenant_id
            )
        if raced is None:
            raise
        return to_public(raced), False
    return to_public(record), True


def get_task_record(ctx: ServiceContext, tenant_id: int, task_id: int) -> TaskRecord:
    """The tenant's task ``task_id``; :class:`NotFoundError` if it has none.

    Tasks are immutable, so each is read from the database once per process and then served
    from ``ctx.task_records`` (the owner is checked on every call: a foreign id is a 404).
    """
    record = ctx.task_records.get(task_id)
    if record is None:
        with ctx.db.session() as session:
            record = TaskRepository(session).get(task_id, tenant_id=None)
        if record is not None:
            ctx.task_records.put(task_id, record)
    if record is None or record.tenant_id != tenant_id:
        raise NotFoundError(f"task {task_id} not found")
    return record


def get_task(ctx: ServiceContext, tenant_id: int, task_id: int) -> TaskPublic:
    """The API view of the tenant's task ``task_id``."""
    return to_public(get_task_record(ctx, tenant_id, task_id))


def list_tasks(
    ctx: ServiceContext, tenant_id: int, *, offset: int = 0, limit: int = 100
) -> TasksPublic:
    """A page of the tenant's tasks, oldest first."""
    with ctx.db.session() as session:
        records, total = TaskRepository(session).page(
            tenant_id=tenant_id, offset=offset, limit=limit
        )
    return TasksPublic(items=[to_public(r) for r in records], count=total)
