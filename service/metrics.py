"""The metrics a task can be optimised for: name, task type, direction and sklearn scorer.

Scores are reported in the metric's natural units (``rmse`` is a positive error, lower is better);
``maximize`` says which way is better.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.errors import InvalidRequestError

__all__ = ["DEFAULT_METRIC", "METRICS", "Metric", "get_metric"]


@dataclass(frozen=True)
class Metric:
    """A metric: sklearn scorer name(s) and the sign turning the scorer's value into the score."""

    name: str
    task_type: str
    maximize: bool
    scorer: str
    multiclass_scorer: str | None = None

    @property
    def sign(self) -> float:
        """Factor from sklearn's "greater is better" scorer value to the natural score."""
        return 1.0 if self.maximize else -1.0

    def scorer_for(self, n_classes: int) -> str:
        """The sklearn scorer name for a target with ``n_classes`` classes (0 for regression)."""
        if n_classes > 2 and self.multiclass_scorer:
            return self.multiclass_scorer
        return self.scorer


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("balanced_accuracy", "classification", True, "balanced_accuracy"),
        Metric("accuracy", "classification", True, "accuracy"),
        Metric("roc_auc", "classification", True, "roc_auc", "roc_auc_ovr"),
        Metric("f1_macro", "classification", True, "f1_macro"),
        Metric("log_loss", "classification", False, "neg_log_loss"),
        Metric("r2", "regression", True, "r2"),
        Metric("rmse", "regression", False, "neg_root_mean_squared_error"),
        Metric("mae", "regression", False, "neg_mean_absolute_error"),
    )
}
DEFAULT_METRIC = {"classification": "balanced_accuracy", "regression": "r2"}


def get_metric(name: str | None, task_type: str) -> Metric:
    """The metric ``name`` (default: the task type's default), checked against the task type.

    Raises:
        InvalidRequestError: unknown metric, or one that does not fit the task type.
    """
    metric = METRICS.get(name or DEFAULT_METRIC[task_type])
    if metric is None:
        raise InvalidRequestError(f"unknown metric {name!r}; choose one of {sorted(METRICS)}")
    if metric.task_type != task_type:
        valid = sorted(m for m, spec in METRICS.items() if spec.task_type == task_type)
        raise InvalidRequestError(
            f"metric {metric.name!r} is for {metric.task_type} tasks; for {task_type} use {valid}"
        )
    return metric
