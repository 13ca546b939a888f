"""Persistence of the service: models, sessions, migrations and repositories (the only SQL).

Callers use :class:`Database` for units of work and the repositories for reads and writes; records
(plain dataclasses) are what leaves this package.
"""

from service.db.engine import Database, engine_kwargs_for, make_engine
from service.db.learning import (
    HISTORY_SOURCE,
    HistoryRepository,
    MetamodelVersionRepository,
    RefitLeaseRepository,
)
from service.db.migrate import SchemaState, head_revision, schema_state, upgrade
from service.db.records import (
    ApiKeyRecord,
    DatasetRecord,
    HistoryStudyRecord,
    HistoryTrialRecord,
    IdempotencyRecord,
    MetamodelVersionRecord,
    RefitStateRecord,
    StudyRecord,
    TaskRecord,
    TenantRecord,
    TrialRecord,
)
from service.db.repositories import (
    ApiKeyRepository,
    DatasetRepository,
    IdempotencyRepository,
    StudyRepository,
    TaskRepository,
    TenantRepository,
    TrialRepository,
    api_key_by_id,
    trials_observed_on_task,
    utcnow,
)

__all__ = [
    "HISTORY_SOURCE",
    "ApiKeyRecord",
    "ApiKeyRepository",
    "Database",
    "DatasetRecord",
    "DatasetRepository",
    "HistoryRepository",
    "HistoryStudyRecord",
    "HistoryTrialRecord",
    "IdempotencyRecord",
    "IdempotencyRepository",
    "MetamodelVersionRecord",
    "MetamodelVersionRepository",
    "RefitLeaseRepository",
    "RefitStateRecord",
    "SchemaState",
    "StudyRecord",
    "StudyRepository",
    "TaskRecord",
    "TaskRepository",
    "TenantRecord",
    "TenantRepository",
    "TrialRecord",
    "TrialRepository",
    "api_key_by_id",
    "engine_kwargs_for",
    "head_revision",
    "make_engine",
    "schema_state",
    "trials_observed_on_task",
    "upgrade",
    "utcnow",
]
