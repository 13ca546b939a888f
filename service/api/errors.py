"""The one table from exceptions to HTTP status codes, and the handlers that apply it.

Every error response is JSON ``{"detail": "..."}``. Bad input is a 4xx; only bugs are 500s.
Database errors that mean "unavailable right now" (refused or dropped connections, from our
queries or Optuna's: :func:`service.db.engine.is_unavailable_error`) are translated to
:class:`DatabaseUnavailableError` first, so an outage answers 503 with ``Retry-After``; other
database errors stay bugs (500).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from optuna.exceptions import StorageInternalError
from sqlalchemy.exc import SQLAlchemyError

from metaknowledge.exceptions import InvalidInputError, MetaknowledgeError, SnapshotError
from service.db.engine import is_unavailable_error
from service.errors import (
    AuthenticationError,
    ConflictError,
    DatabaseNotReadyError,
    DatabaseUnavailableError,
    InvalidRequestError,
    InvalidUploadError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitedError,
    ServiceError,
    ServiceUnavailableError,
    UnsupportedMediaTypeError,
)
from service.schemas import ErrorPublic

__all__ = [
    "DATABASE_UNAVAILABLE",
    "ERROR_RESPONSES",
    "STATUS_BY_ERROR",
    "install_error_handlers",
    "status_for",
    "translate",
]

logger = logging.getLogger(__name__)

#: Most specific first: the first matching class decides the status.
STATUS_BY_ERROR: tuple[tuple[type[Exception], int], ...] = (
    (AuthenticationError, 401),
    (PermissionDeniedError, 403),
    (NotFoundError, 404),
    (ConflictError, 409),
    (PayloadTooLargeError, 413),
    (UnsupportedMediaTypeError, 415),
    (InvalidUploadError, 400),
    (InvalidRequestError, 422),
    (InvalidInputError, 422),
    (RateLimitedError, 429),
    (ServiceUnavailableError, 503),
    (DatabaseUnavailableError, 503),
    (DatabaseNotReadyError, 503),
    (SnapshotError, 503),
    (ServiceError, 500),
    (MetaknowledgeError, 500),
)


#: The error answers declared in the OpenAPI schema of every route (the fuzz test holds us to it).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorPublic, "description": description}
    for status, description in (
        (400, "unreadable upload (empty, not UTF-8, malformed, broken gzip/Parquet/ARFF)"),
        (401, "missing, unknown or revoked API key"),
        (403, "the API key lacks the scope"),
        (404, "unknown id, or another tenant's"),
        (409, "conflicts with the current state, or a retry while the first is handled"),
        (413, "over an upload limit (bytes, decompressed bytes, rows, columns)"),
        (415, "not CSV, Parquet or ARFF (optionally gzipped)"),
        (422, "invalid request"),
        (429, "rate limit; see Retry-After"),
        (503, "the database or the meta-model is not available"),
    )
}


#: What a caller is told while the database is away (details, such as its address, stay in the log).
DATABASE_UNAVAILABLE = "the database is unavailable (down or restarting): retry in a few seconds"


def translate(error: Exception) -> Exception:
    """``error`` as the table knows it: an "unavailable right now" database error (ours or
    Optuna's) becomes :class:`DatabaseUnavailableError`; anything else is returned as it is."""
    if not isinstance(error, ServiceError) and is_unavailable_error(error):
        return DatabaseUnavailableError(DATABASE_UNAVAILABLE)
    return error


def status_for(error: Exception) -> int:
    """The HTTP status of ``error`` (500 for anything not in the table)."""
    error = translate(error)
    for kind, status in STATUS_BY_ERROR:
        if isinstance(error, kind):
            return status
    return 500


async def _handle(_request: Request, error: Exception) -> JSONResponse:
    answer = translate(error)
    if answer is not error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        logger.warning("database unavailable: %s: %s", type(error).__name__, first_line)
    elif not isinstance(error, ServiceError | MetaknowledgeError):
        raise error  # another database error is a bug: the server's 500 with its traceback
    status = status_for(answer)
    if status >= 500 and answer is error:
        logger.error("%s: %s", type(error).__name__, error)
    headers = answer.headers if isinstance(answer, ServiceError) else None
    return JSONResponse({"detail": str(answer)}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Route the service's and the library's errors through :data:`STATUS_BY_ERROR`, and the
    database's (SQLAlchemy's, and Optuna's storage errors) through :func:`translate`."""
    app.add_exception_handler(ServiceError, _handle)
    app.add_exception_handler(MetaknowledgeError, _handle)
    app.add_exception_handler(SQLAlchemyError, _handle)
    app.add_exception_handler(StorageInternalError, _handle)
