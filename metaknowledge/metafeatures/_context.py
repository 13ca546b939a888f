"""What one extraction shares between its feature groups: the prepared data and memoised results.

Intermediate results that several groups need (class counts, per-column entropies, the landmarking
sample) are plain functions of the context; :meth:`Context.shared` runs each at most once per
extraction and hands the same result to every later caller. A failing intermediate is not
memoised: each group that needs it fails with the same reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, cast

from metaknowledge.metafeatures._prepare import PreparedData

__all__ = ["Context"]

T = TypeVar("T")


class Context:
    """One extraction's inputs and memo; create a new one per call, never share it."""

    def __init__(self, data: PreparedData, random_state: int) -> None:
        self.data = data
        self.random_state = random_state
        self._memo: dict[Callable[[Context], object], object] = {}

    def shared(self, compute: Callable[[Context], T]) -> T:
        """``compute(self)``, computed on first use and memoised for the rest of the extraction."""
        if compute not in self._memo:
            self._memo[compute] = compute(self)
        return cast(T, self._memo[compute])
