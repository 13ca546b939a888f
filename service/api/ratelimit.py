"""Per-key rate limits: an in-process token bucket for each API key and kind of request.

The buckets live in the API process (on ``app.state``), so the limit holds per process: with
several API processes behind a balancer each allows the configured rate. Requests of the local
default tenant (loopback, no key) are not limited.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from service.config import Settings
from service.errors import RateLimitedError

__all__ = ["RateLimits", "TokenBucketLimiter"]


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBucketLimiter:
    """``burst`` requests at once, refilled at ``per_minute``; ``per_minute`` 0 = unlimited."""

    def __init__(
        self,
        *,
        kind: str,
        per_minute: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.kind = kind
        self.per_second = per_minute / 60.0
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> None:
        """Spend one token of ``key``'s bucket.

        Raises:
            RateLimitedError: the bucket is empty; ``retry_after_s`` says when a token is back.
        """
        if self.per_second <= 0:
            return
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(tokens=float(self.burst), updated=now)
            bucket.tokens = min(
                float(self.burst), bucket.tokens + (now - bucket.updated) * self.per_second
            )
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return
            wait = (1.0 - bucket.tokens) / self.per_second
        raise RateLimitedError(
            f"rate limit of {self.per_second * 60:g} {self.kind} per minute for this API key "
            f"(burst {self.burst}) exceeded; retry in {math.ceil(wait)} s",
            retry_after_s=max(1, math.ceil(wait)),
        )


class RateLimits:
    """The limiters of one API process, built from the settings."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self.uploads = TokenBucketLimiter(
            kind="uploads",
            per_minute=settings.upload_rate_per_minute,
            burst=settings.upload_burst,
            clock=clock,
        )
        self.studies = TokenBucketLimiter(
            kind="study creations",
            per_minute=settings.study_rate_per_minute,
            burst=settings.study_burst,
            clock=clock,
        )
