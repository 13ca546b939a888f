"""``/v1/datasets``: upload tables (CSV, Parquet, ARFF) and read them back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile, status
from fastapi.responses import JSONResponse

from service.api.deps import (
    ContextDep,
    IdPath,
    RateLimitsDep,
    ReaderDep,
    WriterDep,
)
from service.api.idempotency import IdempotencyDep
from service.operations import datasets
from service.schemas import DatasetPublic

router = APIRouter(prefix="/datasets", tags=["datasets"])


@router.post(
    "",
    response_model=DatasetPublic,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "the same bytes were uploaded before: the existing dataset"}},
)
def upload_dataset(
    ctx: ContextDep,
    principal: WriterDep,
    limits: RateLimitsDep,
    idempotent: IdempotencyDep,
    file: Annotated[UploadFile, File(description="CSV, Parquet or ARFF (UTF-8 for text)")],
    name: Annotated[str | None, Form(max_length=255)] = None,
) -> JSONResponse:
    """Store a table once per tenant and content; 201 when new, 200 with the existing id."""

    def produce() -> tuple[DatasetPublic, int]:
        if principal.key_id is not None:
            limits.uploads.take(principal.key_id)
        dataset, created = datasets.register_dataset(
            ctx, principal.tenant_id, file.file, filename=file.filename, name=name
        )
        return dataset, status.HTTP_201_CREATED if created else status.HTTP_200_OK

    return idempotent.respond(produce)


@router.get("/{dataset_id}", response_model=DatasetPublic)
def get_dataset(ctx: ContextDep, principal: ReaderDep, dataset_id: IdPath) -> DatasetPublic:
    """One of the caller's datasets (404 if unknown or another tenant's)."""
    return datasets.get_dataset(ctx, principal.tenant_id, dataset_id)
