"""Local moves around a point (:func:`neighbour`): in the space, near the point, reproducible."""

from __future__ import annotations

import numpy as np
import pytest

from metaknowledge.exceptions import InvalidConfigError, UnknownLearnerError
from metaknowledge.searchspace import (
    CLASSIFICATION,
    LEARNERS,
    REGRESSION,
    default_config,
    encode,
    learners_for,
    neighbour,
    validate_params,
)


@pytest.mark.parametrize("task_type", [CLASSIFICATION, REGRESSION])
def test_every_learner_moves_to_a_valid_point_of_its_own(task_type: str) -> None:
    rng = np.random.default_rng(0)
    for learner in learners_for(task_type):
        start = default_config(learner, task_type=task_type)
        for _ in range(20):
            moved = neighbour(learner, start, task_type=task_type, rng=rng)
            assert validate_params(learner, moved, task_type=task_type) == moved
            start = moved


def test_moves_stay_near_and_shrink_with_the_scale() -> None:
    start = {"C": 1.0, "kernel": "rbf", "coef0": 5.0}
    origin = encode("kernel_svm", start, task_type=CLASSIFICATION)

    def mean_distance(scale: float) -> float:
        rng = np.random.default_rng(1)
        moved = [
            neighbour("kernel_svm", start, task_type=CLASSIFICATION, rng=rng, scale=scale, switch=0)
            for _ in range(200)
        ]
        assert all(m["kernel"] == "rbf" for m in moved)  # switch=0 keeps every choice
        points = np.stack([encode("kernel_svm", m, task_type=CLASSIFICATION) for m in moved])
        return float(np.abs(points - origin).sum(axis=1).mean())

    near, far = mean_distance(0.05), mean_distance(0.3)
    assert 0 < near < far < 0.6
    # C is log-scaled over [0.01, 100]: a 0.05 step of the range is a factor of about 1.6.
    rng = np.random.default_rng(2)
    cs = [
        neighbour("kernel_svm", start, task_type=CLASSIFICATION, rng=rng, scale=0.05, switch=0)["C"]
        for _ in range(200)
    ]
    assert min(cs) > 0.2 and max(cs) < 5.0 and len(set(cs)) == 200


def test_a_point_at_a_bound_is_reflected_inside_not_held_there() -> None:
    rng = np.random.default_rng(3)
    start = {"C": 100.0}  # the upper end of linear_svm's C
    cs = [
        neighbour("linear_svm", start, task_type=CLASSIFICATION, rng=rng)["C"] for _ in range(100)
    ]
    assert all(0.01 <= c <= 100.0 for c in cs)
    assert sum(c == 100.0 for c in cs) == 0


def test_switching_a_parent_activates_its_children_from_their_defaults() -> None:
    rng = np.random.default_rng(4)
    start = {"C": 1.0, "kernel": "rbf", "coef0": 0.0}
    moved = [
        neighbour("kernel_svm", start, task_type=CLASSIFICATION, rng=rng, switch=1.0)
        for _ in range(20)
    ]
    assert all(m["kernel"] == "poly" for m in moved)
    degrees = {m["degree"] for m in moved}
    assert degrees <= {2, 3, 4} and 3 in degrees  # near the default 3 (range 2..5)


def test_no_step_keeps_the_point_exactly() -> None:
    rng = np.random.default_rng(5)
    start = {"C": 0.05305182157353355, "kernel": "poly", "coef0": 1.3, "degree": 4}
    moved = neighbour("kernel_svm", start, task_type=CLASSIFICATION, rng=rng, scale=0, switch=0)
    assert moved == start


def test_a_composite_can_switch_its_mode() -> None:
    # min_samples_split is a count or a fraction of the rows: a switch of its mode keeps it valid.
    rng = np.random.default_rng(6)
    start = default_config("random_forest", task_type=CLASSIFICATION)
    kinds = set()
    for _ in range(40):
        moved = neighbour("random_forest", start, task_type=CLASSIFICATION, rng=rng, switch=0.5)
        assert validate_params("random_forest", moved, task_type=CLASSIFICATION) == moved
        kinds.add(type(moved["min_samples_split"]))
    assert kinds == {int, float}


def test_the_same_generator_state_gives_the_same_point() -> None:
    start = default_config("hist_gradient_boosting", task_type=CLASSIFICATION)
    a = neighbour(
        "hist_gradient_boosting", start, task_type=CLASSIFICATION, rng=np.random.default_rng(7)
    )
    b = neighbour(
        "hist_gradient_boosting", start, task_type=CLASSIFICATION, rng=np.random.default_rng(7)
    )
    assert a == b and a != start


def test_bad_input_is_refused() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(InvalidConfigError, match="C"):
        neighbour("linear_svm", {"C": -1.0}, task_type=CLASSIFICATION, rng=rng)
    with pytest.raises(ValueError, match="scale"):
        neighbour("linear_svm", {}, task_type=CLASSIFICATION, rng=rng, scale=2.0)
    assert "ridge" in LEARNERS  # a regression-only learner is refused for classification
    with pytest.raises(UnknownLearnerError, match="ridge"):
        neighbour("ridge", {}, task_type=CLASSIFICATION, rng=rng)
