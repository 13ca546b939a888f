"""``/v1/health`` and ``/v1/metaknowledge``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from service.api.deps import ContextDep, ReaderDep
from service.db import schema_state
from service.schemas import HealthPublic

router = APIRouter(tags=["system"])


@router.get("/health", response_model=HealthPublic, responses={503: {"model": HealthPublic}})
def health(ctx: ContextDep) -> JSONResponse:
    """200 when the database is reachable and at head and the meta-model is loaded, else 503."""
    database = True
    migrations: dict[str, str | bool | None] = {"current": None, "head": None, "at_head": False}
    try:
        with ctx.db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        state = schema_state(ctx.db.engine)
        migrations = {"current": state.current, "head": state.head, "at_head": state.at_head}
    except SQLAlchemyError:
        database = False
    advisor = ctx.advisor_or_none
    metamodel: dict[str, str | bool | None] = {
        "loaded": advisor is not None,
        "version": advisor.version if advisor is not None else None,
        "error": ctx.advisor_error,
    }
    ok = database and bool(migrations["at_head"]) and advisor is not None
    body = HealthPublic(
        status="ok" if ok else "degraded",
        database=database,
        migrations=migrations,
        metamodel=metamodel,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if ok else 503)


@router.get("/metaknowledge")
def metaknowledge(ctx: ContextDep, _principal: ReaderDep) -> dict[str, Any]:
    """The public knowledge base behind the recommendations: version, counts, sources.

    The same for every tenant (503 if none is loaded). ``/health`` needs no key.
    """
    return ctx.advisor.summary()
