"""Migrations: upgrade -> downgrade -> upgrade on the test database, no drift, Optuna left alone."""

from __future__ import annotations

import optuna
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from service.db import migrate
from service.db.engine import make_engine
from service.db.models import Base

SERVICE_TABLES = {
    "ws_datasets",
    "ws_tasks",
    "ws_studies",
    "ws_trials",
    "ws_tenants",
    "ws_api_keys",
    "ws_idempotency_keys",
    "ws_history_studies",
    "ws_history_trials",
    "ws_metamodel_versions",
    "ws_refit_state",
}


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


def _columns(url: str, table: str) -> set[str]:
    engine = make_engine(url)
    try:
        return {c["name"] for c in sa.inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def test_each_revision_downgrades_one_step(empty_database_url: str) -> None:
    url = empty_database_url
    migrate.upgrade(url)
    migrate.downgrade(url, "-1")  # 0006 -> 0005: the steered warm start's counter gone
    assert "n_warm_enqueued" not in _columns(url, "ws_studies")
    migrate.downgrade(url, "-1")  # 0005 -> 0004: history and meta-model versions gone
    tables = _tables(url)
    assert not {"ws_history_studies", "ws_history_trials", "ws_metamodel_versions"} & tables
    assert "ws_refit_state" not in tables and "ws_idempotency_keys" in tables
    migrate.downgrade(url, "-1")  # 0004 -> 0003: idempotency keys gone
    assert "ws_idempotency_keys" not in _tables(url) and "ws_api_keys" in _tables(url)
    migrate.downgrade(url, "-1")  # 0003 -> 0002: tenants gone, rows unowned again
    assert "ws_tenants" not in _tables(url) and "ws_studies" in _tables(url)
    assert "tenant_id" not in _columns(url, "ws_trials")
    migrate.downgrade(url, "-1")  # 0002 -> 0001
    assert "ws_studies" not in _tables(url) and "ws_tasks" in _tables(url)
    migrate.upgrade(url)


def test_existing_rows_go_to_the_local_tenant(empty_database_url: str) -> None:
    url = empty_database_url
    migrate.upgrade(url, "0002")
    engine = make_engine(url)
    row = (
        "INSERT INTO ws_datasets (sha256, name, file_format, size_bytes, n_rows, n_columns, "
        "columns, created_at) VALUES (:sha, 'd', 'csv', 1, 1, 1, '[]', '2025-01-01 00:00:00')"
    )
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(row), {"sha": "a" * 64})
        migrate.upgrade(url)
        with engine.begin() as connection:
            owners = connection.execute(
                sa.text(
                    "SELECT d.tenant_id, t.name FROM ws_datasets d "
                    "JOIN ws_tenants t ON t.id = d.tenant_id"
                )
            ).all()
            assert [tuple(r) for r in owners] == [(1, "local")]
            # Per-tenant content: another tenant may now store the same bytes.
            connection.execute(
                sa.text(
                    "INSERT INTO ws_tenants (name, created_at) VALUES ('b', '2025-01-01 00:00:00')"
                )
            )
            other = connection.scalar(sa.text("SELECT id FROM ws_tenants WHERE name = 'b'"))
            connection.execute(
                sa.text(
                    row.replace("(sha256,", "(tenant_id, sha256,").replace("(:sha,", "(:t, :sha,")
                ),
                {"sha": "a" * 64, "t": other},
            )
        with pytest.raises(RuntimeError, match="more than one tenant"):
            migrate.downgrade(url, "0002")
        with engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM ws_datasets WHERE tenant_id <> 1"))
        migrate.downgrade(url, "0002")
        assert "tenant_id" not in _columns(url, "ws_datasets")
    finally:
        engine.dispose()


def test_studies_from_before_the_steered_warm_start_are_not_steered(
    empty_database_url: str,
) -> None:
    """0006: a study created with its whole warm start enqueued counts it all as enqueued."""
    url = empty_database_url
    migrate.upgrade(url, "0005")
    engine = make_engine(url)
    created = "'2025-01-01 00:00:00'"
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO ws_datasets (tenant_id, sha256, name, file_format, size_bytes, "
                    f"n_rows, n_columns, columns, created_at) VALUES (1, :sha, 'd', 'csv', 1, 1, "
                    f"1, '[]', {created})"
                ),
                {"sha": "b" * 64},
            )
            dataset = connection.scalar(sa.text("SELECT id FROM ws_datasets"))
            connection.execute(
                sa.text(
                    "INSERT INTO ws_tasks (tenant_id, dataset_id, target, task_type, metric, "
                    f"metafeatures, created_at) VALUES (1, :d, 'y', 'classification', "
                    f"'balanced_accuracy', '{{}}', {created})"
                ),
                {"d": dataset},
            )
            task = connection.scalar(sa.text("SELECT id FROM ws_tasks"))
            for name, k in (("old-a", 3), ("old-b", 0)):
                connection.execute(
                    sa.text(
                        "INSERT INTO ws_studies (tenant_id, task_id, status, n_trials, "
                        "warm_start_k, optuna_study_name, learners, warm_start, n_reserved, "
                        f"n_finished, n_workers, created_at) VALUES (1, :t, 'queued', 5, :k, "
                        f":n, '[]', '[]', 0, 0, 0, {created})"
                    ),
                    {"t": task, "k": k, "n": name},
                )
            # A trial points at its study: the upgrade must not rebuild ws_studies under it
            # (SQLite enforces the foreign key).
            study = connection.scalar(sa.text("SELECT min(id) FROM ws_studies"))
            connection.execute(
                sa.text(
                    "INSERT INTO ws_trials (tenant_id, study_id, number, source, learner, params, "
                    f"state, score, started_at) VALUES (1, :s, 0, 'warm_start', 'knn', '{{}}', "
                    f"'complete', 0.5, {created})"
                ),
                {"s": study},
            )
        migrate.upgrade(url)
        with engine.begin() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT optuna_study_name, warm_start_k, n_warm_enqueued FROM ws_studies "
                    "ORDER BY optuna_study_name"
                )
            ).all()
        assert [tuple(r) for r in rows] == [("old-a", 3, 3), ("old-b", 0, 0)]
        migrate.downgrade(url, "0005")  # and back, with the rows in place
        assert "n_warm_enqueued" not in _columns(url, "ws_studies")
        with engine.begin() as connection:
            assert connection.scalar(sa.text("SELECT count(*) FROM ws_trials")) == 1
    finally:
        engine.dispose()


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


def test_upgrade_creates_optunas_tables_so_no_process_races_to_create_them(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    migrate.upgrade(url)
    assert {"studies", "trials", "trial_heartbeats", "alembic_version"} <= _tables(url)
    # What the API process and the workers then do at once: open an Optuna storage. With the
    # schema in place it issues no CREATE TABLE that could lose a race to another process.
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(statement)

    sa.event.listen(sa.Engine, "before_cursor_execute", record)
    try:
        optuna.storages.RDBStorage(url).engine.dispose()
    finally:
        sa.event.remove(sa.Engine, "before_cursor_execute", record)
    assert statements  # it did look at the database
    assert not [s for s in statements if "CREATE TABLE" in s.upper()]


def test_unmigrated_database_reports_no_revision(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        state = migrate.schema_state(engine)
    finally:
        engine.dispose()
    assert state.current is None and not state.at_head
