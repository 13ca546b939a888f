"""Plain, immutable records returned by the repositories (ORM rows never leave ``service.db``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "ApiKeyRecord",
    "DatasetRecord",
    "HistoryStudyRecord",
    "HistoryTrialRecord",
    "IdempotencyRecord",
    "MetamodelVersionRecord",
    "RefitStateRecord",
    "StudyRecord",
    "TaskRecord",
    "TenantRecord",
    "TrialRecord",
]

TERMINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled"})


@dataclass(frozen=True)
class TenantRecord:
    """A tenant (team)."""

    id: int
    name: str
    created_at: datetime


@dataclass(frozen=True)
class ApiKeyRecord:
    """An API key; ``secret_hash`` is the salted hash of its secret, never the secret."""

    id: int
    key_id: str
    tenant_id: int
    tenant_name: str
    secret_hash: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class IdempotencyRecord:
    """A create request's remembered outcome; ``status_code`` None while it is in flight."""

    id: int
    tenant_id: int
    key: str
    fingerprint: str
    status_code: int | None
    response: Any
    created_at: datetime


@dataclass(frozen=True)
class DatasetRecord:
    """A stored dataset; ``columns`` is ``[{name, dtype, n_missing}]``."""

    id: int
    tenant_id: int
    sha256: str
    name: str
    file_format: str
    size_bytes: int
    n_rows: int
    n_columns: int
    columns: list[dict[str, Any]]
    created_at: datetime


@dataclass(frozen=True)
class TaskRecord:
    """A task; ``metafeatures`` maps OpenML quality names to values (None where not computable)."""

    id: int
    tenant_id: int
    dataset_id: int
    target: str
    task_type: str
    metric: str
    metafeatures: dict[str, float | None]
    created_at: datetime


@dataclass(frozen=True)
class StudyRecord:
    """A study and its bookkeeping counters (see ``StudyRow``)."""

    id: int
    tenant_id: int
    task_id: int
    status: str
    n_trials: int
    timeout_s: float | None
    warm_start_k: int
    seed: int | None
    optuna_study_name: str
    metamodel_version: str | None
    learners: list[str]
    warm_start: list[dict[str, Any]]
    n_warm_enqueued: int
    n_reserved: int
    n_finished: int
    n_workers: int
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def is_terminal(self) -> bool:
        """True once the study succeeded, failed or was cancelled."""
        return self.status in TERMINAL_STATUSES


@dataclass(frozen=True)
class TrialRecord:
    """One trial of a study; ``state`` is ``running``, ``complete`` or ``failed``."""

    id: int
    tenant_id: int
    study_id: int
    number: int
    source: str
    learner: str | None
    params: dict[str, Any]
    state: str
    score: float | None
    duration_s: float | None
    error: str | None
    worker: str | None
    started_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class HistoryStudyRecord:
    """A succeeded study in the knowledge base: task, meta-features and provenance."""

    id: int
    study_id: int
    tenant_id: int
    task_id: int
    task_type: str
    metric: str
    metafeatures: dict[str, float | None]
    source: str
    source_version: str
    cv_folds: int
    recorded_at: datetime


@dataclass(frozen=True)
class HistoryTrialRecord:
    """A finished trial of a history study (``score`` None when it failed)."""

    history_study_id: int
    number: int
    source: str
    learner: str | None
    params: dict[str, Any]
    state: str
    score: float | None


@dataclass(frozen=True)
class MetamodelVersionRecord:
    """A stored meta-model version (``tenant_id`` None: the public one)."""

    id: int
    tenant_id: int | None
    tenant_name: str | None
    task_type: str
    base_version_id: int | None
    kb_version: str
    artifact: str
    artifact_sha256: str
    content_sha256: str
    params: dict[str, Any]
    counts: dict[str, Any]
    n_history_studies: int
    trigger: str
    created_at: datetime

    @property
    def label(self) -> str:
        """The id that recommendations and studies report: ``v<id>``."""
        return f"v{self.id}"


@dataclass(frozen=True)
class RefitStateRecord:
    """Who holds the refit lease (if anyone) and how many history studies the last refit read."""

    lease_owner: str | None
    lease_expires_at: datetime | None
    history_studies_refitted: int
    last_refit_at: datetime | None
