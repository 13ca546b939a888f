"""Contract of the search space, run against every learner and every task type it serves."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest

from metaknowledge.exceptions import InvalidConfigError, UnknownLearnerError
from metaknowledge.searchspace import (
    LEARNER_KEY,
    LEARNERS,
    TASK_TYPES,
    Categorical,
    Float,
    Int,
    IntOrFraction,
    Param,
    build_pipeline,
    config_key,
    default_config,
    encode,
    encoding_labels,
    from_flat,
    get_learner,
    learners_for,
    sample,
    to_flat,
    validate_params,
)

CASES = [(learner, task) for task in TASK_TYPES for learner in learners_for(task)]
IDS = [f"{task}-{learner}" for learner, task in CASES]


class RandomSuggester:
    """Suggests uniformly (log-uniformly for log dimensions) from a seeded numpy generator."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.names: list[str] = []

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        self.names.append(name)
        return choices[int(self.rng.integers(len(choices)))]

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False) -> float:
        self.names.append(name)
        if log:
            value = math.exp(self.rng.uniform(math.log(low), math.log(high)))
        else:
            value = self.rng.uniform(low, high)
        return float(min(max(value, low), high))

    def suggest_int(self, name: str, low: int, high: int, *, log: bool = False) -> int:
        self.names.append(name)
        if log:
            value = round(math.exp(self.rng.uniform(math.log(low), math.log(high))))
        else:
            value = int(self.rng.integers(low, high + 1))
        return int(min(max(value, low), high))


class ReplaySuggester:
    """Answers each suggestion from a fixed dict, as an optimiser replays an enqueued trial.

    Checks that every answer lies in the distribution asked for, like Optuna would need.
    """

    def __init__(self, fixed: Mapping[str, Any]) -> None:
        self.fixed = dict(fixed)
        self.names: list[str] = []

    def _take(self, name: str) -> Any:
        self.names.append(name)
        return self.fixed[name]

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        value = self._take(name)
        assert any(value is c or (type(value) is type(c) and value == c) for c in choices)
        return value

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False) -> float:
        value = self._take(name)
        assert isinstance(value, float) and low <= value <= high
        return value

    def suggest_int(self, name: str, low: int, high: int, *, log: bool = False) -> int:
        value = self._take(name)
        assert isinstance(value, int) and low <= value <= high
        return value


def _sampled_points(learner: str, task: str, n: int) -> list[dict[str, Any]]:
    suggester = RandomSuggester(seed=sum(map(ord, learner + task)))
    points = []
    for _ in range(n):
        chosen, point = sample(suggester, [learner], task_type=task)
        assert chosen == learner
        points.append(point)
    return points


