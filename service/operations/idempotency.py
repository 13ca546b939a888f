"""Idempotent create requests: remember the response given to an ``Idempotency-Key``.

The first request with a key reserves it (one row, unique per tenant and key) before doing any
work; a retry with the same key and the same request gets the remembered response and creates
nothing; the same key with a different request is refused. A request that fails forgets its key,
so retrying it runs it again. Because the rows are in the database, this holds across restarts and
across API processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from service.context import ServiceContext
from service.db import IdempotencyRepository, utcnow
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
    """Remember the response of the request that holds the reservation."""
    with ctx.db.session() as session:
        IdempotencyRepository(session).complete(
            reservation_id, status_code=status_code, response=body
        )


def release(ctx: ServiceContext, reservation_id: int) -> None:
    """Forget a reservation (its request failed; a retry runs again)."""
    with ctx.db.session() as session:
        IdempotencyRepository(session).release(reservation_id)
