"""``/v1/studies``: queue warm-started studies, follow them, list trials, cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse

from service.api.deps import (
    ContextDep,
    IdPath,
    IdQuery,
    OffsetQuery,
    RateLimitsDep,
    ReaderDep,
    WriterDep,
)
from service.api.idempotency import IdempotencyDep
from service.operations import studies
from service.schemas import StudiesPublic, StudyCreate, StudyPublic, TrialsPublic

router = APIRouter(prefix="/studies", tags=["studies"])


@router.post("", response_model=StudyPublic, status_code=status.HTTP_202_ACCEPTED)
def create_study(
    ctx: ContextDep,
    principal: WriterDep,
    limits: RateLimitsDep,
    idempotent: IdempotencyDep,
    body: StudyCreate,
) -> JSONResponse:
    """Queue a study; workers pick it up (the warm start runs first)."""

    def produce() -> tuple[StudyPublic, int]:
        if principal.key_id is not None:
            limits.studies.take(principal.key_id)
        return studies.create_study(ctx, principal.tenant_id, body), status.HTTP_202_ACCEPTED

    return idempotent.respond(produce)


@router.get("", response_model=StudiesPublic)
def list_studies(
    ctx: ContextDep,
    principal: ReaderDep,
    task_id: IdQuery = None,
    offset: OffsetQuery = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> StudiesPublic:
    """A page of studies, oldest first (optionally of one task)."""
    return studies.list_studies(
        ctx, principal.tenant_id, task_id=task_id, offset=offset, limit=limit
    )


@router.get("/{study_id}", response_model=StudyPublic)
def get_study(ctx: ContextDep, principal: ReaderDep, study_id: IdPath) -> StudyPublic:
    """A study's status, progress and best trial."""
    return studies.get_study(ctx, principal.tenant_id, study_id)


@router.get("/{study_id}/trials", response_model=TrialsPublic)
def list_trials(ctx: ContextDep, principal: ReaderDep, study_id: IdPath) -> TrialsPublic:
    """The trials of a study, by number."""
    return studies.list_trials(ctx, principal.tenant_id, study_id)


@router.post("/{study_id}/cancel", response_model=StudyPublic)
def cancel_study(ctx: ContextDep, principal: WriterDep, study_id: IdPath) -> StudyPublic:
    """Cancel a queued or running study (409 if it already finished)."""
    return studies.cancel_study(ctx, principal.tenant_id, study_id)
