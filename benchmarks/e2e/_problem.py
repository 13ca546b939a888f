"""Turning a benchmark table into a task exactly as the service would see an upload of it.

The table is written as CSV to a scratch folder and read back with the service's own reader
(:func:`service.tables.read_table`), split with :func:`service.profiling.split_problem` and
profiled with :func:`service.profiling.compute_metafeatures`; trials then run on that CSV through
the service's executor, so the benchmark measures what the service runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from benchmarks.e2e._datasets import TARGET, DatasetEntry, load_frame

__all__ = ["DEFAULT_METRICS", "Problem", "prepare_problem"]

#: The metric per task type: the service's defaults, which are also the bundled KBs' metrics.
DEFAULT_METRICS = {"classification": "balanced_accuracy", "regression": "r2"}


@dataclass(frozen=True)
class Problem:
    """A benchmark dataset ready for trials: where its CSV is and what it looks like."""

    name: str
    csv_path: Path
    task_type: str
    metric: str
    maximize: bool
    n_rows: int
    metafeatures: dict[str, float]
    class_counts: tuple[int, ...]
    openml_did: int | None


def prepare_problem(entry: DatasetEntry, scratch: Path) -> Problem:
    """Write ``entry`` as CSV under ``scratch`` and profile it with the service's code.

    Raises the service's errors (``InvalidUploadError``, ``InvalidRequestError``) for a table the
    service would refuse.
    """
    from service.metrics import get_metric
    from service.profiling import compute_metafeatures, split_problem
    from service.tables import read_table

    csv_path = scratch / f"{entry.name}.csv"
    load_frame(entry.path).to_csv(csv_path, index=False)
    frame, _ = read_table(csv_path)
    data = split_problem(frame, TARGET, entry.task_type)
    metric = get_metric(DEFAULT_METRICS[data.task_type], data.task_type)
    raw = compute_metafeatures(data)
    metafeatures = {k: float(v) for k, v in raw.items() if v is not None and math.isfinite(v)}
    counts: tuple[int, ...] = ()
    if data.task_type == "classification":
        counts = tuple(sorted((int(c) for c in data.y.astype(str).value_counts()), reverse=True))
    return Problem(
        name=entry.name,
        csv_path=csv_path,
        task_type=data.task_type,
        metric=metric.name,
        maximize=metric.maximize,
        n_rows=len(data.y),
        metafeatures=metafeatures,
        class_counts=counts,
        openml_did=entry.openml_did,
    )
