"""What a learner is: its name, task types, parameters, input needs and estimator factory.

:class:`LearnerSpec` owns the rules that make a *point* (a learner's canonical hyperparameters):
which parameters exist for a task type, which are active, their defaults, and the mapping between a
point and its search *dimensions* (where :class:`IntOrFraction` unfolds into three).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from metaknowledge.exceptions import InvalidConfigError, InvalidInputError, UnknownLearnerError
from metaknowledge.searchspace._params import (
    ABSOLUTE,
    FRACTION,
    Categorical,
    Dimension,
    IntOrFraction,
    Param,
)

__all__ = [
    "CLASSIFICATION",
    "REGRESSION",
    "TASK_TYPES",
    "BuildContext",
    "LearnerSpec",
    "Preprocessing",
    "check_task_type",
]

CLASSIFICATION = "classification"
REGRESSION = "regression"
TASK_TYPES: tuple[str, ...] = (CLASSIFICATION, REGRESSION)


def check_task_type(task_type: str) -> str:
    """Return ``task_type`` if it is one of :data:`TASK_TYPES`; raise :class:`InvalidInputError`."""
    if task_type not in TASK_TYPES:
        raise InvalidInputError(f"unknown task type {task_type!r}; expected one of {TASK_TYPES}")
    return task_type


@dataclass(frozen=True)
class Preprocessing:
    """What a learner needs from the table preprocessing of :func:`build_pipeline`.

    ``one_hot``: one-hot encode categoricals (else ordinal codes, for trees). ``scale``: standardise
    numeric columns. ``sparse``: the estimator accepts a sparse matrix.
    """

    one_hot: bool
    scale: bool
    sparse: bool


@dataclass(frozen=True)
class BuildContext:
    """What an estimator factory may know besides the point.

    ``n_rows`` and ``categorical_mask`` (True for each output column of the preprocessing that holds
    ordinal category codes) are known only when building a whole pipeline for a table.
    """

    task_type: str
    random_state: int | None = None
    n_rows: int | None = None
    categorical_mask: tuple[bool, ...] | None = None


EstimatorFactory = Callable[[dict[str, Any], BuildContext], Any]


@dataclass(frozen=True)
class LearnerSpec:
    """One learner of the space.

    ``params`` are listed in sampling order: a conditional parameter follows its parent, which is a
    :class:`Categorical` of the same learner available for the same task types. Defaults live on
    the parameters; :meth:`default_config` assembles them for a task type. The same parameter name
    may be declared once per task type (``criterion`` differs between classification and
    regression). ``factory(point, context)`` makes the sklearn estimator of a validated point;
    callers use :meth:`build_estimator` or :func:`build_pipeline`.

    Raises ``ValueError`` at construction for an inconsistent declaration (a programming error).
    """

    name: str
    task_types: tuple[str, ...]
    params: tuple[Param, ...]
    preprocessing: Preprocessing
    factory: EstimatorFactory = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.task_types or not set(self.task_types) <= set(TASK_TYPES):
            raise ValueError(f"learner {self.name!r}: task types must be among {TASK_TYPES}")
        for param in self.params:
            if param.task_type is not None and param.task_type not in self.task_types:
                raise ValueError(f"{self.name}.{param.name}: task type {param.task_type!r} unknown")
        for task_type in self.task_types:
            self._check_declaration(task_type)

    def _check_declaration(self, task_type: str) -> None:
        seen: dict[str, Dimension] = {}
        for dim in self.dimensions(task_type):
            if dim.name in seen:
                raise ValueError(f"{self.name}.{dim.name}: declared twice for {task_type}")
            if dim.condition is not None:
                parent = seen.get(dim.condition.parent)
                if not isinstance(parent, Categorical):
                    raise ValueError(
                        f"{self.name}.{dim.name}: parent must be an earlier categorical"
                    )
                for value in dim.condition.values:
                    parent.canonical(value)
            seen[dim.name] = dim

    def supports(self, task_type: str) -> bool:
        """Whether the learner is available for ``task_type``."""
        return task_type in self.task_types

    def params_for(self, task_type: str) -> tuple[Param, ...]:
        """The parameters that exist for ``task_type``, in sampling order."""
        return tuple(p for p in self.params if p.task_type in (None, task_type))

    def dimensions(self, task_type: str) -> tuple[Dimension, ...]:
        """The search dimensions for ``task_type``: the parameters with composites unfolded."""
        dims: list[Dimension] = []
        for param in self.params_for(task_type):
            if isinstance(param, IntOrFraction):
                dims.extend(param.dimensions())
            else:
                dims.append(param)
        return tuple(dims)

    @property
    def defaults(self) -> Mapping[str, dict[str, Any]]:
        """The default point of each task type the learner serves (see :meth:`default_config`)."""
        return MappingProxyType({t: self.default_config(t) for t in self.task_types})

    def default_config(self, task_type: str) -> dict[str, Any]:
        """The learner's sklearn defaults for ``task_type``, as a point of the space."""
        return self.validate({}, task_type=task_type)

    def validate(self, params: Mapping[str, Any], *, task_type: str) -> dict[str, Any]:
        """The complete canonical point for ``params``.

        Missing active parameters take their defaults; numbers are canonicalised (``1`` -> ``1.0``
        for a float). Raises :class:`InvalidConfigError` (naming the learner and parameter) for an
        unknown parameter, a parameter inactive under the given values, or a value out of range;
        :class:`UnknownLearnerError` if the learner does not serve ``task_type``.
        """
        if check_task_type(task_type) not in self.task_types:
            raise UnknownLearnerError(f"learner {self.name!r} does not serve {task_type}")
        if not isinstance(params, Mapping):
            raise InvalidConfigError(f"{self.name}: params must be a mapping, got {params!r}")
        declared = self.params_for(task_type)
        names = [p.name for p in declared]
        unknown = sorted(str(k) for k in params if k not in names)
        if unknown:
            raise InvalidConfigError(
                f"{self.name}: unknown parameter(s) {unknown} for {task_type}; "
                f"its parameters are {names}"
            )
        point: dict[str, Any] = {}
        for param in declared:
            condition = param.condition
            if condition is not None and not condition.holds(point):
                if param.name in params:
                    raise InvalidConfigError(
                        f"{self.name}: parameter {param.name!r} is only used when "
                        f"{condition.describe()}, got {point.get(condition.parent)!r}"
                    )
                continue
            value = params.get(param.name, param.default)
            try:
                point[param.name] = param.canonical(value)
            except InvalidConfigError as error:
                raise InvalidConfigError(f"{self.name}: {error}") from error
        return point

    def split(self, point: Mapping[str, Any], *, task_type: str) -> dict[str, Any]:
        """The dimension values of a canonical ``point`` (composites unfolded)."""
        values: dict[str, Any] = {}
        for param in self.params_for(task_type):
            if param.name not in point:
                continue
            if isinstance(param, IntOrFraction):
                values.update(param.split(point[param.name]))
            else:
                values[param.name] = point[param.name]
        return values

    def join(self, values: Mapping[str, Any], *, task_type: str) -> dict[str, Any]:
        """The (not yet validated) parameters that dimension ``values`` describe.

        Folds each composite's mode and range back into one value; other keys pass through for
        :meth:`validate` to judge. Raises :class:`InvalidConfigError` when a composite's values
        contradict its mode.
        """
        params = dict(values)
        for param in self.params_for(task_type):
            if isinstance(param, IntOrFraction):
                folded = self._fold(param, params)
                if folded is not None:
                    params[param.name] = folded
        return params

    def _fold(self, param: IntOrFraction, params: dict[str, Any]) -> int | float | None:
        """Pop ``param``'s dimension values from ``params``; return the value they denote."""
        mode_dim, count_dim, fraction_dim = param.dimensions()
        mode = params.pop(mode_dim.name, None)
        count = params.pop(count_dim.name, None)
        fraction = params.pop(fraction_dim.name, None)
        if mode is None and count is None and fraction is None:
            return None
        if mode is None:
            mode = FRACTION if fraction is not None else ABSOLUTE
        try:
            mode = mode_dim.canonical(mode)
            chosen_dim, chosen, other = (
                (count_dim, count, fraction)
                if mode == ABSOLUTE
                else (fraction_dim, fraction, count)
            )
            if chosen is None or other is not None:
                raise InvalidConfigError(
                    f"{mode_dim.name}={mode!r} needs {chosen_dim.name!r} and nothing else, got "
                    f"{count_dim.name}={count!r}, {fraction_dim.name}={fraction!r}"
                )
            return chosen_dim.canonical(chosen)
        except InvalidConfigError as error:
            raise InvalidConfigError(f"{self.name}: {error}") from error

    def build_estimator(
        self,
        params: Mapping[str, Any],
        *,
        task_type: str = CLASSIFICATION,
        random_state: int | None = None,
    ) -> Any:
        """An unfitted sklearn estimator for the validated ``params`` (see :meth:`validate`)."""
        point = self.validate(params, task_type=task_type)
        return self.factory(point, BuildContext(task_type, random_state))
