"""Does the service learn from its own history? Regret on a new dataset before and after a refit.

    python -m benchmarks.learning_loop [--members 4] [--trials 10] [--new 3] [--rows 200]
                                       [--no-control] [--database-url URL] [--out FILE]

Everything runs through the real service in this process: the API app (uploads, tasks, studies,
recommendations over HTTP with FastAPI's test client), a real worker running real Optuna studies
on the database (a temporary SQLite file, or ``--database-url``), and the refit that
``warmstart kb refit`` runs.

1. ``--members`` datasets of one family are uploaded and tuned (``--trials`` trials each, the
   default warm start from the model served at the time, learners restricted to four fast ones).
2. ``--new`` further members get recommendations (``k`` = 3) from the model served *before* the
   refit (the bundled snapshot), then the service refits (public model + this tenant's history)
   and they get recommendations again *after* it.
3. Every recommended configuration, and every configuration of the fast learners in the bundled
   knowledge base (the reference grid), is cross-validated on each new dataset with the trials'
   protocol; regret@k = best score found - best score among the first k recommendations.

The family ("spread"): two balanced classes whose numeric features differ only in their spread
(class ``b``'s are 2.5 times as wide as class ``a``'s), 5 to 8 features. Gaussian naive Bayes
models that exactly, trees and kNN only roughly, linear models not at all; for datasets of this
shape the bundled knowledge base ranks a decision tree first. A control family ("oblique": a
noisy linear boundary, which logistic regression fits best) with no history in the service
shows what the tenant's history does to recommendations for a different kind of data.

Prints a markdown table and writes JSON (``--out``). Timing-free: the figures are regrets.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from fastapi.testclient import TestClient

from metaknowledge.searchspace import config_key
from service.app import create_app
from service.config import Settings
from service.context import ServiceContext
from service.operations.refit import refit
from service.runner import Worker

__all__ = [
    "FAMILIES",
    "FAST_LEARNERS",
    "oblique_family",
    "regrets",
    "run_loop",
    "spread_family",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
FAST_LEARNERS = ["decision_tree", "knn", "gaussian_nb", "logistic_regression"]
TARGET = "label"
KS = (1, 2, 3)


def spread_family(seed: int, n_rows: int = 200) -> pd.DataFrame:
    """A member of the "spread" family: classes differ only in the width of their features."""
    rng = np.random.default_rng(seed)
    n_features = 5 + seed % 4
    y = rng.integers(0, 2, n_rows)
    x = rng.normal(size=(n_rows, n_features)) * np.where(y[:, None] == 1, 2.5, 1.0)
    frame = pd.DataFrame(x.round(4), columns=[f"f{i}" for i in range(n_features)])
    frame[TARGET] = np.array(["a", "b"])[y]
    return frame


def oblique_family(seed: int, n_rows: int = 200) -> pd.DataFrame:
    """A member of the control family: a noisy linear boundary in 5 to 8 features."""
    rng = np.random.default_rng(seed)
    n_features = 5 + seed % 4
    x = rng.normal(size=(n_rows, n_features))
    y = (x @ rng.normal(size=n_features) + 0.5 * rng.normal(size=n_rows) > 0).astype(int)
    frame = pd.DataFrame(x.round(4), columns=[f"f{i}" for i in range(n_features)])
    frame[TARGET] = np.array(["a", "b"])[y]
    return frame


FAMILIES: dict[str, Callable[[int, int], pd.DataFrame]] = {
    "spread": spread_family,
    "oblique": oblique_family,
}


def _ok(response: Any, *codes: int) -> dict[str, Any]:
    if response.status_code not in codes:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.text}")
    body: dict[str, Any] = response.json()
    return body


def register(client: TestClient, frame: pd.DataFrame, name: str) -> int:
    """Upload ``frame`` and define its task through the API; the task id."""
    data = frame.to_csv(index=False).encode()
    dataset = _ok(
        client.post("/v1/datasets", files={"file": (f"{name}.csv", io.BytesIO(data))}), 200, 201
    )
    task = _ok(
        client.post("/v1/tasks", json={"dataset_id": dataset["id"], "target": TARGET}), 200, 201
    )
    return int(task["id"])


def recommend(client: TestClient, task_id: int, k: int) -> dict[str, Any]:
    """``POST /v1/tasks/{id}/recommendations`` restricted to the fast learners."""
    return _ok(
        client.post(
            f"/v1/tasks/{task_id}/recommendations", json={"k": k, "learners": FAST_LEARNERS}
        ),
        200,
    )


def _scores(
    frame: pd.DataFrame, configs: dict[str, tuple[str, dict[str, Any]]], *, folds: int
) -> dict[str, float]:
    """Cross-validated balanced accuracy of each configuration (the trials' protocol, seed 0)."""
    from service.profiling import split_problem
    from service.runner.objective import evaluate

    problem = split_problem(frame, TARGET, "classification")
    out: dict[str, float] = {}
    for key, (learner, params) in configs.items():
        try:
            out[key] = evaluate(
                problem.X,
                problem.y,
                learner,
                params,
                task_type="classification",
                metric="balanced_accuracy",
                folds=folds,
                seed=0,
            )
        except Exception:
            out[key] = float("nan")  # a configuration that fails finds nothing
    return out


def _reference_grid() -> dict[str, tuple[str, dict[str, Any]]]:
    from metaknowledge import load_knowledge_base

    kb = load_knowledge_base()
    return {
        config_key(str(c["learner"]), dict(c["params"])): (str(c["learner"]), dict(c["params"]))
        for c in kb.configs.values()
        if c["learner"] in FAST_LEARNERS
    }


def regrets(scores: list[float], best: float, ks: tuple[int, ...] = KS) -> dict[str, float]:
    """``{"@k": best - max(scores[:k])}`` (failed configurations count as finding nothing)."""
    out: dict[str, float] = {}
    for k in ks:
        found = [s for s in scores[:k] if np.isfinite(s)]
        out[f"@{k}"] = best - max(found) if found else best
    return out


def run_loop(
    client: TestClient,
    *,
    members: int = 4,
    trials: int = 10,
    new: int = 3,
    rows: int = 200,
    k: int = 3,
    family: str = "spread",
    controls: tuple[str, ...] = ("oblique",),
    reference_grid: bool = True,
    seed: int = 0,
) -> dict[str, Any]:
    """Run the loop on ``client``'s app (see the module docstring); the results as a dict.

    Members use seeds ``seed .. seed + members - 1``; new datasets ``seed + 100 ...`` of the
    family and of each control family.
    """
    ctx: ServiceContext = client.app.state.context  # type: ignore[attr-defined]
    started = time.perf_counter()
    make = FAMILIES[family]
    studies = []
    for i in range(members):
        task_id = register(client, make(seed + i, rows), f"{family}-{seed + i}")
        study = _ok(
            client.post(
                "/v1/studies",
                json={"task_id": task_id, "n_trials": trials, "learners": FAST_LEARNERS, "seed": i},
            ),
            202,
        )
        Worker(ctx, name="learning-loop").run(exit_when_idle=True)
        done = _ok(client.get(f"/v1/studies/{study['id']}"), 200)
        studies.append(
            {
                "task_id": task_id,
                "status": done["status"],
                "best": done["best"],
                "metamodel_version": done["metamodel_version"],
            }
        )
    held_out: list[tuple[str, int, pd.DataFrame, int]] = []
    for name in (family, *controls):
        for j in range(new):
            frame = FAMILIES[name](seed + 100 + j, rows)
            held_out.append(
                (name, seed + 100 + j, frame, register(client, frame, f"new-{name}-{j}"))
            )
    before = {task_id: recommend(client, task_id, k) for _, _, _, task_id in held_out}
    report = refit(ctx, trigger="benchmark")
    ctx.refresh_metamodels()  # what the API's watcher does within WARMSTART_METAMODEL_POLL_S
    after = {task_id: recommend(client, task_id, k) for _, _, _, task_id in held_out}
    grid = _reference_grid() if reference_grid else {}
    datasets = []
    for name, data_seed, frame, task_id in held_out:
        recommended = {
            config_key(i["learner"], i["params"]): (i["learner"], i["params"])
            for answer in (before[task_id], after[task_id])
            for i in answer["items"]
        }
        scores = _scores(frame, {**grid, **recommended}, folds=ctx.settings.cv_folds)
        best = max(s for s in scores.values() if np.isfinite(s))
        row: dict[str, Any] = {"family": name, "seed": data_seed, "best_known": best}
        for label, answer in (("before", before[task_id]), ("after", after[task_id])):
            items = answer["items"]
            found = [scores[config_key(i["learner"], i["params"])] for i in items]
            row[label] = {
                "metamodel_version": answer["metamodel_version"],
                "learners": [i["learner"] for i in items],
                "scores": found,
                "regret": regrets(found, best),
            }
        datasets.append(row)
    summary = {
        name: {
            label: {
                f"@{kk}": statistics.fmean(
                    d[label]["regret"][f"@{kk}"] for d in datasets if d["family"] == name
                )
                for kk in KS
            }
            for label in ("before", "after")
        }
        for name in (family, *controls)
    }
    return {
        "benchmark": "learning_loop",
        "family": family,
        "controls": list(controls),
        "members": members,
        "trials": trials,
        "rows": rows,
        "k": k,
        "learners": FAST_LEARNERS,
        "reference_grid": len(grid),
        "studies": studies,
        "refit": report.as_dict(),
        "datasets": datasets,
        "mean_regret": summary,
        "wall_s": time.perf_counter() - started,
    }


def markdown(result: dict[str, Any]) -> str:
    """One row per new dataset and one per family mean: regret@k before → after the refit."""
    ks = [f"@{k}" for k in KS]
    lines = [
        "| dataset | version before → after | top-1 before → after | "
        + " | ".join(f"regret{k}" for k in ks)
        + " |",
        "|---|---|---|" + "---:|" * len(ks),
    ]
    for d in result["datasets"]:
        b, a = d["before"], d["after"]
        cells = " | ".join(f"{b['regret'][k]:.3f} → {a['regret'][k]:.3f}" for k in ks)
        lines.append(
            f"| {d['family']} #{d['seed']} | {b['metamodel_version']} → {a['metamodel_version']} "
            f"| {b['learners'][0]} → {a['learners'][0]} | {cells} |"
        )
    for name, s in result["mean_regret"].items():
        cells = " | ".join(f"{s['before'][k]:.3f} → {s['after'][k]:.3f}" for k in ks)
        lines.append(f"| **{name} (mean)** | | | {cells} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=4, help="family datasets tuned first")
    parser.add_argument("--trials", type=int, default=10, help="trials per study")
    parser.add_argument("--new", type=int, default=3, help="new datasets per family")
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-control", action="store_true", help="skip the control family")
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "results" / "learning_loop.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(
            home=Path(home),
            database_url=args.database_url,
            cv_folds=3,
            trial_timeout_s=0,
            metamodel_poll_s=0,
        )
        with TestClient(create_app(settings)) as client:
            result = run_loop(
                client,
                members=args.members,
                trials=args.trials,
                new=args.new,
                rows=args.rows,
                controls=() if args.no_control else ("oblique",),
                seed=args.seed,
            )
    table = markdown(result)
    print(table)
    result["markdown"] = table
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(
        f"\n{result['members']} studies x {result['trials']} trials, refit, "
        f"{result['wall_s']:.0f} s; wrote {args.out}"
    )


if __name__ == "__main__":
    main()
