"""The learners of the space: their ranges, defaults and sklearn estimators.

Every range contains the grid Oboe (v0.2.0, ``defaults/Oboe/classification.json``) evaluated, so
each configuration of the bundled knowledge base is a point of this space, and each default is
sklearn's (so :func:`default_config` is the "sklearn defaults" baseline). Oboe built its
estimators as ``Estimator(random_state=0, **hyperparameters)`` with every other argument at
sklearn's default; the factories below do the same, with the deviations noted where they are made
(all of them keep a trial bounded or keep the estimator working on today's sklearn).
"""

from __future__ import annotations

import inspect
from typing import Any

from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import (
    AdaBoostClassifier,
    AdaBoostRegressor,
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Perceptron, Ridge
from sklearn.multiclass import OneVsRestClassifier
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, SVR, LinearSVC, LinearSVR
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from metaknowledge.searchspace._params import (
    Categorical,
    Condition,
    Float,
    Int,
    IntOrFraction,
)
from metaknowledge.searchspace._spec import (
    CLASSIFICATION,
    REGRESSION,
    BuildContext,
    LearnerSpec,
    Preprocessing,
)

__all__ = ["CATALOGUE"]

BOTH = (CLASSIFICATION, REGRESSION)

TREES = Preprocessing(one_hot=False, scale=False, sparse=False)
SCALED = Preprocessing(one_hot=True, scale=True, sparse=True)
UNSCALED_DENSE = Preprocessing(one_hot=True, scale=False, sparse=False)

N_ESTIMATORS = 100
"""Trees per forest / boosting stages: sklearn's default since 0.22, which Oboe 0.2.0 required."""
LINEAR_MAX_ITER = 1000
"""Iteration cap of the linear solvers (Oboe ran lbfgs/saga's 100; 1000 converges more often)."""


def _pick(ctx: BuildContext, classifier: Any, regressor: Any) -> Any:
    return classifier if ctx.task_type == CLASSIFICATION else regressor


def _scaled_target(regressor: Any) -> Any:
    """Standardise ``y`` around a regressor whose loss is not scale-free (SVR's epsilon, MLP)."""
    return TransformedTargetRegressor(regressor=regressor, transformer=StandardScaler())


def _min_samples_split() -> IntOrFraction:
    return IntOrFraction("min_samples_split", 2, 1024, 1e-5, 0.1, default=2)


def _criteria() -> tuple[Categorical, Categorical]:
    # No "friedman_mse" (sklearn 1.9 deprecates it for trees: it equals "squared_error") and no
    # "poisson" (it needs y >= 0); "absolute_error" is robust to outliers but ~4x slower.
    return (
        Categorical("criterion", ("gini", "entropy"), default="gini", task_type=CLASSIFICATION),
        Categorical(
            "criterion",
            ("squared_error", "absolute_error"),
            default="squared_error",
            task_type=REGRESSION,
        ),
    )


def _knn(point: dict[str, Any], ctx: BuildContext) -> Any:
    params = dict(point)
    if ctx.n_rows is not None:
        # A fold of a small table may hold fewer rows than neighbours; half the table fits any
        # split with at least two folds.
        params["n_neighbors"] = min(params["n_neighbors"], max(1, ctx.n_rows // 2))
    return _pick(ctx, KNeighborsClassifier, KNeighborsRegressor)(**params)


def _decision_tree(point: dict[str, Any], ctx: BuildContext) -> Any:
    estimator = _pick(ctx, DecisionTreeClassifier, DecisionTreeRegressor)
    return estimator(random_state=ctx.random_state, **point)


def _random_forest(point: dict[str, Any], ctx: BuildContext) -> Any:
    estimator = _pick(ctx, RandomForestClassifier, RandomForestRegressor)
    return estimator(n_estimators=N_ESTIMATORS, random_state=ctx.random_state, **point)


def _extra_trees(point: dict[str, Any], ctx: BuildContext) -> Any:
    estimator = _pick(ctx, ExtraTreesClassifier, ExtraTreesRegressor)
    return estimator(n_estimators=N_ESTIMATORS, random_state=ctx.random_state, **point)


def _gradient_boosting(point: dict[str, Any], ctx: BuildContext) -> Any:
    estimator = _pick(ctx, GradientBoostingClassifier, GradientBoostingRegressor)
    return estimator(n_estimators=N_ESTIMATORS, random_state=ctx.random_state, **point)


def _hist_gradient_boosting(point: dict[str, Any], ctx: BuildContext) -> Any:
    estimator = _pick(ctx, HistGradientBoostingClassifier, HistGradientBoostingRegressor)
    extra: dict[str, Any] = {}
    if ctx.categorical_mask is not None:
        # The pipeline's ordinal codes become native categories (a negative, unseen code = missing).
        extra["categorical_features"] = (
            list(ctx.categorical_mask) if any(ctx.categorical_mask) else None
        )
    return estimator(random_state=ctx.random_state, **point, **extra)


def _adaboost(point: dict[str, Any], ctx: BuildContext) -> Any:
    # Oboe's sklearn defaulted to SAMME.R; sklearn >= 1.6 only has SAMME.
    estimator = _pick(ctx, AdaBoostClassifier, AdaBoostRegressor)
    return estimator(random_state=ctx.random_state, **point)


def _linear_svm(point: dict[str, Any], ctx: BuildContext) -> Any:
    if ctx.task_type == CLASSIFICATION:
        return LinearSVC(max_iter=LINEAR_MAX_ITER, random_state=ctx.random_state, **point)
    return _scaled_target(
        LinearSVR(max_iter=LINEAR_MAX_ITER, random_state=ctx.random_state, **point)
    )


def _kernel_svm(point: dict[str, Any], ctx: BuildContext) -> Any:
    if ctx.task_type == CLASSIFICATION:
        return SVC(random_state=ctx.random_state, **point)
    return _scaled_target(SVR(**point))


def _penalty_arguments(penalty: str) -> dict[str, Any]:
    """The penalty as sklearn wants it: ``l1_ratio`` since 1.8 (``penalty`` is deprecated)."""
    default = inspect.signature(LogisticRegression).parameters["penalty"].default
    if default == "deprecated":
        return {"l1_ratio": 1.0 if penalty == "l1" else 0.0}
    return {"penalty": penalty}


def _logistic_regression(point: dict[str, Any], ctx: BuildContext) -> Any:
    params = dict(point)
    penalty = params.pop("penalty", "l2")
    model = LogisticRegression(
        max_iter=LINEAR_MAX_ITER,
        random_state=ctx.random_state,
        **params,
        **_penalty_arguments(penalty),
    )
    if params["solver"] == "liblinear":
        # liblinear is binary only; Oboe's sklearn ran it one-vs-rest, as this does.
        return OneVsRestClassifier(model)
    return model


def _perceptron(point: dict[str, Any], ctx: BuildContext) -> Any:
    return Perceptron(max_iter=LINEAR_MAX_ITER, random_state=ctx.random_state, **point)


def _gaussian_nb(point: dict[str, Any], ctx: BuildContext) -> Any:
    return GaussianNB(**point)


def _mlp(point: dict[str, Any], ctx: BuildContext) -> Any:
    # max_iter stays at sklearn's (and Oboe's) 200 epochs: the bound on a trial's cost.
    if ctx.task_type == CLASSIFICATION:
        return MLPClassifier(random_state=ctx.random_state, **point)
    return _scaled_target(MLPRegressor(random_state=ctx.random_state, **point))


def _ridge(point: dict[str, Any], ctx: BuildContext) -> Any:
    return Ridge(random_state=ctx.random_state, **point)


_TREE_SHAPE = (
    _min_samples_split(),
    Int("min_samples_leaf", 1, 64, log=True, default=1),
)

_FOREST_MAX_FEATURES = (
    Categorical("max_features", ("sqrt", "log2", None), default="sqrt", task_type=CLASSIFICATION),
    Categorical("max_features", ("sqrt", "log2", None), default=None, task_type=REGRESSION),
)

_SVM_C = Float("C", 0.01, 100.0, log=True, default=1.0)

CATALOGUE: tuple[LearnerSpec, ...] = (
    LearnerSpec(
        name="knn",
        task_types=BOTH,
        params=(
            Int("n_neighbors", 1, 100, log=True, default=5),
            Categorical("p", (1, 2), default=2),
            Categorical("weights", ("uniform", "distance"), default="uniform"),
        ),
        preprocessing=SCALED,
        factory=_knn,
    ),
    LearnerSpec(
        name="decision_tree",
        task_types=BOTH,
        params=(*_criteria(), *_TREE_SHAPE),
        preprocessing=TREES,
        factory=_decision_tree,
    ),
    LearnerSpec(
        name="random_forest",
        task_types=BOTH,
        params=(*_criteria(), *_TREE_SHAPE, *_FOREST_MAX_FEATURES),
        preprocessing=TREES,
        factory=_random_forest,
    ),
    LearnerSpec(
        name="gradient_boosting",
        task_types=BOTH,
        params=(
            Float("learning_rate", 0.001, 1.0, log=True, default=0.1),
            Int("max_depth", 1, 10, default=3),
            Categorical("max_features", (None, "sqrt", "log2"), default=None),
            Float("subsample", 0.5, 1.0, default=1.0),
        ),
        preprocessing=TREES,
        factory=_gradient_boosting,
    ),
    LearnerSpec(
        name="adaboost",
        task_types=BOTH,
        params=(
            Int("n_estimators", 10, 500, log=True, default=50),
            Float("learning_rate", 0.01, 3.0, log=True, default=1.0),
        ),
        preprocessing=TREES,
        factory=_adaboost,
    ),
    LearnerSpec(
        name="linear_svm",
        task_types=BOTH,
        params=(_SVM_C,),
        preprocessing=SCALED,
        factory=_linear_svm,
    ),
    LearnerSpec(
        name="kernel_svm",
        task_types=BOTH,
        params=(
            _SVM_C,
            Categorical("kernel", ("rbf", "poly"), default="rbf"),
            # Unconditional although rbf ignores it: the knowledge base records rbf with coef0 0
            # and 10 as two configurations, and each must stay one point of its own.
            Float("coef0", 0.0, 10.0, default=0.0),
            Int("degree", 2, 5, default=3, condition=Condition("kernel", ("poly",))),
        ),
        preprocessing=SCALED,
        factory=_kernel_svm,
    ),
    LearnerSpec(
        name="logistic_regression",
        task_types=(CLASSIFICATION,),
        params=(
            Float("C", 0.01, 100.0, log=True, default=1.0),
            Categorical("solver", ("lbfgs", "liblinear", "saga"), default="lbfgs"),
            # lbfgs only knows l2, so the choice exists for the two solvers that have both.
            Categorical(
                "penalty",
                ("l1", "l2"),
                default="l2",
                condition=Condition("solver", ("liblinear", "saga")),
            ),
        ),
        preprocessing=SCALED,
        factory=_logistic_regression,
    ),
    LearnerSpec(
        name="perceptron",
        task_types=(CLASSIFICATION,),
        params=(
            Categorical("penalty", (None, "l2", "l1"), default=None),
            Float(
                "alpha",
                1e-7,
                1e-1,
                log=True,
                default=1e-4,
                condition=Condition("penalty", ("l2", "l1")),
            ),
        ),
        preprocessing=SCALED,
        factory=_perceptron,
    ),
    LearnerSpec(
        name="gaussian_nb",
        task_types=(CLASSIFICATION,),
        params=(Float("var_smoothing", 1e-12, 1e-2, log=True, default=1e-9),),
        preprocessing=UNSCALED_DENSE,
        factory=_gaussian_nb,
    ),
    LearnerSpec(
        name="mlp",
        task_types=BOTH,
        params=(
            Categorical("solver", ("adam", "sgd"), default="adam"),
            Float("learning_rate_init", 1e-5, 1e-1, log=True, default=1e-3),
            # Unconditional although adam ignores it: Oboe sets "adaptive" for adam too.
            Categorical("learning_rate", ("constant", "adaptive"), default="constant"),
            Float("alpha", 1e-7, 1e-1, log=True, default=1e-4),
        ),
        preprocessing=SCALED,
        factory=_mlp,
    ),
    LearnerSpec(
        name="extra_trees",
        task_types=BOTH,
        params=(*_criteria(), *_TREE_SHAPE, *_FOREST_MAX_FEATURES),
        preprocessing=TREES,
        factory=_extra_trees,
    ),
    LearnerSpec(
        name="hist_gradient_boosting",
        task_types=BOTH,
        params=(
            Float("learning_rate", 0.01, 1.0, log=True, default=0.1),
            Int("max_leaf_nodes", 2, 256, log=True, default=31),
            Int("min_samples_leaf", 1, 200, log=True, default=20),
            Float("max_features", 0.1, 1.0, default=1.0),
        ),
        preprocessing=TREES,
        factory=_hist_gradient_boosting,
    ),
    LearnerSpec(
        name="ridge",
        task_types=(REGRESSION,),
        params=(Float("alpha", 1e-4, 1e4, log=True, default=1.0),),
        preprocessing=SCALED,
        factory=_ridge,
    ),
)
"""Every learner, in the canonical order :func:`learners_for` reports."""
