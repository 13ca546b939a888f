"""Persistence of the service: models, sessions, migrations and repositories (the only SQL).

Callers use :class:`Database` for units of work and the repositories for reads and writes; records
(plain dataclasses) are what leaves this package.
"""

from service.db.engine import Database, engine_kwargs_for, make_engine
from service.db.migrate import SchemaState, head_revision, schema_state, upgrade
from service.db.records import (
    ApiKeyRecord,
    DatasetRecord,
    IdempotencyRecord,
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
    utcnow,
)

__all__ = [
    "ApiKeyRecord",
    "ApiKeyRepository",
    "Database",
    "DatasetRecord",
    "DatasetRepository",
    "IdempotencyRecord",
    "IdempotencyRepository",
    "SchemaState",
    "StudyRecord",
    "StudyRepository",
    "TaskRecord",
    "TaskRepository",
    "TenantRecord",
    "TenantRepository",
    "TrialRecord",
    "TrialRepository",
    "engine_kwargs_for",
    "head_revision",
    "make_engine",
    "schema_state",
    "upgrade",
    "utcnow",
]
