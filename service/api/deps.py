"""Dependencies of the routers, as ``Annotated`` aliases: context, caller, scopes, limits."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from service.api.ratelimit import RateLimits
from service.context import ServiceContext
from service.errors import AuthenticationError, PermissionDeniedError
from service.operations.access import Principal, authenticate, local_principal
from service.schemas import MAX_ID

#: A resource id in a path, or filtering a list: 1 to the largest database id (else 422).
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
#: How many items of a list to skip.
OffsetQuery = Annotated[int, Query(ge=0, le=MAX_ID)]

__all__ = [
    "ContextDep",
    "IdPath",
    "IdQuery",
    "OffsetQuery",
    "PrincipalDep",
    "RateLimitsDep",
    "ReaderDep",
    "WriterDep",
    "get_context",
    "get_principal",
    "require_scope",
]

_bearer = HTTPBearer(auto_error=False, description="an API key: `warmstart keys create`")


# The dependencies are ``async`` so that FastAPI runs them on the event loop: a sync dependency
# costs a thread hop per request (a quarter of the API's CPU per recommendation at 50 clients,
# py-spy on benchmarks/service_latency.py). Those that touch the database hand that part to the
# thread pool themselves.


async def get_context(request: Request) -> ServiceContext:
    """The app's :class:`ServiceContext` (set up by the lifespan)."""
    context: ServiceContext = request.app.state.context
    return context


ContextDep = Annotated[ServiceContext, Depends(get_context)]


async def get_principal(
    ctx: ContextDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Who is asking: the tenant of the presented key, or the local default tenant.

    Without a key, requests act as the tenant ``local`` unless the settings require keys
    (non-loopback host or ``WARMSTART_AUTH=required``). A presented key is always checked.

    Raises:
        AuthenticationError: a key is required but missing, or the key is invalid or revoked.
    """
    if credentials is None:
        if ctx.settings.auth_required:
            raise AuthenticationError(
                "an API key is required: send `Authorization: Bearer <key>` "
                "(create one with `warmstart keys create --tenant NAME`)"
            )
        if ctx.local_tenant_resolved:
            return local_principal(ctx)
        return await run_in_threadpool(local_principal, ctx)
    return await run_in_threadpool(authenticate, ctx, credentials.credentials)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_scope(scope: str) -> object:
    """A dependency returning the caller if its key has ``scope`` (403 otherwise)."""

    async def check(principal: PrincipalDep) -> Principal:
        if scope not in principal.scopes:
            raise PermissionDeniedError(
                f"this API key (scopes {sorted(principal.scopes)}) lacks the {scope!r} scope"
            )
        return principal

    return Depends(check)


ReaderDep = Annotated[Principal, require_scope("read")]
WriterDep = Annotated[Principal, require_scope("write")]


async def get_rate_limits(request: Request) -> RateLimits:
    """The rate limiters of this API process."""
    limits: RateLimits = request.app.state.rate_limits
    return limits


RateLimitsDep = Annotated[RateLimits, Depends(get_rate_limits)]
