"""The flat encoding a define-by-run optimiser (Optuna) searches.

A trial first suggests ``"learner"`` among the allowed learners, then each *active* dimension of
that learner under ``f"{learner}.{dimension}"``, in the learner's sampling order, so conditional
dimensions are suggested only after their parent. :func:`to_flat` writes a point in exactly those
names and values, so enqueuing it in the optimiser makes :func:`sample` return that point, and
:func:`from_flat` reads a trial's parameters back. This module never imports an optimiser: it talks
to any object with the three ``suggest_*`` methods of :class:`Suggester`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from metaknowledge.exceptions import InvalidConfigError, InvalidInputError
from metaknowledge.searchspace._params import Categorical, Dimension, Float, Int
from metaknowledge.searchspace._registry import learner_for_task
from metaknowledge.searchspace._spec import check_task_type

__all__ = ["LEARNER_KEY", "Suggester", "flat_name", "from_flat", "sample", "to_flat"]

LEARNER_KEY = "learner"
"""The flat name under which the learner is suggested."""


class Suggester(Protocol):
    """What :func:`sample` needs from an optimiser's trial (``optuna.Trial`` has it)."""

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        """One of ``choices``."""
        ...

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False) -> float:
        """A float in ``[low, high]``."""
        ...

    def suggest_int(self, name: str, low: int, high: int, *, log: bool = False) -> int:
        """An int in ``[low, high]``."""
        ...


def flat_name(learner: str, dimension: str) -> str:
    """The flat name of a learner's dimension: ``f"{learner}.{dimension}"``."""
    return f"{learner}.{dimension}"


def _suggest(suggester: Suggester, name: str, dim: Dimension) -> Any:
    if isinstance(dim, Float):
        return suggester.suggest_float(name, dim.low, dim.high, log=dim.log)
    if isinstance(dim, Int):
        return suggester.suggest_int(name, dim.low, dim.high, log=dim.log)
    if isinstance(dim, Categorical):
        return suggester.suggest_categorical(name, dim.choices)
    raise TypeError(f"not a dimension: {dim!r}")


def sample(
    suggester: Suggester, learners: Sequence[str], *, task_type: str
) -> tuple[str, dict[str, Any]]:
    """Suggest a learner among ``learners``, then its active dimensions; return the point.

    Raises :class:`InvalidInputError` for an empty or repeating ``learners`` or an unknown task
    type, :class:`UnknownLearnerError` for a learner that does not serve ``task_type``, and
    :class:`InvalidConfigError` if the suggester answers outside the space.
    """
    check_task_type(task_type)
    if isinstance(learners, str):
        raise InvalidInputError(
            f"learners must be a sequence of names, got the string {learners!r}"
        )
    choices = tuple(learners)
    if not choices or len(set(choices)) != len(choices):
        raise InvalidInputError(f"learners must be distinct and non-empty, got {choices!r}")
    for name in choices:
        learner_for_task(name, task_type)
    learner = suggester.suggest_categorical(LEARNER_KEY, choices)
    if learner not in choices:
        raise InvalidConfigError(f"the suggester chose {learner!r}, not one of {choices!r}")
    spec = learner_for_task(learner, task_type)
    values: dict[str, Any] = {}
    for dim in spec.dimensions(task_type):
        if dim.condition is None or dim.condition.holds(values):
            values[dim.name] = _suggest(suggester, flat_name(learner, dim.name), dim)
    point = spec.validate(spec.join(values, task_type=task_type), task_type=task_type)
    return learner, point


def to_flat(learner: str, params: Mapping[str, Any], *, task_type: str) -> dict[str, Any]:
    """The flat parameters (``"learner"`` first) under which :func:`sample` yields this point.

    ``params`` is validated first (see :func:`validate_params`, whose errors it raises).
    """
    spec = learner_for_task(learner, task_type)
    point = spec.validate(params, task_type=task_type)
    values = spec.split(point, task_type=task_type)
    flat: dict[str, Any] = {LEARNER_KEY: learner}
    flat.update({flat_name(learner, name): value for name, value in values.items()})
    return flat


def from_flat(flat: Mapping[str, Any], *, task_type: str) -> tuple[str, dict[str, Any]]:
    """The learner and canonical point that flat parameters (a trial's) describe.

    The inverse of :func:`to_flat`. Missing dimensions take their defaults, as in
    :func:`validate_params`. Raises :class:`InvalidConfigError` without a ``"learner"``, for a name
    that belongs to another learner, or for values outside the space; :class:`UnknownLearnerError`
    for a learner that does not serve ``task_type``.
    """
    if LEARNER_KEY not in flat:
        raise InvalidConfigError(f"flat parameters need a {LEARNER_KEY!r}, got {sorted(flat)}")
    learner = flat[LEARNER_KEY]
    spec = learner_for_task(learner, task_type)
    prefix = flat_name(learner, "")
    foreign = [k for k in flat if k != LEARNER_KEY and not str(k).startswith(prefix)]
    if foreign:
        raise InvalidConfigError(f"flat parameters {foreign} do not belong to learner {learner!r}")
    values = {str(k)[len(prefix) :]: v for k, v in flat.items() if k != LEARNER_KEY}
    point = spec.validate(spec.join(values, task_type=task_type), task_type=task_type)
    return learner, point
