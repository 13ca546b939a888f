"""Migrations: upgrade -> downgrade -> upgrade on the test database, no drift, Optuna left alone."""

from __future__ import annotations

import optuna
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from service.db import migrate
from service.db.engine import make_engine
from service.db.models import Base

SERVICE_TABLES = {"ws_datasets", "ws_tasks", "ws_studies", "ws_trials"}


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(empty_database_url: str) -> None:
    url = empty_database_url
    migrate.upgrade(url)
    assert _tables(url) >= SERVICE_TABLES
    migrate.downgrade(url, "base")
    assert not SERVICE_TABLES & _tables(url)
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        state = migrate.schema_state(engine)
    finally:
        engine.dispose()
    assert state.at_head and state.current == migrate.head_revision()


def test_each_revision_downgrades_one_step(empty_database_url: str) -> None:
    url = empty_database_url
    migrate.upgrade(url)
    migrate.downgrade(url, "-1")
    assert "ws_studies" not in _tables(url) and "ws_tasks" in _tables(url)
    migrate.upgrade(url)


def test_autogenerate_finds_no_drift(empty_database_url: str) -> None:
    url = empty_database_url
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "version_table": migrate.VERSION_TABLE,
                    "include_name": migrate.include_name,
                    "compare_type": True,
                },
            )
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_optuna_tables_coexist_and_are_never_touched(empty_database_url: str) -> None:
    url = empty_database_url
    storage = optuna.storages.RDBStorage(url)
    optuna.create_study(storage=storage, study_name="keep-me")
    storage.engine.dispose()
    migrate.upgrade(url)
    migrate.downgrade(url, "base")
    tables = _tables(url)
    assert {"studies", "trials", "alembic_version"} <= tables
    assert migrate.VERSION_TABLE in tables
    migrate.upgrade(url)
    assert optuna.load_study(study_name="keep-me", storage=url).study_name == "keep-me"


def test_unmigrated_database_reports_no_revision(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        state = migrate.schema_state(engine)
    finally:
        engine.dispose()
    assert state.current is None and not state.at_head
