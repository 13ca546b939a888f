"""``/v1/recommendations``: the one-shot call (upload, profile, recommend) for CI pipelines."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import JSONResponse

from service.api.deps import ContextDep, RateLimitsDep, WriterDep
from service.api.idempotency import IdempotencyDep
from service.operations import recommendations
from service.schemas import RecommendationsPublic

router = APIRouter(prefix="/recommendations", tags=["recommendations"])


@router.post("", response_model=RecommendationsPublic)
def recommend_for_upload(
    ctx: ContextDep,
    principal: WriterDep,
    limits: RateLimitsDep,
    idempotent: IdempotencyDep,
    file: Annotated[UploadFile, File(description="CSV, Parquet or ARFF")],
    target: Annotated[str, Form(min_length=1)],
    k: Annotated[int, Form(ge=1, le=100)] = 5,
    task_type: Annotated[Literal["classification", "regression"] | None, Form()] = None,
    metric: Annotated[str | None, Form()] = None,
) -> JSONResponse:
    """Register the file and its task (or find them) and return recommendations."""

    def produce() -> tuple[RecommendationsPublic, int]:
        if principal.key_id is not None:
            limits.uploads.take(principal.key_id)
        result = recommendations.recommend_for_upload(
            ctx,
            principal.tenant_id,
            file.file,
            filename=file.filename,
            target=target,
            k=k,
            task_type=task_type,
            metric=metric,
        )
        return result, 200

    return idempotent.respond(produce)
