"""Looking learners up by name and turning caller-supplied hyperparameters into points."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from metaknowledge.exceptions import UnknownLearnerError
from metaknowledge.searchspace._catalogue import CATALOGUE
from metaknowledge.searchspace._spec import CLASSIFICATION, LearnerSpec, check_task_type

__all__ = [
    "LEARNERS",
    "default_config",
    "get_learner",
    "learner_for_task",
    "learners_for",
    "validate_params",
]

LEARNERS: Mapping[str, LearnerSpec] = MappingProxyType({spec.name: spec for spec in CATALOGUE})
"""Every learner by name (read-only), in canonical order."""


def get_learner(name: str) -> LearnerSpec:
    """The learner called ``name``; :class:`UnknownLearnerError` if there is none."""
    try:
        return LEARNERS[name]
    except (KeyError, TypeError):
        raise UnknownLearnerError(
            f"unknown learner {name!r}; known learners are {list(LEARNERS)}"
        ) from None


def learners_for(task_type: str) -> list[str]:
    """Names of the learners available for ``task_type``, in canonical order.

    Raises :class:`InvalidInputError` for a task type outside :data:`TASK_TYPES`.
    """
    check_task_type(task_type)
    return [name for name, spec in LEARNERS.items() if spec.supports(task_type)]


def learner_for_task(name: str, task_type: str) -> LearnerSpec:
    """The learner ``name`` if it serves ``task_type``.

    Raises :class:`UnknownLearnerError` if the learner does not exist or does not serve
    ``task_type`` (it is not part of that task's space), :class:`InvalidInputError` for an unknown
    task type.
    """
    check_task_type(task_type)
    spec = get_learner(name)
    if not spec.supports(task_type):
        raise UnknownLearnerError(
            f"learner {name!r} does not serve {task_type}; learners for {task_type} are "
            f"{learners_for(task_type)}"
        )
    return spec


def validate_params(
    learner: str, params: Mapping[str, Any], *, task_type: str = CLASSIFICATION
) -> dict[str, Any]:
    """The complete canonical point of ``learner`` for ``params``.

    Active parameters missing from ``params`` take their defaults; numbers are canonicalised
    (``1`` and ``1.0`` are the same float; ``16.0`` is the integer ``16``); nothing is dropped.
    Validating a point returns it unchanged.

    Raises :class:`UnknownLearnerError` for an unknown learner or one that does not serve
    ``task_type``; :class:`InvalidConfigError` naming the parameter for an unknown parameter, a
    parameter its condition leaves inactive, or a value outside its range (the range is in the
    message).
    """
    return learner_for_task(learner, task_type).validate(params, task_type=task_type)


def default_config(learner: str, *, task_type: str) -> dict[str, Any]:
    """The learner's sklearn defaults for ``task_type``, as a point of the space.

    Raises like :func:`validate_params`.
    """
    return learner_for_task(learner, task_type).default_config(task_type)
