"""One dataset's share of the benchmark: prepare it once, then run its pending (seed, strategy)s.

Runs in a pool process (or inline with ``--jobs 1``). Each finished run is written to its own file
at once, so an interruption loses at most the runs in flight. Progress goes to a sink (a queue
shared with the parent, or a direct printer).
"""

from __future__ import annotations

import functools
import hashlib
import subprocess
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from benchmarks.e2e._datasets import DatasetEntry
from benchmarks.e2e._holdout import HoldOut, find_in_kb
from benchmarks.e2e._problem import Problem, prepare_problem
from benchmarks.e2e._store import SCHEMA_VERSION, run_path, write_json_atomic
from benchmarks.e2e._strategies import STRATEGIES, RunContext
from benchmarks.e2e._trials import TrialEvaluator

__all__ = ["DatasetJob", "ProgressSink", "code_version", "run_dataset"]

_REPO_ROOT = Path(__file__).resolve().parents[2]


CODE_DIRS = ("metaknowledge", "service", "benchmarks")
"""The code a run's result depends on (documentation and tests do not change results)."""


@functools.cache
def code_version() -> str:
    """An id of the committed code that runs: the first 12 hex digits of the sha1 of the git tree
    ids of :data:`CODE_DIRS` (so commits that touch only docs or tests keep it), ``+dirty`` with
    uncommitted changes there, ``unknown`` outside a git checkout. A run spread over several
    sessions must say when its runs came from different code."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=_REPO_ROOT, capture_output=True, text=True, check=True, timeout=30
        )
        return done.stdout.strip()

    try:
        trees = git("rev-parse", *(f"HEAD:{d}" for d in CODE_DIRS))
        changed = git("status", "--porcelain", "--", *CODE_DIRS)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    version = hashlib.sha1(trees.encode(), usedforsecurity=False).hexdigest()[:12]
    return f"{version}+dirty" if changed else version


class ProgressSink(Protocol):
    """Where progress events go: ``{"dataset", "seed", "strategy", "status", ...}``."""

    def put(self, item: dict[str, Any]) -> None:
        """Deliver one event."""
        ...


@dataclass(frozen=True)
class DatasetJob:
    """The runs still to do on one dataset."""

    entry: DatasetEntry
    out: Path
    pending: tuple[tuple[int, str], ...]
    settings: dict[str, Any] = field(default_factory=dict)
    timeout_s: float | None = None
    code_version: str = "unknown"  # taken once by the parent, when the pool imports the code

    @property
    def n_trials(self) -> int:
        """The trial budget of the search strategies."""
        return int(self.settings["trials"])


def _fit_proposers(job: DatasetJob, problem: Problem) -> tuple[Any, Any, HoldOut, str]:
    """Meta-model and kNN fitted without the dataset itself; the hold-out; the KB version."""
    from metaknowledge import MetaModel, load_knowledge_base
    from metaknowledge.evaluation import KnnBestConfigs
    from metaknowledge.exceptions import MetaknowledgeError

    # The KB of the problem's task type, as the service's advisor for a task of that type.
    try:
        kb = load_knowledge_base(task_type=problem.task_type)
    except MetaknowledgeError:  # none: the CLI skipped the strategies that need one
        return None, None, HoldOut((), ""), ""
    holdout = find_in_kb(
        kb,
        problem.metafeatures,
        openml_did=problem.openml_did,
        class_counts=problem.class_counts,
        name=problem.name,
    )
    needs_kb = any(STRATEGIES[s].needs_kb for _, s in job.pending)
    if not needs_kb:
        return None, None, holdout, kb.version
    kb_fit = kb.without(holdout.kb_ids)
    model = MetaModel(random_state=0).fit(kb_fit)
    knn = KnnBestConfigs().fit(kb_fit)
    return model, knn, holdout, kb.version


def _payload(
    job: DatasetJob,
    problem: Problem,
    seed: int,
    strategy: str,
    records: list[Any],
    wall_s: float,
    holdout: HoldOut,
    kb_version: str,
) -> dict[str, Any]:
    return {
        "schema": SCHEMA_VERSION,
        "dataset": problem.name,
        "seed": seed,
        "strategy": strategy,
        "settings": job.settings,
        "point": STRATEGIES[strategy].point,
        "task_type": problem.task_type,
        "metric": problem.metric,
        "maximize": problem.maximize,
        "n_rows": problem.n_rows,
        "holdout": holdout.as_dict(),
        "kb_version": kb_version,
        "code_version": job.code_version,
        "wall_s": wall_s,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "trials": [r.as_dict() for r in records],
    }


def run_dataset(job: DatasetJob, sink: ProgressSink) -> None:
    """Run every pending (seed, strategy) of ``job.entry``, writing one file per run."""
    name = job.entry.name
    with tempfile.TemporaryDirectory(prefix="e2e-") as scratch:
        try:
            problem = prepare_problem(job.entry, Path(scratch))
            model, knn, holdout, kb_version = _fit_proposers(job, problem)
        except Exception as e:
            for seed, strategy in job.pending:
                sink.put(_event(name, seed, strategy, "error", error=f"{type(e).__name__}: {e}"))
            return
        evaluator = TrialEvaluator(
            problem, folds=int(job.settings["folds"]), timeout_s=job.timeout_s
        )
        try:
            evaluator.warm_up()
            for seed, strategy in job.pending:
                ctx = RunContext(
                    evaluator=evaluator,
                    seed=seed,
                    n_trials=job.n_trials,
                    warm_k=min(int(job.settings["warm_k"]), job.n_trials),
                    metafeatures=problem.metafeatures,
                    metamodel=model,
                    knn=knn,
                )
                start = time.perf_counter()
                try:
                    records = STRATEGIES[strategy].run(ctx)
                except Exception as e:
                    detail = traceback.format_exc(limit=3)
                    sink.put(_event(name, seed, strategy, "error", error=f"{e!r}", detail=detail))
                    continue
                wall = time.perf_counter() - start
                payload = _payload(job, problem, seed, strategy, records, wall, holdout, kb_version)
                write_json_atomic(run_path(job.out, name, seed, strategy), payload)
                scores = [r.score for r in records if r.score is not None]
                sink.put(
                    _event(
                        name,
                        seed,
                        strategy,
                        "done",
                        best=(max if problem.maximize else min)(scores) if scores else None,
                        trials=len(records),
                        failed=len(records) - len(scores),
                        wall_s=wall,
                    )
                )
        finally:
            evaluator.close()


def _event(dataset: str, seed: int, strategy: str, status: str, **extra: Any) -> dict[str, Any]:
    return {"dataset": dataset, "seed": seed, "strategy": strategy, "status": status, **extra}
