"""Engines and sessions: the one place that knows how to connect to the database.

SQLite (the embedded default) is configured for several processes (API + local workers): WAL
journal, a busy timeout instead of immediate "database is locked" errors, and enforced foreign keys.
Commits are ``synchronous=NORMAL``, the setting SQLite recommends with WAL: a committed
transaction survives the process being killed, but the last ones before an operating-system
crash or power loss may be lost (never corrupting the file). With the default (FULL) every commit
waits for an fsync: Optuna's ask, six suggests and tell took 84 ms instead of 36-46 ms per trial
(median of 40, 2-core machine), most of the service's overhead per trial.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker

__all__ = [
    "SQLITE_BUSY_TIMEOUT_S",
    "Database",
    "configure_sqlite_for_optuna",
    "engine_kwargs_for",
    "is_unavailable_error",
    "make_engine",
]

SQLITE_SYNCHRONOUS = "PRAGMA synchronous=NORMAL"

SQLITE_BUSY_TIMEOUT_S = 60.0

# Connections kept open per process. The API runs sync endpoints on anyio's 40 threads; with
# SQLAlchemy's default (5 kept + 10 overflow) the overflow connections were opened and closed on
# every request under load: 10 % of the API's CPU at 50 clients (py-spy on
# benchmarks/service_latency.py).
# Pools fill lazily, so a worker that needs one connection still opens one.
POOL_SIZE = {"sqlite": 40, "postgresql": 20}
POOL_MAX_OVERFLOW = {"sqlite": 0, "postgresql": 20}


def make_engine(url: str) -> Engine:
    """An engine for ``url``; for SQLite the parent directory is created and pragmas are set."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        backend = parsed.get_backend_name()
        return create_engine(
            url,
            pool_pre_ping=True,
            pool_size=POOL_SIZE.get(backend, 5),
            max_overflow=POOL_MAX_OVERFLOW.get(backend, 10),
        )
    pool: dict[str, int] = {}
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        pool = {"pool_size": POOL_SIZE["sqlite"], "max_overflow": POOL_MAX_OVERFLOW["sqlite"]}
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S}, **pool)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        _wal_pragmas(dbapi_connection, "PRAGMA foreign_keys=ON")

    return engine


def _wal_pragmas(dbapi_connection: Any, *more: str) -> None:
    """WAL journal and ``synchronous=NORMAL`` (both engines on a SQLite file), then ``more``."""
    cursor = dbapi_connection.cursor()
    for pragma in ("PRAGMA journal_mode=WAL", SQLITE_SYNCHRONOUS, *more):
        cursor.execute(pragma)
    cursor.close()


def configure_sqlite_for_optuna(engine: Engine) -> None:
    """Make every transaction of Optuna's ``engine`` take SQLite's write lock when it begins
    (``BEGIN IMMEDIATE``), and its commits ``synchronous=NORMAL`` like ours; nothing for other
    databases.

    Optuna's storage relies on ``SELECT ... FOR UPDATE``: SQLite ignores ``FOR UPDATE``, and
    Python's sqlite3 starts a transaction only at the first write, so a read-check-write such as
    Optuna's "fail this trial if it is still running" is not atomic across processes: two
    workers both read ``RUNNING``, both write ``FAIL`` and both believe they failed it (seen: a
    stale trial retried twice). With the lock taken at ``BEGIN`` the second one waits, then reads
    the first one's write. Connections already open are closed.

    Reads take the lock too: never call Optuna while holding one of our sessions that has
    written (that thread would wait on itself for the busy timeout). The service calls Optuna
    outside its sessions.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        _wal_pragmas(dbapi_connection)  # whichever engine opens the file first sets WAL

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()


def engine_kwargs_for(url: str) -> dict[str, Any]:
    """Engine keyword arguments for other libraries' engines on the same URL (Optuna's storage)."""
    if make_url(url).get_backend_name() == "sqlite":
        return {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S}}
    return {"pool_pre_ping": True}


_SQLITE_TRANSIENT = ("locked", "busy", "unable to open", "disk i/o")


def is_unavailable_error(error: BaseException) -> bool:
    """True when ``error``, or an error it was raised from, says the database cannot be used now.

    That is: the server refused or dropped the connection (it is down or restarting), the pool
    ran out of connections, or SQLite stayed locked past its busy timeout. Optuna re-raises these
    as ``StorageInternalError`` ``from`` the original, hence the walk along the chain. Such errors
    pass by themselves (the pool pre-pings and replaces dead connections); anything else (a bad
    query, a constraint) is a bug or a conflict, not an outage.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, InterfaceError | PoolTimeoutError):
            return True
        if isinstance(current, OperationalError):
            if not isinstance(current.orig, sqlite3.Error):
                return True
            # sqlite3 also reports bad SQL ("no such table") as OperationalError: only these
            # pass with time.
            return any(s in str(current.orig).lower() for s in _SQLITE_TRANSIENT)
        current = current.__cause__ or current.__context__
    return False


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

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A plain connection for read-only Core queries on hot paths (no ORM session: about
        ten times cheaper per query); its transaction is rolled back when the block ends."""
        with self.engine.connect() as connection:
            yield connection

    def dispose(self) -> None:
        """Close the pooled connections (call when the app or worker stops)."""
        self.engine.dispose()
