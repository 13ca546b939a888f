"""``/v1/datasets``: upload tables (CSV, Parquet, ARFF) and read them back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Response, UploadFile, status

from service.api.deps import ContextDep
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
    response: Response,
    file: Annotated[UploadFile, File(description="CSV, Parquet or ARFF (UTF-8 for text)")],
    name: Annotated[str | None, Form(max_length=255)] = None,
) -> DatasetPublic:
    """Store a table once per content; 201 when new, 200 with the existing id otherwise."""
    dataset, created = datasets.register_dataset(ctx, file.file, filename=file.filename, name=name)
    if not created:
        response.status_code = status.HTTP_200_OK
    return dataset


@router.get("/{dataset_id}", response_model=DatasetPublic)
def get_dataset(ctx: ContextDep, dataset_id: int) -> DatasetPublic:
    """One dataset (404 if unknown)."""
    return datasets.get_dataset(ctx, dataset_id)
