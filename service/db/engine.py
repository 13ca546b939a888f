"""Engines and sessions: the one place that knows how to connect to the database.

SQLite (the embedded default) is configured for several processes (API + local workers): WAL
journal, a busy timeout instead of immediate "database is locked" errors, and enforced foreign keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["SQLITE_BUSY_TIMEOUT_S", "Database", "engine_kwargs_for", "make_engine"]

SQLITE_BUSY_TIMEOUT_S = 60.0


def make_engine(url: str) -> Engine:
    """An engine for ``url``; for SQLite the parent directory is created and pragmas are set."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def engine_kwargs_for(url: str) -> dict[str, Any]:
    """Engine keyword arguments for other libraries' engines on the same URL (Optuna's storage)."""
    if make_url(url).get_backend_name() == "sqlite":
        return {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S}}
    return {"pool_pre_ping": True}


class Database:
    """An engine and its session factory.

    ``session()`` is a unit of work: it commits when the block ends normally and rolls back (and
    re-raises) when it raises.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(bind=self.engine, expire_on_commit=False)

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql`` (SQLAlchemy's backend name)."""
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success, rolled back on error."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        """Close the pooled connections (call when the app or worker stops)."""
        self.engine.dispose()
