"""Alembic environment of the service tables.

Configured in code by :mod:`service.db.migrate` (no ``alembic.ini``): our own version table, and an
``include_name`` filter so Optuna's tables (same database) are never compared, created or dropped.
SQLite gets batch mode so column changes work there too.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from service.db.engine import make_engine
from service.db.migrate import VERSION_TABLE, include_name
from service.db.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    """Emit SQL to stdout (``--sql``) without a database connection."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        include_name=include_name,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate through the engine given by the caller, or one made from the configured URL."""
    engine: Engine | None = config.attributes.get("engine")
    owned = engine is None
    if engine is None:
        engine = make_engine(str(config.get_main_option("sqlalchemy.url")))
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                version_table=VERSION_TABLE,
                include_name=include_name,
                render_as_batch=connection.dialect.name == "sqlite",
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        if owned:
            engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
