"""The declarative parameter model: one frozen dataclass per kind of hyperparameter.

A parameter knows its range, its default, when it is active (``condition``) and for which task type
it exists (``task_type``; ``None`` means every task type the learner supports). It turns a caller's
value into the canonical one (``canonical``) or raises :class:`InvalidConfigError`.

Three kinds are *dimensions* that an optimiser can suggest directly (:class:`Float`, :class:`Int`,
:class:`Categorical`). :class:`IntOrFraction` is the one composite: sklearn's ``min_samples_split``
is either a count or a fraction of the rows, so it is searched as three dimensions (a mode and one
conditional range per mode) but reported to the user and the estimator as the plain sklearn value.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import KW_ONLY, dataclass
from typing import Any

from metaknowledge.exceptions import InvalidConfigError

__all__ = [
    "ABSOLUTE",
    "FRACTION",
    "Categorical",
    "Condition",
    "Dimension",
    "Float",
    "Int",
    "IntOrFraction",
    "Param",
    "same_choice",
]


def same_choice(value: Any, choice: Any) -> bool:
    """Whether ``value`` denotes the categorical ``choice``.

    Numbers compare by value (``2.0`` is the choice ``2``), but a bool never stands for a number (or
    the reverse) and a string never stands for a number, so ``True`` is not the choice ``1``.
    """
    if choice is None or value is None:
        return value is None and choice is None
    if isinstance(choice, bool) or isinstance(value, bool):
        return isinstance(choice, bool) and isinstance(value, bool) and value == choice
    if isinstance(choice, str) or isinstance(value, str):
        return isinstance(choice, str) and isinstance(value, str) and value == choice
    return isinstance(value, numbers.Number) and bool(value == choice)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _fmt(number: float) -> str:
    return f"{number:g}"


@dataclass(frozen=True)
class Condition:
    """Activates a parameter only while the categorical ``parent`` takes one of ``values``."""

    parent: str
    values: tuple[Any, ...]

    def holds(self, point: dict[str, Any]) -> bool:
        """True when ``point`` holds the parent with one of the activating values."""
        return self.parent in point and any(same_choice(point[self.parent], v) for v in self.values)

    def describe(self) -> str:
        """A human-readable ``parent in (...)`` for error messages."""
        return f"{self.parent} in {self.values!r}"


def _check_range(name: str, low: float, high: float, log: bool) -> None:
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        raise ValueError(f"parameter {name!r}: invalid range [{low}, {high}]")
    if log and low <= 0:
        raise ValueError(f"parameter {name!r}: a log-scaled range needs low > 0, got {low}")


@dataclass(frozen=True)
class Float:
    """A real hyperparameter in ``[low, high]`` (both inclusive), log-scaled if ``log``.

    Canonical values are Python floats; integers are accepted (Oboe writes ``C=1`` for ``1.0``).
    """

    name: str
    low: float
    high: float
    log: bool = False
    _: KW_ONLY
    default: float
    condition: Condition | None = None
    task_type: str | None = None

    def __post_init__(self) -> None:
        _check_range(self.name, self.low, self.high, self.log)
        self.canonical(self.default)

    def canonical(self, value: Any) -> float:
        """``value`` as a float inside the range; :class:`InvalidConfigError` otherwise."""
        if not _is_real(value) or not math.isfinite(value):
            raise InvalidConfigError(f"{self.name!r} must be a finite number, got {value!r}")
        if not self.low <= value <= self.high:
            raise InvalidConfigError(
                f"{self.name!r} = {value!r} is outside [{_fmt(self.low)}, {_fmt(self.high)}]"
            )
        return float(value)


@dataclass(frozen=True)
class Int:
    """An integer hyperparameter in ``[low, high]`` (both inclusive), log-scaled if ``log``.

    Canonical values are Python ints; integral floats such as ``16.0`` are accepted as ``16``.
    """

    name: str
    low: int
    high: int
    log: bool = False
    _: KW_ONLY
    default: int
    condition: Condition | None = None
    task_type: str | None = None

    def __post_init__(self) -> None:
        _check_range(self.name, self.low, self.high, self.log)
        self.canonical(self.default)

    def canonical(self, value: Any) -> int:
        """``value`` as an int inside the range; :class:`InvalidConfigError` otherwise."""
        if not _is_real(value) or not math.isfinite(value) or not float(value).is_integer():
            raise InvalidConfigError(f"{self.name!r} must be an integer, got {value!r}")
        if not self.low <= value <= self.high:
            raise InvalidConfigError(
                f"{self.name!r} = {value!r} is outside [{self.low}, {self.high}]"
            )
        return int(value)


@dataclass(frozen=True)
class Categorical:
    """A hyperparameter taking one of ``choices`` (str, int, float, bool or None, as sklearn wants).

    Canonical values are the choice objects themselves (see :func:`same_choice` for matching).
    """

    name: str
    choices: tuple[Any, ...]
    _: KW_ONLY
    default: Any
    condition: Condition | None = None
    task_type: str | None = None

    def __post_init__(self) -> None:
        if not self.choices:
            raise ValueError(f"parameter {self.name!r}: no choices")
        self.canonical(self.default)

    def canonical(self, value: Any) -> Any:
        """The choice that ``value`` denotes; :class:`InvalidConfigError` if none."""
        for choice in self.choices:
            if same_choice(value, choice):
                return choice
        raise InvalidConfigError(f"{self.name!r} = {value!r} is not one of {self.choices!r}")


Dimension = Float | Int | Categorical
"""A parameter an optimiser suggests directly."""

ABSOLUTE = "absolute"
FRACTION = "fraction"


@dataclass(frozen=True)
class IntOrFraction:
    """sklearn's "count or fraction of the rows" convention (``min_samples_split``).

    The canonical value is an ``int`` in ``[int_low, int_high]`` or a ``float`` in
    ``[fraction_low, fraction_high]``; both ranges are searched in log space. An integral float
    ``>= 2`` (which sklearn would refuse as a fraction) is read as the count, so a value that went
    through a float-only storage still means what it meant.

    It is searched as three dimensions (see :meth:`dimensions`): ``{name}_mode`` (``"absolute"`` or
    ``"fraction"``), ``{name}`` (the count, active in mode absolute) and ``{name}_fraction`` (active
    in mode fraction). It cannot itself be conditional.
    """

    name: str
    int_low: int
    int_high: int
    fraction_low: float
    fraction_high: float
    _: KW_ONLY
    default: int | float
    task_type: str | None = None

    def __post_init__(self) -> None:
        if self.int_low < 2 or not 0.0 < self.fraction_low <= self.fraction_high <= 1.0:
            raise ValueError(f"parameter {self.name!r}: counts start at 2, fractions lie in (0, 1]")
        self.dimensions()
        self.canonical(self.default)

    @property
    def condition(self) -> None:
        """Always ``None``: the composite is never conditional (its parts are)."""
        return None

    @property
    def mode_name(self) -> str:
        """Name of the mode dimension."""
        return f"{self.name}_mode"

    @property
    def fraction_name(self) -> str:
        """Name of the fraction dimension."""
        return f"{self.name}_fraction"

    def dimensions(self) -> tuple[Categorical, Int, Float]:
        """The mode, count and fraction dimensions, in sampling order."""
        is_int = isinstance(self.default, int) and not isinstance(self.default, bool)
        mode = Categorical(
            self.mode_name,
            (ABSOLUTE, FRACTION),
            default=ABSOLUTE if is_int else FRACTION,
            task_type=self.task_type,
        )
        count = Int(
            self.name,
            self.int_low,
            self.int_high,
            log=True,
            default=int(self.default) if is_int else self.int_low,
            condition=Condition(mode.name, (ABSOLUTE,)),
            task_type=self.task_type,
        )
        fraction = Float(
            self.fraction_name,
            self.fraction_low,
            self.fraction_high,
            log=True,
            default=self.fraction_low if is_int else float(self.default),
            condition=Condition(mode.name, (FRACTION,)),
            task_type=self.task_type,
        )
        return mode, count, fraction

    def canonical(self, value: Any) -> int | float:
        """The count (int) or fraction (float) ``value`` denotes, else InvalidConfigError."""
        ranges = (
            f"an integer in [{self.int_low}, {self.int_high}] or a fraction in "
            f"[{_fmt(self.fraction_low)}, {_fmt(self.fraction_high)}]"
        )
        if not _is_real(value) or not math.isfinite(value):
            raise InvalidConfigError(f"{self.name!r} must be {ranges}, got {value!r}")
        counts = isinstance(value, numbers.Integral) or (value >= 2 and float(value).is_integer())
        if counts and self.int_low <= value <= self.int_high:
            return int(value)
        if not counts and self.fraction_low <= value <= self.fraction_high:
            return float(value)
        raise InvalidConfigError(f"{self.name!r} = {value!r} is not {ranges}")

    def split(self, value: int | float) -> dict[str, Any]:
        """The dimension values of a canonical ``value``."""
        if isinstance(value, int):
            return {self.mode_name: ABSOLUTE, self.name: value}
        return {self.mode_name: FRACTION, self.fraction_name: value}


Param = Float | Int | Categorical | IntOrFraction
"""Any parameter of a learner's space."""
