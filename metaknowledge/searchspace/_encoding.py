"""A fixed-width vector in ``[0, 1]^d`` per configuration, for distances between configurations.

The meta-model compares configurations *of the same learner and task type*; the vector has one
block per search dimension of that learner (composites unfolded, see :class:`IntOrFraction`):

* a numeric dimension is one coordinate, ``(v - low) / (high - low)``, computed on ``log`` values
  for a log-scaled dimension (so ``C = 0.1`` is as far from ``1`` as ``1`` is from ``10``);
* a categorical dimension with ``n`` choices is ``n`` coordinates, one-hot scaled by ``1/sqrt(2)``,
  so two different choices lie at Euclidean distance 1 -- the same as the two ends of a range;
* an inactive dimension (its condition does not hold) is ``0.5`` for a numeric one (the middle,
  not an end of the range) and all zeros for a categorical one.

So every coordinate lies in ``[0, 1]`` and the Euclidean distance weighs each dimension alike.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from metaknowledge.searchspace._params import Categorical, Dimension, Float, Int, same_choice
from metaknowledge.searchspace._registry import learner_for_task

__all__ = ["encode", "encoding_labels"]

_ONE_HOT = 1.0 / math.sqrt(2.0)
_INACTIVE = 0.5


def _unit(dim: Float | Int, value: float) -> float:
    low, high, value = float(dim.low), float(dim.high), float(value)
    if dim.log:
        low, high, value = math.log(low), math.log(high), math.log(value)
    return 0.0 if high == low else (value - low) / (high - low)


def _encode_dimension(dim: Dimension, value: Any, active: bool) -> list[float]:
    if isinstance(dim, Categorical):
        if not active:
            return [0.0] * len(dim.choices)
        return [_ONE_HOT if same_choice(value, c) else 0.0 for c in dim.choices]
    return [_unit(dim, value) if active else _INACTIVE]


def encode(learner: str, params: Mapping[str, Any], *, task_type: str) -> np.ndarray:
    """The ``float64`` vector of ``params`` (validated first, defaults filled; see module doc).

    Its width depends only on ``learner`` and ``task_type``; :func:`encoding_labels` names the
    coordinates. Raises like :func:`validate_params`.
    """
    spec = learner_for_task(learner, task_type)
    point = spec.validate(params, task_type=task_type)
    values = spec.split(point, task_type=task_type)
    vector: list[float] = []
    for dim in spec.dimensions(task_type):
        active = dim.condition is None or dim.condition.holds(values)
        vector.extend(_encode_dimension(dim, values.get(dim.name), active))
    return np.asarray(vector, dtype=np.float64)


def encoding_labels(learner: str, *, task_type: str) -> list[str]:
    """One label per coordinate of :func:`encode`: ``"C"``, ``"kernel=rbf"``, ...

    Raises :class:`UnknownLearnerError` like :func:`validate_params`.
    """
    spec = learner_for_task(learner, task_type)
    labels: list[str] = []
    for dim in spec.dimensions(task_type):
        if isinstance(dim, Categorical):
            labels.extend(f"{dim.name}={choice}" for choice in dim.choices)
        else:
            labels.append(dim.name)
    return labels