def _table(n: int = 40, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Tiny mixed data: gaps, nullable ints, bool, constant, all-missing and categorical columns."""
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=n)
    numeric = signal + rng.normal(scale=0.3, size=n)
    numeric[::7] = np.nan
    colour = rng.choice(np.array(["red", "green", "blue"], dtype=object), size=n)
    colour[::5] = None
    X = pd.DataFrame(
        {
            "numeric": numeric,
            "count": pd.array(
                [None if i % 6 == 0 else int(v) for i, v in enumerate(rng.integers(0, 9, n))],
                dtype="Int64",
            ),
            "flag": signal > 0,
            "constant": 3.0,
            "all_missing": np.nan,
            "colour": colour,
            "level": pd.Categorical(rng.choice(["lo", "mid", "hi"], size=n)),
        }
    )
    y_class = np.where(signal < -0.4, "a", np.where(signal < 0.4, "b", "c"))
    y_reg = 2.0 * signal + rng.normal(scale=0.1, size=n)
    return X, y_class, y_reg


def _unseen(X: pd.DataFrame) -> pd.DataFrame:
    new = X.head(6).copy()
    new["colour"] = ["purple", None, "red", "teal", "blue", "green"]
    new["level"] = pd.Categorical(["ultra", "lo", "mid", "hi", "lo", "zzz"])
    return new


@pytest.mark.parametrize(("learner", "task"), CASES, ids=IDS)
class TestLearnerContract:
    def test_defaults_are_a_valid_point(self, learner: str, task: str) -> None:
        defaults = default_config(learner, task_type=task)
        assert validate_params(learner, defaults, task_type=task) == defaults
        assert validate_params(learner, {}, task_type=task) == defaults
        assert get_learner(learner).default_config(task) == defaults
        assert get_learner(learner).defaults[task] == defaults

    def test_samples_are_valid_points(self, learner: str, task: str) -> None:
        for point in _sampled_points(learner, task, 25):
            assert validate_params(learner, point, task_type=task) == point

    def test_sample_suggests_learner_first_then_prefixed_names(
        self, learner: str, task: str
    ) -> None:
        suggester = RandomSuggester(seed=1)
        sample(suggester, [learner], task_type=task)
        assert suggester.names[0] == LEARNER_KEY
        assert all(name.startswith(f"{learner}.") for name in suggester.names[1:])
        assert len(set(suggester.names)) == len(suggester.names)

    def test_flat_round_trip_and_replay(self, learner: str, task: str) -> None:
        points = [default_config(learner, task_type=task), *_sampled_points(learner, task, 15)]
        for point in points:
            flat = to_flat(learner, point, task_type=task)
            assert from_flat(flat, task_type=task) == (learner, point)
            replay = ReplaySuggester(flat)
            assert sample(replay, learners_for(task), task_type=task) == (learner, point)
            assert replay.names == list(flat), "every enqueued value is asked for, in order"

    def test_encoding_is_fixed_width_in_unit_cube(self, learner: str, task: str) -> None:
        width = len(encoding_labels(learner, task_type=task))
        for point in [default_config(learner, task_type=task), *_sampled_points(learner, task, 10)]:
            vector = encode(learner, point, task_type=task)
            assert vector.shape == (width,)
            assert vector.dtype == np.float64
            assert np.all((vector >= 0.0) & (vector <= 1.0))

    def test_unknown_parameter_is_named(self, learner: str, task: str) -> None:
        with pytest.raises(InvalidConfigError, match="not_a_parameter"):
            validate_params(learner, {"not_a_parameter": 1}, task_type=task)

    def test_out_of_range_values_are_named(self, learner: str, task: str) -> None:
        spec = get_learner(learner)
        for param in spec.params_for(task):
            params = _activating(param)
            params[param.name] = _out_of_range(param)
            with pytest.raises(InvalidConfigError, match=param.name):
                validate_params(learner, params, task_type=task)

    def test_pipeline_fits_defaults_and_samples(self, learner: str, task: str) -> None:
        X, y_class, y_reg = _table()
        y = y_class if task == "classification" else y_reg
        points = [default_config(learner, task_type=task), *_sampled_points(learner, task, 2)]
        for point in points:
            pipeline = build_pipeline(learner, point, X, task_type=task, random_state=0)
            pipeline.fit(X, y)
            predictions = pipeline.predict(_unseen(X))
            assert predictions.shape == (6,)
            if task == "regression":
                assert np.all(np.isfinite(predictions))
            else:
                assert set(predictions) <= set(y_class)


def _activating(target: Param) -> dict[str, Any]:
    """Parameters that make ``target`` active (its parent set to an activating value)."""
    condition = target.condition
    return {} if condition is None else {condition.parent: condition.values[0]}


def _out_of_range(param: Param) -> Any:
    if isinstance(param, Float | Int):
        return param.high + 1
    if isinstance(param, Categorical):
        return "__not_a_choice__"
    if isinstance(param, IntOrFraction):
        return param.int_high + 1
    raise TypeError(param)


def test_every_learner_is_in_some_task() -> None:
    served = {learner for learner, _ in CASES}
    assert served == set(LEARNERS)


@pytest.mark.parametrize("task", TASK_TYPES)
def test_unknown_learner_raises_everywhere(task: str) -> None:
    X, _, _ = _table()
    calls = [
        lambda: get_learner("nope"),
        lambda: validate_params("nope", {}, task_type=task),
        lambda: default_config("nope", task_type=task),
        lambda: to_flat("nope", {}, task_type=task),
        lambda: from_flat({LEARNER_KEY: "nope"}, task_type=task),
        lambda: sample(RandomSuggester(0), ["nope"], task_type=task),
        lambda: encode("nope", {}, task_type=task),
        lambda: build_pipeline("nope", {}, X, task_type=task),
    ]
    for call in calls:
        with pytest.raises(UnknownLearnerError, match="nope"):
            call()


def test_config_key_names_a_configuration_whatever_the_order_of_its_parameters() -> None:
    point = default_config("random_forest", task_type="classification")
    reordered = dict(reversed(list(point.items())))
    assert config_key("random_forest", point) == config_key("random_forest", reordered)
    assert config_key("random_forest", point) != config_key("extra_trees", point)
    changed = {**point, "max_features": 0.123}
    assert config_key("random_forest", changed) != config_key("random_forest", point)
    with pytest.raises(TypeError):
        config_key("random_forest", {"max_features": object()})
