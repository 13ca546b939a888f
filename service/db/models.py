"""The service's tables (all prefixed ``ws_`` so they never collide with Optuna's tables).

These ORM classes are private to :mod:`service.db`: repositories turn them into plain records
(:mod:`service.db.records`) before they leave the package. Schema changes need an Alembic revision
in ``migrations/versions`` (the migrations test fails on drift).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ApiKeyRow",
    "Base",
    "DatasetRow",
    "HistoryStudyRow",
    "HistoryTrialRow",
    "IdempotencyKeyRow",
    "MetamodelVersionRow",
    "RefitStateRow",
    "StudyRow",
    "TaskRow",
    "TenantRow",
    "TrialRow",
]

TABLE_PREFIX = "ws_"


class Base(DeclarativeBase):
    """Declarative base of the service tables; its metadata is Alembic's target."""


class TenantRow(Base):
    """A team: it owns datasets, tasks, studies and trials and sees nobody else's."""

    __tablename__ = "ws_tenants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiKeyRow(Base):
    """An API key of a tenant: a public ``key_id`` for lookup and a salted hash of the secret."""

    __tablename__ = "ws_api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("ws_tenants.id"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(255))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IdempotencyKeyRow(Base):
    """The remembered outcome of a create request sent with an ``Idempotency-Key`` header.

    ``status_code`` is None while the first request is still being handled.
    """

    __tablename__ = "ws_idempotency_keys"
    __table_args__ = (UniqueConstraint("tenant_id", "key", name="uq_ws_idempotency_keys_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("ws_tenants.id"), index=True)
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[Any | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DatasetRow(Base):
    """An uploaded table, stored once per tenant and content (``sha256``)."""

    __tablename__ = "ws_datasets"
    __table_args__ = (UniqueConstraint("tenant_id", "sha256", name="uq_ws_datasets_content"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("ws_tenants.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    file_format: Mapped[str] = mapped_column(String(16))
    size_bytes: Mapped[int] = mapped_column(Integer)
    n_rows: Mapped[int] = mapped_column(Integer)
    n_columns: Mapped[int] = mapped_column(Integer)
    columns: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TaskRow(Base):
    """A learning problem on a dataset: target column, task type, metric and its meta-features."""

    __tablename__ = "ws_tasks"
    __table_args__ = (
        UniqueConstraint("dataset_id", "target", "task_type", "metric", name="uq_ws_tasks_problem"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("ws_tenants.id"), index=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("ws_datasets.id"), index=True)
    target: Mapped[str] = mapped_column(String(255))
    task_type: Mapped[str] = mapped_column(String(16))
    metric: Mapped[str] = mapped_column(String(32))
    metafeatures: Mapped[dict[str, float | None]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StudyRow(Base):
    """An optimisation run of a task: its budget, state, warm start and trial bookkeeping.

    ``n_reserved`` counts trial slots handed to workers (never above ``n_trials``) and
    ``n_finished`` the slots whose trial has ended; the study is over when they are equal and no
    slot can be handed out any more. ``n_warm_enqueued`` counts the warm-start trials enqueued
    so far (the first at creation, each next one by a worker from the results so far), up to
    ``warm_start_k``; ``warm_start`` holds them, followed by the rest of the creation's proposal.
    """

    __tablename__ = "ws_studies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("ws_tenants.id"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("ws_tasks.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    n_trials: Mapped[int] = mapped_column(Integer)
    timeout_s: Mapped[float | None] = mapped_column(Float)
    warm_start_k: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int | None] = mapped_column(Integer)
    optuna_study_name: Mapped[str] = mapped_column(String(255), unique=True)
    metamodel_version: Mapped[str | None] = mapped_column(String(64))
    learners: Mapped[list[str]] = mapped_column(JSON)
    warm_start: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    n_warm_enqueued: Mapped[int] = mapped_column(Integer, default=0)
    n_reserved: Mapped[int] = mapped_column(Integer, default=0)
    n_finished: Mapped[int] = mapped_column(Integer, default=0)
    n_workers: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TrialRow(Base):
    """One evaluated configuration of a study: the run history of the service."""

    __tablename__ = "ws_trials"
    __table_args__ = (UniqueConstraint("study_id", "number", name="uq_ws_trials_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("ws_tenants.id"), index=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("ws_studies.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))
    learner: Mapped[str | None] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16))
    score: Mapped[float | None] = mapped_column(Float)
    duration_s: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(128))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class HistoryStudyRow(Base):
    """A succeeded study added to the knowledge base: its task's meta-features and provenance.

    Written in the transaction that marks the study succeeded, so a study is in the knowledge
    base exactly when it succeeded. ``source`` is ``service``; ``source_version`` the warmstart
    version that measured the trials; ``cv_folds`` the folds their scores were cross-validated
    with; ``recorded_at`` when the study was added; ``tenant_id`` whose private history it is.
    """

    __tablename__ = "ws_history_studies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("ws_studies.id"), unique=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("ws_tenants.id"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("ws_tasks.id"), index=True)
    task_type: Mapped[str] = mapped_column(String(16))
    metric: Mapped[str] = mapped_column(String(32))
    metafeatures: Mapped[dict[str, float | None]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(32))
    source_version: Mapped[str] = mapped_column(String(64))
    cv_folds: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class HistoryTrialRow(Base):
    """A finished trial (complete with its score, or failed) of a study in the knowledge base."""

    __tablename__ = "ws_history_trials"
    __table_args__ = (
        UniqueConstraint("history_study_id", "number", name="uq_ws_history_trials_number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    history_study_id: Mapped[int] = mapped_column(ForeignKey("ws_history_studies.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))
    learner: Mapped[str | None] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16))
    score: Mapped[float | None] = mapped_column(Float)


class MetamodelVersionRow(Base):
    """A refitted meta-model: what it was fitted on, and its artifact (a checksummed snapshot).

    ``tenant_id`` None is the public model (bundled snapshot + ingested snapshots); a tenant's
    version adds that tenant's history to the public version ``base_version_id``. ``artifact`` is
    a directory relative to the service's home; ``artifact_sha256`` the sha256 of its manifest
    (which holds the sha256 of its arrays). ``content_sha256`` fingerprints the knowledge and the
    meta-model parameters: a refit that would store the same again makes no new version.
    """

    __tablename__ = "ws_metamodel_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("ws_tenants.id"), index=True)
    task_type: Mapped[str] = mapped_column(String(16))
    base_version_id: Mapped[int | None] = mapped_column(ForeignKey("ws_metamodel_versions.id"))
    kb_version: Mapped[str] = mapped_column(String(255))
    artifact: Mapped[str] = mapped_column(String(255))
    artifact_sha256: Mapped[str] = mapped_column(String(64))
    content_sha256: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON)
    n_history_studies: Mapped[int] = mapped_column(Integer)
    trigger: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RefitStateRow(Base):
    """The one row (id 1) that coordinates refits between processes.

    ``lease_owner``/``lease_expires_at``: who is refitting (taken with one conditional
    ``UPDATE``; a lease past its expiry may be taken over). ``history_studies_refitted``: how
    many history studies the last refit read, so new ones can be counted for the trigger.
    """

    __tablename__ = "ws_refit_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    history_studies_refitted: Mapped[int] = mapped_column(Integer, default=0)
    last_refit_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
