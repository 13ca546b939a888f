"""The registry's building blocks: named feature groups, and the value that says "undefined".

A *feature group* computes one or more named meta-features together (they share work: the four
counts of missing values come from one pass). Groups are plain functions of a
:class:`~metaknowledge.metafeatures._context.Context`; the decorator :func:`feature_group` attaches
their names and the task they apply to. Which groups exist, and in which order, is decided in
``_catalog.py``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from metaknowledge.metafeatures._prepare import TaskType

if TYPE_CHECKING:
    from metaknowledge.metafeatures._context import Context

__all__ = [
    "FeatureGroup",
    "GroupResult",
    "Undefined",
    "feature_group",
]


@dataclass(frozen=True)
class Undefined:
    """A meta-feature that has no value on this dataset; ``reason`` says why (becomes NaN)."""

    reason: str


GroupResult = Mapping[str, "float | Undefined"]
GroupFunction = Callable[["Context"], GroupResult]


@dataclass(frozen=True)
class FeatureGroup:
    """Meta-features computed together by ``compute``.

    ``compute`` must return a value (or :class:`Undefined`) for each of ``names``; it may raise, in
    which case every name of the group becomes NaN with the exception as reason. ``task`` limits the
    group to one task type (``None``: any); on the other task its features are NaN with the reason
    ``"not a <task> task"``.
    """

    names: tuple[str, ...]
    compute: GroupFunction
    task: TaskType | None = None

    def applies_to(self, task_type: TaskType) -> bool:
        """Whether the group is defined for datasets of ``task_type``."""
        return self.task is None or self.task == task_type

    @property
    def description(self) -> str:
        """The compute function's docstring: what the features are and what they subsample."""
        return inspect.getdoc(self.compute) or ""

    @property
    def inapplicable_reason(self) -> str:
        """The reason recorded for the group's features on a task it does not apply to."""
        return f"not a {self.task} task"


def feature_group(
    *names: str, task: TaskType | None = None
) -> Callable[[GroupFunction], FeatureGroup]:
    """Decorator turning ``compute(context) -> {name: value}`` into a :class:`FeatureGroup`."""
    if not names:
        raise ValueError("a feature group needs at least one name")

    def wrap(compute: GroupFunction) -> FeatureGroup:
        return FeatureGroup(names=tuple(names), compute=compute, task=task)

    return wrap
