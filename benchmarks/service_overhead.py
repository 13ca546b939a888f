"""Per-trial overhead of the service (worker + Optuna + database) over the bare CV of a config.

    python benchmarks/service_overhead.py [--trials 20] [--rows 3000] [--warm-start 10]
        [--database-url URL]

Runs a cold-start study of ``--trials`` trials through a real worker (inline, and in the child
process that enforces the per-trial time limit), then one whose first ``--warm-start`` trials are
steered by the meta-model (inline; each of them asks the meta-model with the results so far).
Overhead per trial = (study wall time - the CV time measured around ``evaluate`` inside each trial)
/ trials: everything the service adds (slot reservation, Optuna ask/tell, trial records, IPC to the
child). The child process is started before the clock runs, as in a worker that has run before;
its start-up is reported on its own. Measuring both in the same run keeps machine noise out of the
difference; as a sanity check the same configurations are then cross-validated again with no service
at all (``bare_cv_s``). Target: < 5% of the trial time. Prints a markdown table and writes JSON
(``--out``).
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from service.app import prepare_database
from service.config import Settings
from service.context import ServiceContext
from service.operations.datasets import register_dataset
from service.operations.studies import create_study, list_trials
from service.operations.tasks import create_task
from service.profiling import split_problem
from service.runner import ChildExecutor, InlineExecutor, Worker
from service.runner.objective import TrialJob, evaluate
from service.schemas import StudyCreate, TaskCreate
from service.tables import read_table

REPO_ROOT = Path(__file__).resolve().parents[1]
LEARNERS = ["random_forest", "hist_gradient_boosting", "logistic_regression", "extra_trees"]
TARGET_OVERHEAD = 0.05


def make_table(n_rows: int, seed: int = 0) -> bytes:
    """A generated classification table with numeric and categorical features."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_rows, 12))
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(12)])
    frame["cat"] = rng.choice(list("abcde"), size=n_rows)
    frame["y"] = np.where(x[:, 0] + 0.5 * x[:, 1] - x[:, 2] * x[:, 3] > 0, "pos", "neg")
    return frame.to_csv(index=False).encode()


def run_mode(
    ctx: ServiceContext, task_id: int, trials: int, mode: str, *, warm_start: int = 0
) -> dict[str, Any]:
    """One study in ``mode`` (inline | child | steered, inline with ``warm_start`` steered
    trials): wall time vs the CV time inside its trials."""
    tenant = ctx.local_tenant_id
    study = create_study(
        ctx,
        tenant,
        StudyCreate(
            task_id=task_id, n_trials=trials, warm_start=warm_start, seed=0, learners=LEARNERS
        ),
    )
    executor = ChildExecutor(3600.0) if mode == "child" else InlineExecutor()
    startup = start_child(ctx, executor) if isinstance(executor, ChildExecutor) else 0.0
    worker = Worker(ctx, name=f"bench-{mode}", executor=executor)
    t0 = time.perf_counter()
    worker.work_on(study.id)
    wall = time.perf_counter() - t0
    executor.close()
    done = list_trials(ctx, tenant, study.id).items
    cv = sum(t.duration_s or 0.0 for t in done)
    return {
        "mode": mode,
        "warm_start": warm_start,
        "trials": len(done),
        "failed": sum(t.state == "failed" for t in done),
        "study_wall_s": wall,
        "cv_s": cv,
        "mean_trial_s": cv / len(done),
        "overhead_per_trial_s": (wall - cv) / len(done),
        "overhead_fraction": (wall - cv) / cv,
        "startup_s": startup,
    }


def start_child(ctx: ServiceContext, executor: ChildExecutor) -> float:
    """Start the executor's child (spawn, imports, data load) as a long-running worker has long
    done; the seconds it took besides its warm-up trial (once per worker, not per trial)."""
    path = next(ctx.files.root.glob("*.csv"))
    job = TrialJob(
        dataset_path=str(path),
        target="y",
        task_type="classification",
        metric="balanced_accuracy",
        folds=ctx.settings.cv_folds,
        seed=0,
        learner="gaussian_nb",
        params={},
    )
    t0 = time.perf_counter()
    outcome = executor.run(job)
    return time.perf_counter() - t0 - outcome.duration_s


def bare_cv(ctx: ServiceContext, trials: list[Any]) -> float:
    """Seconds to cross-validate the same configurations with no service around them."""
    frame, _ = read_table(next(ctx.files.root.glob("*.csv")))
    problem = split_problem(frame, "y", "classification")
    t0 = time.perf_counter()
    for trial in trials:
        evaluate(
            problem.X,
            problem.y,
            trial.learner,
            trial.params,
            task_type="classification",
            metric="balanced_accuracy",
            folds=ctx.settings.cv_folds,
            seed=0,
        )
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--warm-start", type=int, default=10, help="steered trials (last row)")
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "results" / "service_overhead.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        ctx = ServiceContext(Settings(home=Path(home), database_url=args.database_url))
        try:
            prepare_database(ctx)
            tenant = ctx.local_tenant_id
            dataset, _ = register_dataset(
                ctx, tenant, io.BytesIO(make_table(args.rows)), filename="bench.csv"
            )
            task, _ = create_task(ctx, tenant, TaskCreate(dataset_id=dataset.id, target="y"))
            rows = [run_mode(ctx, task.id, args.trials, mode) for mode in ("inline", "child")]
            if args.warm_start > 0:
                ctx.load_advisor()
                rows.append(
                    run_mode(ctx, task.id, args.trials, "steered", warm_start=args.warm_start)
                )
            first = list_trials(ctx, tenant, 1).items
            rows[0]["bare_cv_s"] = bare_cv(ctx, first)
        finally:
            ctx.close()
    print(
        "| mode | trials | warm start | mean CV per trial (s) | overhead / trial (ms) | overhead "
        "| start-up, once (s) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['mode']} | {r['trials']} | {r['warm_start']} | {r['mean_trial_s']:.3f} | "
            f"{r['overhead_per_trial_s'] * 1000:.1f} | {r['overhead_fraction']:.1%} | "
            f"{r['startup_s']:.2f} |"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "benchmark": "service_overhead",
                "rows": args.rows,
                "database": args.database_url or "sqlite",
                "results": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(
        f"\nbare CV of the inline study's configurations: {rows[0]['bare_cv_s']:.2f} s "
        f"(inside the service: {rows[0]['cv_s']:.2f} s)"
    )
    print(f"target < {TARGET_OVERHEAD:.0%} of trial time; wrote {args.out}")


if __name__ == "__main__":
    main()
