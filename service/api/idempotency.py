"""The ``Idempotency-Key`` header of create requests (see :mod:`service.operations.idempotency`).

A request is identified by its method, path, query and *parsed* body: JSON is compared after
canonical re-encoding and multipart forms by their fields and the sha256 of each file, so a client
that rebuilds a retried upload (with a new multipart boundary) still matches.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.datastructures import UploadFile

from service.api.deps import ContextDep, PrincipalDep
from service.context import ServiceContext
from service.operations import idempotency
from service.operations.access import Principal

__all__ = ["REPLAYED_HEADER", "Idempotency", "IdempotencyDep"]

REPLAYED_HEADER = "Idempotent-Replayed"
_CHUNK = 1024 * 1024


async def _fingerprint(request: Request) -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.url.path}?{request.url.query}\n".encode())
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        form = await request.form()  # already parsed (and cached) by FastAPI for the endpoint
        for name, value in sorted(form.multi_items(), key=lambda item: item[0]):
            if isinstance(value, UploadFile):
                content = hashlib.sha256()
                await value.seek(0)
                while chunk := await value.read(_CHUNK):
                    content.update(chunk)
                await value.seek(0)
                part = f"file:{value.filename}:{content.hexdigest()}"
            else:
                part = f"field:{value}"
            digest.update(json.dumps([name, part]).encode() + b"\n")
        return digest.hexdigest()
    body = await request.body()
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    digest.update(canonical)
    return digest.hexdigest()


class Idempotency:
    """Answers a create request once per ``Idempotency-Key`` (or every time without one)."""

    def __init__(
        self, ctx: ServiceContext, principal: Principal, key: str | None, fingerprint: str
    ) -> None:
        self.ctx = ctx
        self.principal = principal
        self.key = key
        self.fingerprint = fingerprint

    def respond(self, produce: Callable[[], tuple[BaseModel, int]]) -> JSONResponse:
        """The remembered response of this key, or ``produce()``'s (remembered if it succeeds)."""
        if self.key is None:
            model, status_code = produce()
            return JSONResponse(model.model_dump(mode="json"), status_code=status_code)
        begun = idempotency.begin(self.ctx, self.principal.tenant_id, self.key, self.fingerprint)
        if isinstance(begun, idempotency.Replay):
            return JSONResponse(
                begun.body, status_code=begun.status_code, headers={REPLAYED_HEADER: "true"}
            )
        try:
            model, status_code = produce()
        except BaseException:
            idempotency.release(self.ctx, begun)
            raise
        body: Any = model.model_dump(mode="json")
        idempotency.complete(self.ctx, begun, status_code=status_code, body=body)
        return JSONResponse(body, status_code=status_code)


async def get_idempotency(
    request: Request,
    ctx: ContextDep,
    principal: PrincipalDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            description="retrying with the same key and request returns the first response and "
            "creates nothing twice (keys are per tenant)",
        ),
    ] = None,
) -> Idempotency:
    """The request's :class:`Idempotency` handler."""
    fingerprint = await _fingerprint(request) if idempotency_key is not None else ""
    return Idempotency(ctx, principal, idempotency_key, fingerprint)


IdempotencyDep = Annotated[Idempotency, Depends(get_idempotency)]
