"""FLAML's zero-shot configurations (``flaml.default``), mapped into our search space.

FLAML suggests data-dependent configurations for its own learners; of those, random forest and
extra trees are scikit-learn estimators of our space, so their suggestions are kept (parameters
our space does not define are dropped, a configuration our space rejects is skipped) and
evaluated with the same CV as every other strategy. LightGBM/XGBoost suggestions have no
counterpart in the space and are not used: the point measures FLAML's knowledge, not its learners.
"""

from __future__ import annotations

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
        if "max_leaves" in hyperparams:
            hyperparams["max_leaf_nodes"] = hyperparams.pop("max_leaves")
        known = default_config(learner, task_type=problem.task_type)
        kept = {k: v for k, v in hyperparams.items() if k in known}
        try:
            configs.append((learner, validate_params(learner, kept, task_type=problem.task_type)))
        except InvalidConfigError:
            continue
    return configs
