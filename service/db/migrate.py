"""Alembic, configured in code: upgrade, downgrade, and "is the schema at head?".

The migration scripts live in ``migrations/`` at the top of the source tree. Our revisions are
recorded in their own version table (:data:`VERSION_TABLE`) and only ``ws_*`` tables are ever
compared or migrated, so Optuna's tables and its ``alembic_version`` table in the same database are
left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from service.db.engine import engine_kwargs_for
from service.db.models import TABLE_PREFIX

__all__ = [
    "MIGRATIONS_DIR",
    "VERSION_TABLE",
    "SchemaState",
    "alembic_config",
    "current_revision",
    "downgrade",
    "head_revision",
    "include_name",
    "schema_state",
    "upgrade",
]

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
VERSION_TABLE = "warmstart_alembic_version"


def include_name(name: str | None, type_: str, _parent_names: object) -> bool:
    """Alembic filter: only the service's own (``ws_``-prefixed) tables exist for our migrations."""
    if type_ == "table":
        return name is not None and name.startswith(TABLE_PREFIX)
    return True


def alembic_config(url: str, engine: Engine | None = None) -> Config:
    """An Alembic config for ``url`` built in code (no ``alembic.ini`` needed).

    When ``engine`` is given, migrations run on it instead of a new engine.
    """
    if not (MIGRATIONS_DIR / "env.py").is_file():
        raise FileNotFoundError(
            f"migration scripts not found at {MIGRATIONS_DIR}; run from a source checkout"
        )
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def upgrade(url: str, revision: str = "head", engine: Engine | None = None) -> None:
    """Migrate the service tables up to ``revision``, and create Optuna's tables if missing.

    Optuna creates its schema on the first ``RDBStorage`` of a database; left to that, the API
    process and the workers of a fresh database race to create it and the loser's request fails
    ("table trials already exists", seen under load). Creating it here, once, before any of them
    starts (``serve`` and ``db upgrade`` migrate first), leaves them nothing to create.
    """
    command.upgrade(alembic_config(url, engine), revision)
    _create_optuna_schema(url)


def _create_optuna_schema(url: str) -> None:
    import optuna

    storage = optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs_for(url))
    storage.engine.dispose()


def downgrade(url: str, revision: str, engine: Engine | None = None) -> None:
    """Migrate the service tables down to ``revision`` (``"base"`` drops them all)."""
    command.downgrade(alembic_config(url, engine), revision)


def head_revision() -> str | None:
    """The newest revision of the migration scripts."""
    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None when it was never migrated)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


@dataclass(frozen=True)
class SchemaState:
    """Where the database stands relative to the migration scripts."""

    current: str | None
    head: str | None

    @property
    def at_head(self) -> bool:
        """True when the database is fully migrated."""
        return self.current is not None and self.current == self.head


def schema_state(engine: Engine) -> SchemaState:
    """The current and head revisions (SQLAlchemy errors when the database is unreachable)."""
    return SchemaState(current_revision(engine), head_revision())
