"""Uploading datasets: receive, hash, parse, store once per content, record."""

from __future__ import annotations

import logging
from pathlib import Path, PurePath
from typing import BinaryIO

from sqlalchemy.exc import IntegrityError

from service.context import ServiceContext
from service.db import DatasetRecord, DatasetRepository
from service.errors import NotFoundError
from service.schemas import ColumnPublic, DatasetPublic
from service.tables import TableLimits, describe_columns, read_table

__all__ = ["dataset_path", "get_dataset", "get_dataset_record", "register_dataset", "to_public"]

logger = logging.getLogger(__name__)


def to_public(record: DatasetRecord) -> DatasetPublic:
    """The API view of a dataset."""
    return DatasetPublic(
        id=record.id,
        name=record.name,
        n_rows=record.n_rows,
        n_columns=record.n_columns,
        sha256=record.sha256,
        file_format=record.file_format,
        size_bytes=record.size_bytes,
        columns=[ColumnPublic(**c) for c in record.columns],
        created_at=record.created_at,
    )


def _default_name(filename: str | None, sha256: str) -> str:
    path = PurePath(filename) if filename else None
    if path is not None and path.suffix.lower() == ".gz":
        path = path.with_suffix("")
    stem = path.stem if path is not None else ""
    return (stem or f"dataset-{sha256[:12]}")[:255]


def register_dataset(
    ctx: ServiceContext,
    tenant_id: int,
    stream: BinaryIO,
    *,
    filename: str | None = None,
    name: str | None = None,
) -> tuple[DatasetPublic, bool]:
    """Store an uploaded table for a tenant; returns the dataset and whether it is new.

    The same bytes again from the same tenant return its existing dataset (``False``); another
    tenant gets a dataset of its own (the file on disk is shared, the rows are not). Nothing is
    left behind when the upload is rejected: the temporary file is removed and no row is written.

    A gzip upload is stored decompressed (:mod:`service.filestore`).

    Raises:
        PayloadTooLargeError: over ``max_upload_bytes`` (also once decompressed), or over
            ``max_upload_rows`` / ``max_upload_columns``.
        InvalidUploadError / InvalidTableError / UnsupportedMediaTypeError: see
            :func:`service.tables.read_table`.
    """
    with ctx.files.receive(stream, max_bytes=ctx.settings.max_upload_bytes) as received:
        with ctx.db.session() as session:
            existing = DatasetRepository(session).get_by_sha256(
                received.sha256, tenant_id=tenant_id
            )
        if existing is not None:
            ctx.files.store(received, existing.file_format)  # restores a lost file; else no-op
            return to_public(existing), False
        limits = TableLimits(
            max_rows=ctx.settings.max_upload_rows,
            max_columns=ctx.settings.max_upload_columns,
            max_bytes=ctx.settings.max_upload_bytes,
        )
        frame, file_format = read_table(received.path, limits=limits)
        _, newly_stored = ctx.files.store(received, file_format)
        try:
            with ctx.db.session() as session:
                record = DatasetRepository(session).add(
                    tenant_id=tenant_id,
                    sha256=received.sha256,
                    name=(name or "").strip()[:255] or _default_name(filename, received.sha256),
                    file_format=file_format,
                    size_bytes=received.size_bytes,
                    n_rows=int(frame.shape[0]),
                    n_columns=int(frame.shape[1]),
                    columns=describe_columns(frame),
                )
        except IntegrityError:
            # The same bytes were registered concurrently: the stored file is identical, keep it.
            with ctx.db.session() as session:
                raced = DatasetRepository(session).get_by_sha256(
                    received.sha256, tenant_id=tenant_id
                )
            if raced is None:
                raise
            return to_public(raced), False
        except BaseException:
            if newly_stored:
                ctx.files.remove(received.sha256, file_format)
            raise
    return to_public(record), True


def get_dataset_record(ctx: ServiceContext, tenant_id: int, dataset_id: int) -> DatasetRecord:
    """The tenant's dataset ``dataset_id``; :class:`NotFoundError` if it has none (or another
    tenant owns it: foreign ids are indistinguishable from unknown ones)."""
    with ctx.db.session() as session:
        record = DatasetRepository(session).get(dataset_id, tenant_id=tenant_id)
    if record is None:
        raise NotFoundError(f"dataset {dataset_id} not found")
    return record


def get_dataset(ctx: ServiceContext, tenant_id: int, dataset_id: int) -> DatasetPublic:
    """The API view of the tenant's dataset ``dataset_id`` (:class:`NotFoundError` if none)."""
    return to_public(get_dataset_record(ctx, tenant_id, dataset_id))


def dataset_path(ctx: ServiceContext, record: DatasetRecord) -> Path:
    """The stored file of a dataset.

    Raises:
        NotFoundError: the file is gone from the data directory (upload it again to restore it).
    """
    path = ctx.files.path_for(record.sha256, record.file_format)
    if not path.is_file():
        raise NotFoundError(
            f"the file of dataset {record.id} is missing from {ctx.files.root}; upload it again"
        )
    return path
