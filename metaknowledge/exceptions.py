"""The one exception tree of :mod:`metaknowledge`.

Every error the library raises on purpose derives from :class:`MetaknowledgeError`, so callers (the
service, the CLI) can translate it at their boundary with a single ``except``. Errors caused by the
caller's input also derive from :class:`ValueError`.
"""

from __future__ import annotations

__all__ = [
    "InvalidConfigError",
    "InvalidInputError",
    "MetaknowledgeError",
    "NotFittedError",
    "SnapshotError",
    "SourceError",
    "UnknownLearnerError",
]


class MetaknowledgeError(Exception):
    """Base class of every error raised on purpose by :mod:`metaknowledge`."""


class InvalidInputError(MetaknowledgeError, ValueError):
    """The caller passed data the library cannot work with (the message names the problem)."""


class UnknownLearnerError(InvalidInputError):
    """A learner name that the search space does not define."""


class InvalidConfigError(InvalidInputError):
    """Hyperparameters that lie outside a learner's search space or are not its parameters."""


class NotFittedError(MetaknowledgeError):
    """A model was used before ``fit`` was called."""


class SnapshotError(MetaknowledgeError):
    """A knowledge-base snapshot is missing, corrupt, or of a schema version not supported."""


class SourceError(MetaknowledgeError):
    """A source of meta-knowledge could not be fetched, or did not match its recorded checksum."""
