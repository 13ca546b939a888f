"""``warmstart db``: migrate the service's tables (Optuna's tables are left to Optuna)."""

from __future__ import annotations

from typing import Annotated

import typer

from service.config import Settings
from service.db import make_engine, schema_state
from service.db import upgrade as upgrade_schema

DatabaseUrlOpt = Annotated[
    str | None,
    typer.Option(help="SQLAlchemy URL (default: WARMSTART_DATABASE_URL or the embedded SQLite)"),
]

app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)


@app.command()
def upgrade(
    revision: Annotated[str, typer.Option(help="target revision")] = "head",
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Migrate the database to REVISION (default: the newest)."""
    settings = Settings()
    url = database_url or settings.resolved_database_url
    upgrade_schema(url, revision)
    engine = make_engine(url)
    try:
        state = schema_state(engine)
    finally:
        engine.dispose()
    typer.echo(f"database at revision {state.current} (head {state.head})")


@app.command()
def current(database_url: DatabaseUrlOpt = None) -> None:
    """Print the database's revision and the newest one; exit 1 if they differ."""
    url = database_url or Settings().resolved_database_url
    engine = make_engine(url)
    try:
        state = schema_state(engine)
    finally:
        engine.dispose()
    typer.echo(f"current: {state.current or 'none'}  head: {state.head}")
    if not state.at_head:
        raise typer.Exit(1)
