"""The parameter model, validation rules, registry and flat-encoding edge cases."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from metaknowledge.exceptions import InvalidConfigError, InvalidInputError, UnknownLearnerError
from metaknowledge.searchspace import (
    LEARNER_KEY,
    LEARNERS,
    Categorical,
    Condition,
    Float,
    Int,
    IntOrFraction,
    LearnerSpec,
    Preprocessing,
    encode,
    encoding_labels,
    from_flat,
    learners_for,
    sample,
    to_flat,
    validate_params,
)

CLS = "classification"
REG = "regression"


def _spec(*params: Any) -> LearnerSpec:
    return LearnerSpec(
        name="toy",
        task_types=(CLS,),
        params=params,
        preprocessing=Preprocessing(one_hot=True, scale=True, sparse=False),
        factory=lambda point, ctx: None,
    )


class TestParams:
    def test_float_accepts_ints_and_rejects_non_numbers(self) -> None:
        param = Float("C", 0.1, 10.0, log=True, default=1.0)
        assert param.canonical(1) == 1.0
        assert isinstance(param.canonical(np.int64(2)), float)
        for bad in (True, "1", None, float("nan"), float("inf")):
            with pytest.raises(InvalidConfigError, match="'C'"):
                param.canonical(bad)

    def test_bounds_are_inclusive_and_named_in_errors(self) -> None:
        param = Float("C", 0.1, 10.0, default=1.0)
        assert param.canonical(0.1) == 0.1
        assert param.canonical(10) == 10.0
        with pytest.raises(InvalidConfigError, match=r"'C' = 10.5 is outside \[0.1, 10\]"):
            param.canonical(10.5)

    def test_int_accepts_integral_floats_only(self) -> None:
        param = Int("k", 1, 10, default=5)
        assert param.canonical(4.0) == 4
        assert type(param.canonical(np.int32(4))) is int
        for bad in (4.5, True, "4"):
            with pytest.raises(InvalidConfigError, match="'k'"):
                param.canonical(bad)
        with pytest.raises(InvalidConfigError, match=r"outside \[1, 10\]"):
            param.canonical(11)

    def test_categorical_matches_by_value_but_not_across_kinds(self) -> None:
        param = Categorical("p", (1, 2), default=2)
        assert param.canonical(2.0) == 2
        assert type(param.canonical(2.0)) is int
        for bad in (True, "2", 3, None):
            with pytest.raises(InvalidConfigError, match="'p'"):
                param.canonical(bad)
        with_none = Categorical("max_features", (None, "log2"), default=None)
        assert with_none.canonical(None) is None
        with pytest.raises(InvalidConfigError):
            with_none.canonical("None")

    def test_int_or_fraction(self) -> None:
        param = IntOrFraction("min_samples_split", 2, 1024, 1e-5, 0.1, default=2)
        assert param.canonical(16) == 16
        assert type(param.canonical(16.0)) is int
        assert param.canonical(0.01) == 0.01
        assert type(param.canonical(0.01)) is float
        for bad in (1, 1.0, 0.5, 0, 2048, True, "2", 1e-6):
            with pytest.raises(InvalidConfigError, match="min_samples_split"):
                param.canonical(bad)

    def test_int_or_fraction_dimensions(self) -> None:
        mode, count, fraction = IntOrFraction("m", 2, 64, 0.001, 0.5, default=0.01).dimensions()
        assert mode.name == "m_mode"
        assert mode.default == "fraction"
        assert count == Int(
            "m", 2, 64, log=True, default=2, condition=Condition("m_mode", ("absolute",))
        )
        assert fraction.name == "m_fraction"
        assert fraction.default == 0.01
        assert fraction.log

    def test_params_are_frozen(self) -> None:
        param = Float("C", 0.1, 10.0, default=1.0)
        with pytest.raises(dataclasses.FrozenInstanceError):
            param.low = 0.0  # type: ignore[misc]

    @pytest.mark.parametrize(
        "make",
        [
            lambda: Float("x", 2.0, 1.0, default=1.5),
            lambda: Float("x", 0.0, 1.0, log=True, default=0.5),
            lambda: Categorical("x", (), default=None),
            lambda: IntOrFraction("x", 1, 10, 0.1, 0.5, default=2),
        ],
    )
    def test_bad_declarations_raise(self, make: Any) -> None:
        with pytest.raises(ValueError):
            make()

    def test_default_outside_range_raises(self) -> None:
        with pytest.raises(ValueError, match="'x'"):
            Int("x", 1, 3, default=4)


class TestLearnerSpecDeclaration:
    def test_child_before_parent_is_refused(self) -> None:
        child = Float("alpha", 0.1, 1.0, default=0.5, condition=Condition("penalty", ("l2",)))
        with pytest.raises(ValueError, match="parent"):
            _spec(child, Categorical("penalty", ("l1", "l2"), default="l2"))

    def test_condition_on_unknown_value_is_refused(self) -> None:
        child = Float("alpha", 0.1, 1.0, default=0.5, condition=Condition("penalty", ("l3",)))
        with pytest.raises(ValueError):
            _spec(Categorical("penalty", ("l1", "l2"), default="l2"), child)

    def test_duplicate_names_are_refused(self) -> None:
        with pytest.raises(ValueError, match="twice"):
            _spec(Float("a", 0.0, 1.0, default=0.5), Int("a", 0, 1, default=0))

    def test_param_of_unserved_task_is_refused(self) -> None:
        with pytest.raises(ValueError, match="task type"):
            _spec(Float("a", 0.0, 1.0, default=0.5, task_type=REG))


class TestRegistry:
    def test_learners_per_task(self) -> None:
        assert learners_for(CLS) == [
            "knn",
            "decision_tree",
            "random_forest",
            "gradient_boosting",
            "adaboost",
            "linear_svm",
            "kernel_svm",
            "logistic_regression",
            "perceptron",
            "gaussian_nb",
            "mlp",
            "extra_trees",
            "hist_gradient_boosting",
        ]
        regression = set(learners_for(REG))
        assert "ridge" in regression
        assert regression.isdisjoint({"logistic_regression", "perceptron", "gaussian_nb"})
        assert len(regression) == 11

    def test_learners_mapping_is_read_only(self) -> None:
        with pytest.raises(TypeError):
            LEARNERS["x"] = LEARNERS["knn"]  # type: ignore[index]

    def test_unknown_task_type(self) -> None:
        with pytest.raises(InvalidInputError, match="ranking"):
            learners_for("ranking")
        with pytest.raises(InvalidInputError):
            validate_params("knn", {}, task_type="ranking")

    def test_learner_of_the_other_task_is_unknown_there(self) -> None:
        with pytest.raises(UnknownLearnerError, match="ridge"):
            validate_params("ridge", {}, task_type=CLS)
        with pytest.raises(UnknownLearnerError, match="gaussian_nb"):
            to_flat("gaussian_nb", {}, task_type=REG)
        with pytest.raises(UnknownLearnerError, match="ridge"):
            LEARNERS["ridge"].validate({}, task_type=CLS)


class TestValidation:
    def test_task_specific_criterion(self) -> None:
        assert validate_params("random_forest", {"criterion": "entropy"})["criterion"] == "entropy"
        with pytest.raises(InvalidConfigError, match="criterion"):
            validate_params("random_forest", {"criterion": "gini"}, task_type=REG)
        point = validate_params("random_forest", {}, task_type=REG)
        assert point["criterion"] == "squared_error"
        assert point["max_features"] is None

    def test_inactive_parameter_is_refused_not_dropped(self) -> None:
        with pytest.raises(InvalidConfigError, match=r"penalty.*solver"):
            validate_params("logistic_regression", {"solver": "lbfgs", "penalty": "l1"})
        with pytest.raises(InvalidConfigError, match="degree"):
            validate_params("kernel_svm", {"kernel": "rbf", "degree": 3})

    def test_conditional_default_filled_when_active(self) -> None:
        assert validate_params("kernel_svm", {"kernel": "poly"})["degree"] == 3
        assert "degree" not in validate_params("kernel_svm", {"kernel": "rbf"})
        assert validate_params("logistic_regression", {"solver": "saga"})["penalty"] == "l2"

    def test_params_must_be_a_mapping(self) -> None:
        with pytest.raises(InvalidConfigError):
            validate_params("knn", [("p", 1)])  # type: ignore[arg-type]

    def test_validation_does_not_mutate_input(self) -> None:
        params = {"C": 1}
        validate_params("linear_svm", params)
        assert params == {"C": 1}


class ScriptedSuggester:
    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        return self.answers[name]

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False) -> float:
        return self.answers[name]

    def suggest_int(self, name: str, low: int, high: int, *, log: bool = False) -> int:
        return self.answers[name]


class TestFlat:
    def test_flat_names(self) -> None:
        flat = to_flat("logistic_regression", {"solver": "saga", "C": 2}, task_type=CLS)
        assert flat == {
            LEARNER_KEY: "logistic_regression",
            "logistic_regression.C": 2.0,
            "logistic_regression.solver": "saga",
            "logistic_regression.penalty": "l2",
        }

    def test_from_flat_refuses_foreign_and_missing_learner(self) -> None:
        with pytest.raises(InvalidConfigError, match="learner"):
            from_flat({"knn.p": 1}, task_type=CLS)
        with pytest.raises(InvalidConfigError, match=r"mlp\.alpha"):
            from_flat({LEARNER_KEY: "knn", "mlp.alpha": 0.1}, task_type=CLS)

    def test_from_flat_refuses_contradicting_mode(self) -> None:
        flat = {
            LEARNER_KEY: "decision_tree",
            "decision_tree.min_samples_split_mode": "absolute",
            "decision_tree.min_samples_split_fraction": 0.01,
        }
        with pytest.raises(InvalidConfigError, match="min_samples_split"):
            from_flat(flat, task_type=CLS)

    def test_from_flat_fills_missing_defaults(self) -> None:
        learner, point = from_flat({LEARNER_KEY: "knn"}, task_type=CLS)
        assert (learner, point) == ("knn", validate_params("knn", {}))

    def test_sample_refuses_bad_learner_lists(self) -> None:
        suggester = ScriptedSuggester({})
        for learners in ([], ["knn", "knn"], "knn"):
            with pytest.raises(InvalidInputError):
                sample(suggester, learners, task_type=CLS)

    def test_sample_refuses_answers_outside_the_space(self) -> None:
        with pytest.raises(InvalidConfigError):
            sample(ScriptedSuggester({LEARNER_KEY: "ridge"}), ["knn"], task_type=CLS)
        answers = {LEARNER_KEY: "linear_svm", "linear_svm.C": 1e6}
        with pytest.raises(InvalidConfigError, match="'C'"):
            sample(ScriptedSuggester(answers), ["linear_svm"], task_type=CLS)

    def test_sample_asks_conditional_dimension_only_when_active(self) -> None:
        answers = {
            LEARNER_KEY: "decision_tree",
            "decision_tree.criterion": "entropy",
            "decision_tree.min_samples_split_mode": "fraction",
            "decision_tree.min_samples_split_fraction": 0.001,
            "decision_tree.min_samples_leaf": 3,
        }
        _, point = sample(ScriptedSuggester(answers), ["decision_tree"], task_type=CLS)
        assert point == {"criterion": "entropy", "min_samples_split": 0.001, "min_samples_leaf": 3}


class TestEncoding:
    def test_log_scale_and_one_hot(self) -> None:
        assert encoding_labels("linear_svm", task_type=CLS) == ["C"]
        assert encode("linear_svm", {"C": 1.0}, task_type=CLS) == pytest.approx([0.5])
        assert encode("linear_svm", {"C": 100}, task_type=CLS) == pytest.approx([1.0])
        labels = encoding_labels("kernel_svm", task_type=CLS)
        assert labels == ["C", "kernel=rbf", "kernel=poly", "coef0", "degree"]
        rbf = encode("kernel_svm", {"kernel": "rbf"}, task_type=CLS)
        poly = encode("kernel_svm", {"kernel": "poly", "degree": 2}, task_type=CLS)
        assert rbf[4] == 0.5, "inactive numeric dimension sits mid-range"
        assert poly[4] == 0.0
        assert np.linalg.norm(rbf[1:3] - poly[1:3]) == pytest.approx(1.0)

    def test_int_or_fraction_encoding(self) -> None:
        labels = encoding_labels("decision_tree", task_type=CLS)
        count = encode("decision_tree", {"min_samples_split": 1024}, task_type=CLS)
        fraction = encode("decision_tree", {"min_samples_split": 1e-5}, task_type=CLS)
        by_label = dict(zip(labels, count, strict=True))
        assert by_label["min_samples_split"] == pytest.approx(1.0)
        assert by_label["min_samples_split_fraction"] == 0.5
        by_label = dict(zip(labels, fraction, strict=True))
        assert by_label["min_samples_split_fraction"] == pytest.approx(0.0)
        assert by_label["min_samples_split"] == 0.5
