"""``/v1/tasks``: define learning problems, get recommendations and similar past problems."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from service.api.deps import ContextDep
from service.operations import recommendations, tasks
from service.schemas import (
    RecommendationsCreate,
    RecommendationsPublic,
    SimilarPublic,
    TaskCreate,
    TaskPublic,
    TasksPublic,
)

router = APIRouter(prefix="/tasks", tags=["tasks"])


@router.post(
    "",
    response_model=TaskPublic,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "the same task was defined before: the existing task"}},
)
def create_task(ctx: ContextDep, body: TaskCreate, response: Response) -> TaskPublic:
    """Define a task on a dataset and compute its meta-features."""
    task, created = tasks.create_task(ctx, body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return task


@router.get("", response_model=TasksPublic)
def list_tasks(
    ctx: ContextDep,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> TasksPublic:
    """A page of tasks, oldest first."""
    return tasks.list_tasks(ctx, offset=offset, limit=limit)


@router.get("/{task_id}", response_model=TaskPublic)
def get_task(ctx: ContextDep, task_id: int) -> TaskPublic:
    """One task (404 if unknown)."""
    return tasks.get_task(ctx, task_id)


@router.get("/{task_id}/similar", response_model=SimilarPublic)
def similar(
    ctx: ContextDep, task_id: int, k: Annotated[int, Query(ge=1, le=100)] = 5
) -> SimilarPublic:
    """The k closest past problems: service tasks and knowledge-base datasets."""
    return recommendations.similar_to_task(ctx, task_id, k=k)


@router.post("/{task_id}/recommendations", response_model=RecommendationsPublic)
def recommend(
    ctx: ContextDep, task_id: int, body: RecommendationsCreate | None = None
) -> RecommendationsPublic:
    """Up to k configurations for the task, best first."""
    body = body or RecommendationsCreate()
    return recommendations.recommend_for_task(ctx, task_id, k=body.k, learners=body.learners)
