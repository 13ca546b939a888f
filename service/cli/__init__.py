"""The ``warmstart`` command.

Each command group lives in its own module and is registered here. Every command exits with code 0
on success and prints a one-line reason with a non-zero code on failure (never a traceback): errors
of the library and of the service are translated in :func:`main`.
"""

from __future__ import annotations

import os
import sys

import typer

from metaknowledge.exceptions import MetaknowledgeError
from service.cli import db, kb, keys, server, tasks
from service.errors import ServiceError

app = typer.Typer(
    name="warmstart",
    help="Hyperparameter optimisation warm-started by meta-learning.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(kb.app, name="kb")
app.add_typer(db.app, name="db")
app.add_typer(keys.app, name="keys")
app.command()(server.serve)
app.command()(server.worker)
app.command()(tasks.recommend)
app.command()(tasks.tune)
app.command()(tasks.similar)


def main() -> None:
    """Console entry point.

    The app runs in click's standalone mode, which prints usage errors itself (exit 2); known
    library errors become ``error: <reason>`` with exit 1; anything else is an internal error,
    reported in one line with exit 2 (``WARMSTART_DEBUG=1`` shows the traceback).
    """
    try:
        app()
    except (MetaknowledgeError, ServiceError) as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(1)
    except Exception as e:
        if os.environ.get("WARMSTART_DEBUG"):
            raise
        typer.echo(
            f"internal error: {type(e).__name__}: {e} (set WARMSTART_DEBUG=1 for details)",
            err=True,
        )
        sys.exit(2)


__all__ = ["app", "main"]
