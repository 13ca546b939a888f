"""Idempotent create requests: remember the response given to an ``Idempotency-Key``.

The first request with a key reserves it (one row, unique per tenant and key) before doing any
work; a retry with the same key and the same request gets the remembered response and creates
nothing; the same key with a different request is refused. A request that fails forgets its key,
so retrying it runs it again. Because the rows are in the database, this holds across restarts and
across API processes.

When the database goes away between the reservation and its outcome, the outcome (release or
response) is kept in the process's ``ctx.idempotency_backlog`` and written by its next
idempotent request, so a client retrying after the outage is not told "still being handled"
until :data:`IN_FLIGHT_TIMEOUT`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from service.context import ServiceContext
from service.db import IdempotencyRepository, utcnow
from service.db.engine import is_unavailable_error
from service.errors import ConflictError, InvalidRequestError

__all__ = ["IN_FLIGHT_TIMEOUT", "MAX_KEY_LENGTH", "Replay", "begin", "complete", "release"]

MAX_KEY_LENGTH = 255
#: A reservation older than this without a response belongs to a request whose process died; a
#: retry may take it over.
IN_FLIGHT_TIMEOUT = timedelta(minutes=10)


@dataclass(frozen=True)
class Replay:
    """The remembered response of an earlier request with the same key."""

    status_code: int
    body: Any


def begin(ctx: ServiceContext, tenant_id: int, key: str, fingerprint: str) -> Replay | int:
    """Reserve ``key`` for this request (returns the reservation id) or return its replay.

    Raises:
        InvalidRequestError: an empty or too long key, or a key used before for another request.
        ConflictError: the first request with this key is still being handled.
    """
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidRequestError(
            f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} printable characters"
        )
    if ctx.idempotency_backlog:
        _write_backlog(ctx)
    for _ in range(3):
        with ctx.db.session() as session:
            repo = IdempotencyRepository(session)
            existing = repo.get(tenant_id, key)
            if existing is not None:
                if existing.fingerprint != fingerprint:
                    raise InvalidRequestError(
                        f"Idempotency-Key {key!r} was already used for a different request "
                        "(other endpoint or body); use a new key for a new request"
                    )
                if existing.status_code is not None:
                    return Replay(existing.status_code, existing.response)
                if utcnow() - existing.created_at < IN_FLIGHT_TIMEOUT:
                    raise ConflictError(
                        f"a request with Idempotency-Key {key!r} is still being handled; "
                        "retry later"
                    )
                repo.release(existing.id)  # abandoned by a process that died: take it over
                continue
        try:
            with ctx.db.session() as session:
                return IdempotencyRepository(session).reserve(tenant_id, key, fingerprint).id
        except IntegrityError:
            continue  # reserved concurrently: look again
    raise ConflictError(f"Idempotency-Key {key!r} is contended; retry later")


def complete(ctx: ServiceContext, reservation_id: int, *, status_code: int, body: Any) -> None:
    """Remember the response of the request that holds the reservation (later, if the database
    is unavailable now: the work is done, so the request still succeeds)."""
    try:
        _write(ctx, reservation_id, (status_code, body))
    except Exception as e:
        if not is_unavailable_error(e):
            raise
        ctx.idempotency_backlog[reservation_id] = (status_code, body)


def release(ctx: ServiceContext, reservation_id: int) -> None:
    """Forget a reservation (its request failed; a retry runs again).

    Raises:
        Exception: the database's error if it is unavailable (the release is then kept for
            later; the request fails with it).
    """
    try:
        _write(ctx, reservation_id, None)
    except Exception as e:
        if is_unavailable_error(e):
            ctx.idempotency_backlog[reservation_id] = None
        raise


def _write(ctx: ServiceContext, reservation_id: int, outcome: tuple[int, Any] | None) -> None:
    with ctx.db.session() as session:
        if outcome is None:
            IdempotencyRepository(session).release(reservation_id)
        else:
            IdempotencyRepository(session).complete(
                reservation_id, status_code=outcome[0], response=outcome[1]
            )


def _write_backlog(ctx: ServiceContext) -> None:
    """Write the outcomes kept while the database was unavailable (stop at the first failure)."""
    for reservation_id, outcome in list(ctx.idempotency_backlog.items()):
        try:
            _write(ctx, reservation_id, outcome)
        except Exception as e:
            if is_unavailable_error(e):
                return  # still away: the next request tries again
            raise
        ctx.idempotency_backlog.pop(reservation_id, None)
