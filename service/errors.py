"""The exception tree of the service.

Operations raise these (or :mod:`metaknowledge`'s errors); ``service/api/errors.py`` maps both trees
to HTTP status codes in one table and the CLI prints their message on one line. The message is
written for the caller: it names the problem and, where possible, the fix.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "ConflictError",
    "DatabaseNotReadyError",
    "DatabaseUnavailableError",
    "InvalidRequestError",
    "InvalidTableError",
    "InvalidUploadError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitedError",
    "ServiceError",
    "ServiceUnavailableError",
    "UnsupportedMediaTypeError",
]


class ServiceError(Exception):
    """Base class of every error raised on purpose by :mod:`service`."""

    #: HTTP headers the API sends with this error (``WWW-Authenticate``, ``Retry-After``).
    headers: dict[str, str] | None = None


class AuthenticationError(ServiceError):
    """No API key, or an unknown, malformed or revoked one."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.headers = {"WWW-Authenticate": "Bearer"}


class PermissionDeniedError(ServiceError):
    """A valid API key without the scope the request needs."""


class RateLimitedError(ServiceError):
    """An API key sent more requests of one kind than its rate limit allows."""

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.headers = {"Retry-After": str(retry_after_s)}


class NotFoundError(ServiceError):
    """A dataset, task or study id that does not exist."""


class ConflictError(ServiceError):
    """The request is valid but conflicts with the current state (e.g. cancel a finished study)."""


class InvalidRequestError(ServiceError, ValueError):
    """The caller's input cannot be used (unknown target column, one-class target, ...)."""


class InvalidUploadError(InvalidRequestError):
    """An uploaded file that cannot be read as a table (empty, not UTF-8, malformed, 1 column)."""


class InvalidTableError(InvalidRequestError):
    """A readable upload that cannot be a dataset as it is (duplicate or empty column names)."""


class UnsupportedMediaTypeError(InvalidRequestError):
    """An uploaded file that is not CSV, Parquet or ARFF."""


class PayloadTooLargeError(InvalidRequestError):
    """An upload over a limit: ``max_upload_bytes`` (also once decompressed), rows or columns."""


class ServiceUnavailableError(ServiceError):
    """A part the request needs is not available (e.g. no meta-model was loaded)."""


class DatabaseNotReadyError(ServiceError):
    """The database is unreachable or its schema is not at the migrations' head."""


class DatabaseUnavailableError(DatabaseNotReadyError):
    """The database refused or dropped the connection while a request was handled (it is down or
    restarting): the transaction in progress was rolled back; retry after ``Retry-After`` seconds
    (with the same ``Idempotency-Key`` for a create)."""

    def __init__(self, message: str, *, retry_after_s: int = 5) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.headers = {"Retry-After": str(retry_after_s)}
