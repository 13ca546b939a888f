"""``warmstart kb refit`` and ``warmstart kb versions``: the meta-model versions of the service.

Both work on the configured database (``WARMSTART_DATABASE_URL``, default the embedded one under
``WARMSTART_HOME``) and its home directory, with no server running; running servers load a new
version within ``WARMSTART_METAMODEL_POLL_S``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from service.config import Settings
from service.context import ServiceContext

__all__ = ["refit_command", "versions_command"]

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@contextmanager
def _context() -> Iterator[ServiceContext]:
    from service.app import prepare_database

    ctx = ServiceContext(Settings())
    try:
        prepare_database(ctx)
        yield ctx
    finally:
        ctx.close()


def _rows(counts: dict[str, Any]) -> str:
    return ", ".join(f"{source} {c['datasets']}/{c['runs']}" for source, c in counts.items())


def refit_command(as_json: JsonOption = False) -> None:
    """Refit the meta-model on the bundled snapshot, ingested snapshots and the service's own
    history; store each scope (public, each tenant with history) that changed as a new version.

    Prints the versions with their rows by source (datasets/runs). Exits 1 if another refit is
    running or a knowledge source cannot be read.
    """
    from service.operations.refit import refit

    with _context() as ctx:
        report = refit(ctx, trigger="cli")
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
        return
    lines = [
        f"refit in {report.duration_s:.1f} s: {report.history_studies} studies in the "
        f"history ({report.added_to_history} added now)",
        f"{'version':<8} {'scope':<20} {'task type':<15} {'status':<10} "
        "rows by source (datasets/runs)",
    ]
    for v in report.versions:
        scope = "public" if v.tenant_id is None else f"tenant {v.tenant}"
        line = f"{v.label:<8} {scope:<20} {v.task_type:<15} {v.status:<10} "
        line += _rows(v.rows_by_source)
        if v.history is not None:
            h = v.history
            line += (
                f" (history: {h['studies']} studies, {h['runs']} trials: {h['exact']} exact, "
                f"{h['nearest']} nearest, {sum(h['skipped'].values())} skipped)"
            )
        lines.append(line)
    if not report.versions:
        lines.append("no knowledge base to refit")
    typer.echo("\n".join(lines))


def versions_command(as_json: JsonOption = False) -> None:
    """List the stored meta-model versions, oldest first; ``served`` marks each scope's newest
    (what the service answers with)."""
    from service.db import MetamodelVersionRepository

    with _context() as ctx, ctx.db.session() as session:
        versions = MetamodelVersionRepository(session).all()
    newest: dict[tuple[int | None, str], int] = {}
    for v in versions:
        newest[(v.tenant_id, v.task_type)] = v.id
    items = [
        {
            "version": v.label,
            "version_id": v.id,
            "scope": "public" if v.tenant_id is None else "tenant",
            "tenant": v.tenant_name,
            "task_type": v.task_type,
            "served": newest[(v.tenant_id, v.task_type)] == v.id,
            "base_version": None if v.base_version_id is None else f"v{v.base_version_id}",
            "created_at": v.created_at.isoformat(),
            "trigger": v.trigger,
            "knowledge_base": v.kb_version,
            "rows_by_source": v.counts.get("rows_by_source", {}),
            "history_studies": v.n_history_studies,
            "artifact": v.artifact,
            "artifact_sha256": v.artifact_sha256,
        }
        for v in versions
    ]
    if as_json:
        typer.echo(json.dumps({"items": items, "count": len(items)}, indent=2))
        return
    if not items:
        typer.echo("no stored meta-model versions yet (run `warmstart kb refit`)")
        return
    lines = [
        f"{'version':<8} {'scope':<20} {'task type':<15} {'created':<20} {'trigger':<8} "
        "rows by source (datasets/runs)"
    ]
    for item in items:
        scope = "public" if item["tenant"] is None else f"tenant {item['tenant']}"
        mark = "*" if item["served"] else " "
        lines.append(
            f"{item['version'] + mark:<8} {scope:<20} {item['task_type']:<15} "
            f"{item['created_at'][:19]:<20} {item['trigger']:<8} {_rows(item['rows_by_source'])}"
        )
    lines.append("* served (the newest of its scope)")
    typer.echo("\n".join(lines))
