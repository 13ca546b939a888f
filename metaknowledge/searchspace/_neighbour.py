"""Points near a point: the moves of a local search around an incumbent configuration.

The knowledge base is a grid (Oboe's 219 configurations for classification); the best value of a
continuous hyperparameter on a new dataset is usually between its grid points. A search that has
found a good grid point refines it by trying points near it: :func:`neighbour` draws one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from metaknowledge.searchspace._flat import LEARNER_KEY, sample
from metaknowledge.searchspace._params import Dimension, same_choice
from metaknowledge.searchspace._registry import learner_for_task

__all__ = ["NEIGHBOUR_SCALE", "NEIGHBOUR_SWITCH", "neighbour"]

NEIGHBOUR_SCALE = 0.15
"""Standard deviation of a numeric move, as a share of the dimension's (log-)range."""

NEIGHBOUR_SWITCH = 0.15
"""Probability that a categorical dimension takes another of its choices."""


class _Around:
    """A suggester (see :class:`Suggester`) that answers near the dimension ``values`` of one
    learner's point; a dimension the point does not hold (one its move activated) starts from
    that dimension's default."""

    def __init__(
        self,
        learner: str,
        values: Mapping[str, Any],
        dims: Mapping[str, Dimension],
        rng: np.random.Generator,
        scale: float,
        switch: float,
    ) -> None:
        self.learner = learner
        self.values = values
        self.dims = dims
        self.rng = rng
        self.scale = scale
        self.switch = switch

    def _start(self, name: str) -> Any:
        key = name.split(".", 1)[1]
        return self.values.get(key, self.dims[key].default)

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        if name == LEARNER_KEY:
            return self.learner
        current = self._start(name)
        others = [c for c in choices if not same_choice(c, current)]
        if others and self.rng.random() < self.switch:
            return others[int(self.rng.integers(len(others)))]
        return current

    def _move(self, name: str, low: float, high: float, log: bool) -> float:
        start = float(self._start(name))
        if self.scale == 0.0:  # no step: keep the value exactly (the log round trip would not)
            return start
        if log:
            low, high, start = math.log(low), math.log(high), math.log(start)
        if high <= low:
            return math.exp(low) if log else low
        unit = (start - low) / (high - low) + self.rng.normal(0.0, self.scale)
        # Reflect at the ends rather than clip, so a point at a bound does not stay there half
        # the time.
        unit = abs(unit) % 2.0
        unit = 2.0 - unit if unit > 1.0 else unit
        value = low + unit * (high - low)
        return math.exp(value) if log else value

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False) -> float:
        return min(high, max(low, self._move(name, low, high, log)))

    def suggest_int(self, name: str, low: int, high: int, *, log: bool = False) -> int:
        return int(min(high, max(low, round(self._move(name, low, high, log)))))


def neighbour(
    learner: str,
    params: Mapping[str, Any],
    *,
    task_type: str,
    rng: np.random.Generator,
    scale: float = NEIGHBOUR_SCALE,
    switch: float = NEIGHBOUR_SWITCH,
) -> dict[str, Any]:
    """A point of ``learner`` near ``params``: each numeric dimension moved by a normal step of
    ``scale`` times its range (on the log scale for a log-scaled one; reflected at the bounds;
    integers rounded), each categorical one switched to another choice with probability
    ``switch``. Conditional dimensions follow their parents, as in :func:`sample`.

    The result is a canonical point (it may equal ``params``, e.g. for a learner without
    numeric dimensions). ``rng`` makes it reproducible.

    Raises:
        InvalidConfigError, UnknownLearnerError: as :func:`validate_params` for ``params``.
        InvalidInputError: an unknown ``task_type``.
        ValueError: ``scale`` or ``switch`` outside ``[0, 1]``.
    """
    if not (0.0 <= scale <= 1.0 and 0.0 <= switch <= 1.0):
        raise ValueError(f"scale and switch must lie in [0, 1], got {scale!r}, {switch!r}")
    spec = learner_for_task(learner, task_type)
    point = spec.validate(params, task_type=task_type)
    values = spec.split(point, task_type=task_type)
    dims = {d.name: d for d in spec.dimensions(task_type)}
    around = _Around(learner, values, dims, rng, scale, switch)
    _, moved = sample(around, [learner], task_type=task_type)
    return moved
