"""FLAML's zero-shot configurations (``flaml.default``), mapped into our search space.

FLAML suggests data-dependent configurations for its own learners; of those, random forest and
extra trees are scikit-learn estimators of our space, so their suggestions are kept and evaluated
with the same CV as every other strategy. Parameters our space does not define (``n_estimators``,
``max_leaves``) are dropped; a fractional ``max_features`` (FLAML's form; our space has
``sqrt``/``log2``/all) becomes the choice nearest in number of features (on a log scale); any
other value our space rejects falls back to the default. (Skipping a rejected configuration, as
before, left the strategy without any point: every FLAML forest has a fractional
``max_features``.) LightGBM/XGBoost suggestions have no
counterpart in the space and are not used: the point measures FLAML's knowledge, not its learners.
"""

from __future__ import annotations

import math
from typing import Any

from benchmarks.e2e._problem import Problem

__all__ = ["flaml_missing_reason", "zeroshot_configs"]

_LEARNERS = {"rf": "random_forest", "extra_tree": "extra_trees"}


def flaml_missing_reason() -> str | None:
    """None when ``flaml.default`` imports, else why not."""
    try:
        import flaml.default  # noqa: F401
    except Exception as e:  # ImportError, or a broken optional dependency
        return f"flaml is not installed ({type(e).__name__})"
    return None


def zeroshot_configs(problem: Problem, learners: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """FLAML's suggestion per mapped learner, as points of our space."""
    from flaml.default import suggest_hyperparams

    from metaknowledge import InvalidConfigError, default_config, validate_params
    from service.profiling import split_problem
    from service.tables import read_table

    frame, _ = read_table(problem.csv_path)
    data = split_problem(frame, "target", problem.task_type)
    configs = []
    for flaml_name, learner in _LEARNERS.items():
        if learner not in learners:
            continue
        suggested = suggest_hyperparams(problem.task_type, data.X, data.y, flaml_name)
        hyperparams = dict(suggested[0] or {})
        known = default_config(learner, task_type=problem.task_type)
        kept = {k: v for k, v in hyperparams.items() if k in known}
        if isinstance(kept.get("max_features"), float):
            kept["max_features"] = _nearest_max_features(kept["max_features"], data.X.shape[1])
        for name in list(kept):
            try:
                validate_params(learner, {name: kept[name]}, task_type=problem.task_type)
            except InvalidConfigError:
                del kept[name]
        try:
            configs.append((learner, validate_params(learner, kept, task_type=problem.task_type)))
        except InvalidConfigError:  # each value is valid, their combination is not
            continue
    return configs


def _nearest_max_features(fraction: float, n_features: int) -> str | None:
    """Our space's ``max_features`` choice whose number of features is nearest (log scale) to
    ``fraction`` of ``n_features``."""
    n = max(n_features, 1)
    wanted = max(fraction * n, 1.0)
    sizes: dict[str | None, float] = {
        "sqrt": max(math.sqrt(n), 1.0),
        "log2": max(math.log2(n), 1.0),
        None: float(n),
    }
    return min(sizes, key=lambda choice: abs(math.log(sizes[choice] / wanted)))
