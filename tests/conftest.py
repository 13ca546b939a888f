"""Database fixtures shared by the test suite: one database URL per run.

``WARMSTART_TEST_DATABASE_URL`` names a PostgreSQL server (e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); the suite then creates its own databases
with random names on that server and drops them at the end, so parallel runs (and pytest-xdist
workers) never share state. When it is unset, temporary SQLite files are used. Tests marked
``postgres`` are skipped unless the URL is PostgreSQL.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

# tests/service and tests/metaknowledge would otherwise shadow the real packages as namespace
# packages (pytest puts tests/ on sys.path): the source tree comes first.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

TEST_DATABASE_URL_ENV = "WARMSTART_TEST_DATABASE_URL"
VERSION_TABLES = {"warmstart_alembic_version", "alembic_version", "version_info"}


def _server_url() -> str | None:
    return os.environ.get(TEST_DATABASE_URL_ENV) or None


def is_postgres(url: str | None) -> bool:
    """True when ``url`` names a PostgreSQL database."""
    return url is not None and make_url(url).get_backend_name() == "postgresql"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if is_postgres(_server_url()):
        return
    skip = pytest.mark.skip(reason=f"needs PostgreSQL: set {TEST_DATABASE_URL_ENV}")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def _create_postgres_database(server_url: str) -> str:
    name = f"warmstart_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _drop_postgres_database(server_url: str, url: str) -> None:
    name = make_url(url).database
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def test_server_url() -> str | None:
    """The PostgreSQL server URL of this run, or None for SQLite."""
    return _server_url()


@pytest.fixture
def empty_database_url(tmp_path: Path, test_server_url: str | None) -> Iterator[str]:
    """A brand-new, empty (unmigrated) database for one test."""
    if not is_postgres(test_server_url):
        yield f"sqlite:///{tmp_path}/empty.db"
        return
    assert test_server_url is not None
    url = _create_postgres_database(test_server_url)
    try:
        yield url
    finally:
        _drop_postgres_database(test_server_url, url)


@pytest.fixture(scope="session")
def migrated_database_url(
    tmp_path_factory: pytest.TempPathFactory, test_server_url: str | None
) -> Iterator[str]:
    """A database migrated to head, shared by the tests of one session (or xdist worker)."""
    from service.db.migrate import upgrade

    if is_postgres(test_server_url):
        assert test_server_url is not None
        url = _create_postgres_database(test_server_url)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db')}/warmstart.db"
    upgrade(url)
    try:
        yield url
    finally:
        if is_postgres(test_server_url):
            assert test_server_url is not None
            _drop_postgres_database(test_server_url, url)


def _truncate_all(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        metadata = sa.MetaData()
        metadata.reflect(engine)
        tables = [t for t in metadata.sorted_tables if t.name not in VERSION_TABLES]
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in tables)
                if names:
                    connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in reversed(tables):
                    connection.execute(table.delete())
    finally:
        engine.dispose()


@pytest.fixture
def database_url(migrated_database_url: str) -> Iterator[str]:
    """The session's migrated database, emptied after the test (schema and versions kept)."""
    yield migrated_database_url
    _truncate_all(migrated_database_url)
