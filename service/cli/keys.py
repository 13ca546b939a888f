"""``warmstart keys``: API keys of tenants (create, list, revoke) on the configured database."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from service.config import Settings

if TYPE_CHECKING:
    from service.context import ServiceContext

app = typer.Typer(help="API keys of tenants (shown once at creation; only hashes are stored).")


def _context() -> ServiceContext:
    from service.app import prepare_database
    from service.context import ServiceContext

    ctx = ServiceContext(Settings())
    try:
        prepare_database(ctx)
    except BaseException:
        ctx.close()
        raise
    return ctx


@app.command()
def create(
    tenant: Annotated[str, typer.Option(help="tenant name (created if new)")],
    scopes: Annotated[
        str, typer.Option(help="comma-separated: read (GET), write (create, cancel), admin")
    ] = "read,write",
) -> None:
    """Create a key and print it once: store it now, it cannot be shown again."""
    from service.operations.access import create_key, parse_scopes

    wanted = parse_scopes(scopes)
    ctx = _context()
    try:
        created = create_key(ctx, tenant, wanted)
    finally:
        ctx.close()
    typer.echo(created.key)
    typer.echo(
        f"key id {created.record.key_id}, tenant {created.record.tenant_name}, "
        f"scopes {','.join(created.record.scopes)} (the key is not shown again)",
        err=True,
    )


@app.command("list")
def list_(
    tenant: Annotated[str | None, typer.Option(help="only this tenant's keys")] = None,
) -> None:
    """List keys: id, tenant, scopes, created, revoked (never the secret)."""
    from service.operations.access import list_keys

    ctx = _context()
    try:
        records = list_keys(ctx, tenant)
    finally:
        ctx.close()
    typer.echo(f"{'KEY ID':<14}{'TENANT':<20}{'SCOPES':<18}{'CREATED':<22}REVOKED")
    for r in records:
        revoked = r.revoked_at.strftime("%Y-%m-%d %H:%M:%S") if r.revoked_at else "-"
        typer.echo(
            f"{r.key_id:<14}{r.tenant_name:<20}{','.join(r.scopes):<18}"
            f"{r.created_at.strftime('%Y-%m-%d %H:%M:%S'):<22}{revoked}"
        )


@app.command()
def revoke(key_id: Annotated[str, typer.Argument(help="the key id shown by `keys list`")]) -> None:
    """Revoke a key: requests with it get 401 from now on."""
    from service.operations.access import revoke_key

    ctx = _context()
    try:
        revoke_key(ctx, key_id)
    finally:
        ctx.close()
    typer.echo(f"revoked {key_id}")
