"""The FastAPI application factory.

``create_app(settings)`` builds a new app; nothing happens at import time. The lifespan opens the
database, checks (PostgreSQL) or applies (embedded SQLite) the migrations, loads the meta-model onto
``app.state.context`` and closes everything on shutdown.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from service.advisor import Advisor
from service.api import install_error_handlers, v1_router
from service.api.limits import BodySizeLimitMiddleware
from service.api.ratelimit import RateLimits
from service.config import Settings
from service.context import ServiceContext
from service.db import schema_state, upgrade
from service.errors import DatabaseNotReadyError

__all__ = ["MULTIPART_OVERHEAD_BYTES", "create_app", "prepare_database"]

logger = logging.getLogger(__name__)

#: Room for multipart headers and form fields on top of the file size limit.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


def prepare_database(ctx: ServiceContext) -> None:
    """Migrate an embedded SQLite database; require a migrated one otherwise.

    Raises:
        DatabaseNotReadyError: the database is unreachable, or not at the migrations' head
            (the message names ``warmstart db upgrade``).
    """
    settings = ctx.settings
    if settings.is_embedded:
        upgrade(ctx.db.url, engine=ctx.db.engine)
        return
    try:
        state = schema_state(ctx.db.engine)
    except Exception as e:
        raise DatabaseNotReadyError(f"cannot reach the database: {type(e).__name__}: {e}") from e
    if not state.at_head:
        raise DatabaseNotReadyError(
            f"the database schema is at revision {state.current or 'none (unmigrated)'}, "
            f"the code needs {state.head}: run `warmstart db upgrade` first"
        )


def create_app(
    settings: Settings | None = None,
    *,
    advisor: Advisor | None = None,
    load_metamodel: bool = True,
) -> FastAPI:
    """A new API app.

    ``advisor`` injects an already fitted meta-model (tests, benchmarks); otherwise the lifespan
    loads the snapshot named by the settings unless ``load_metamodel`` is False.
    """
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx = ServiceContext(settings)
        try:
            prepare_database(ctx)
            if advisor is not None:
                ctx.set_advisor(advisor)
                ctx.refresh_metamodels()
            elif load_metamodel:
                ctx.load_advisor()
            if advisor is not None or load_metamodel:
                ctx.watch_metamodels()  # new versions from `kb refit` or a worker's refit
            app.state.context = ctx
            if settings.freeze_gc:
                # The meta-model, knowledge base and imports are millions of long-lived objects:
                # out of the collector's full passes, which were the latency tail (p99 at 50
                # clients 153 -> 60 ms, benchmarks/service_latency.py).
                gc.collect()
                gc.freeze()
            yield
        finally:
            ctx.close()

    app = FastAPI(
        title="warmstart",
        summary="Hyperparameter optimisation warm-started by meta-learning",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.rate_limits = RateLimits(settings)
    install_error_handlers(app)
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_body_bytes=settings.max_upload_bytes + MULTIPART_OVERHEAD_BYTES,
        detail=f"the request is larger than the upload limit of {settings.max_upload_bytes} "
        "bytes (WARMSTART_MAX_UPLOAD_BYTES)",
    )
    app.include_router(v1_router())
    return app
