"""``/v1/studies``: queue warm-started studies, follow them, list trials, cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from service.api.deps import ContextDep
from service.operations import studies
from service.schemas import StudiesPublic, StudyCreate, StudyPublic, TrialsPublic

router = APIRouter(prefix="/studies", tags=["studies"])


@router.post("", response_model=StudyPublic, status_code=status.HTTP_202_ACCEPTED)
def create_study(ctx: ContextDep, body: StudyCreate) -> StudyPublic:
    """Queue a study; workers pick it up (the warm start runs first)."""
    return studies.create_study(ctx, body)


@router.get("", response_model=StudiesPublic)
def list_studies(
    ctx: ContextDep,
    task_id: int | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> StudiesPublic:
    """A page of studies, oldest first (optionally of one task)."""
    return studies.list_studies(ctx, task_id=task_id, offset=offset, limit=limit)


@router.get("/{study_id}", response_model=StudyPublic)
def get_study(ctx: ContextDep, study_id: int) -> StudyPublic:
    """A study's status, progress and best trial."""
    return studies.get_study(ctx, study_id)


@router.get("/{study_id}/trials", response_model=TrialsPublic)
def list_trials(ctx: ContextDep, study_id: int) -> TrialsPublic:
    """The trials of a study, by number."""
    return studies.list_trials(ctx, study_id)


@router.post("/{study_id}/cancel", response_model=StudyPublic)
def cancel_study(ctx: ContextDep, study_id: int) -> StudyPublic:
    """Cancel a queued or running study (409 if it already finished)."""
    return studies.cancel_study(ctx, study_id)
