"""Pydantic models of the REST API: ``*Create`` inputs, ``*Public`` outputs, list envelopes.

These field names are a public contract (see docs/service.md); the CLI's ``--server`` client parses
responses into the same models.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BestTrial",
    "ColumnPublic",
    "DatasetPublic",
    "ErrorPublic",
    "EvidencePublic",
    "HealthPublic",
    "RecommendationPublic",
    "RecommendationsCreate",
    "RecommendationsPublic",
    "SimilarItem",
    "SimilarPublic",
    "StudiesPublic",
    "StudyCreate",
    "StudyPublic",
    "TaskCreate",
    "TaskPublic",
    "TasksPublic",
    "TrialPublic",
    "TrialsPublic",
]

TaskType = Literal["classification", "regression"]
StudyStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]


#: Ids are 32-bit database integers: a larger one is a 422, not an overflow in the driver.
MAX_ID = 2**31 - 1
DatabaseId = Annotated[int, Field(ge=1, le=MAX_ID)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorPublic(_Model):
    """Every error answer. ``detail`` is a message, or for a request that does not match the
    schema FastAPI's list of validation issues."""

    detail: str | list[dict[str, Any]]


class ColumnPublic(_Model):
    """One column of a dataset; ``dtype`` is numeric, categorical, boolean or datetime."""

    name: str
    dtype: str
    n_missing: int


class DatasetPublic(_Model):
    """An uploaded dataset."""

    id: int
    name: str
    n_rows: int
    n_columns: int
    sha256: str
    file_format: str
    size_bytes: int
    columns: list[ColumnPublic]
    created_at: datetime


class TaskCreate(_Model):
    """A learning problem on an uploaded dataset (task type inferred from the target if omitted)."""

    dataset_id: DatabaseId
    target: str = Field(min_length=1)
    task_type: TaskType | None = None
    metric: str | None = None


class TaskPublic(_Model):
    """A task with the meta-features of its dataset (None where not computable)."""

    id: int
    dataset_id: int
    target: str
    task_type: TaskType
    metric: str
    metafeatures: dict[str, float | None]
    created_at: datetime


class TasksPublic(_Model):
    """A page of tasks."""

    items: list[TaskPublic]
    count: int


class EvidencePublic(_Model):
    """A past dataset on which a recommended configuration did well."""

    dataset_id: int
    name: str
    similarity: float
    score: float


class RecommendationPublic(_Model):
    """A recommended configuration, best first."""

    rank: int
    learner: str
    params: dict[str, Any]
    predicted_score: float | None
    config_id: str | None = None
    evidence: list[EvidencePublic] = Field(default_factory=list)


class RecommendationsCreate(_Model):
    """How many recommendations, optionally restricted to some learners."""

    k: int = Field(default=5, ge=1, le=100)
    learners: list[str] | None = None


class RecommendationsPublic(_Model):
    """Recommendations for a task, and the meta-model that made them."""

    items: list[RecommendationPublic]
    metamodel_version: str
    task_id: int | None = None
    dataset_id: int | None = None


class BestTrial(_Model):
    """The best configuration found (of a study, or over a past task's studies)."""

    learner: str
    params: dict[str, Any]
    score: float
    trial_number: int | None = None


class SimilarItem(_Model):
    """A past problem close to the task: a service task or a knowledge-base dataset."""

    source: Literal["service", "knowledge_base"]
    task_id: int | None = None
    dataset_id: int | None = None
    name: str | None = None
    distance: float
    best: BestTrial | None = None


class SimilarPublic(_Model):
    """Past problems, closest first."""

    items: list[SimilarItem]


class StudyCreate(_Model):
    """A study of a task: ``n_trials`` evaluations, the first ``warm_start`` from the meta-model."""

    task_id: DatabaseId
    n_trials: int = Field(default=30, ge=1, le=100_000)
    timeout_s: float | None = Field(default=None, gt=0)
    warm_start: int | None = Field(
        default=None,
        ge=0,
        le=100,
        description="warm-start trials; default 5 when the knowledge base covers the task, else 0",
    )
    seed: int | None = Field(default=None, ge=0, le=MAX_ID)
    learners: list[str] | None = Field(default=None, min_length=1)


class StudyPublic(_Model):
    """A study's state; ``best`` is None until a trial completes."""

    id: int
    task_id: int
    status: StudyStatus
    n_trials: int
    n_complete: int
    n_failed: int
    n_running: int
    timeout_s: float | None
    seed: int | None
    learners: list[str]
    metric: str
    maximize: bool
    best: BestTrial | None
    warm_start: list[RecommendationPublic]
    metamodel_version: str | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class StudiesPublic(_Model):
    """A page of studies."""

    items: list[StudyPublic]
    count: int


class TrialPublic(_Model):
    """One trial: ``source`` says whether the configuration came from the warm start."""

    number: int
    source: Literal["warm_start", "sampler"]
    state: Literal["running", "complete", "failed"]
    learner: str | None
    params: dict[str, Any]
    score: float | None
    duration_s: float | None
    error: str | None
    worker: str | None
    started_at: datetime
    finished_at: datetime | None


class TrialsPublic(_Model):
    """The trials of a study, by number."""

    items: list[TrialPublic]
    count: int


class HealthPublic(_Model):
    """Readiness: the database, its migrations and the meta-model."""

    status: Literal["ok", "degraded"]
    database: bool
    migrations: dict[str, str | bool | None]
    metamodel: dict[str, str | bool | None]
