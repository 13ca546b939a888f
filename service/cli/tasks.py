"""``warmstart recommend | tune | similar DATA --target COL``: for people and CI pipelines.

Each works locally (no server; the embedded database under WARMSTART_HOME keeps the history) or
against a server with ``--server URL``. Output is a table, or JSON with ``--json``; failures exit
non-zero with a one-line reason (see :func:`service.cli.main`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from service.client import Backend, LocalBackend, RemoteBackend, TuneInterruptedError
from service.config import Settings
from service.schemas import StudyCreate, TaskPublic

__all__ = ["recommend", "similar", "tune"]

DataArg = Annotated[
    Path,
    typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV, Parquet or ARFF file"),
]
TargetOpt = Annotated[str, typer.Option("--target", "-t", help="target column")]
ServerOpt = Annotated[
    str | None, typer.Option("--server", help="server URL, e.g. http://127.0.0.1:8000")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
TaskTypeOpt = Annotated[
    str | None, typer.Option("--task-type", help="classification or regression (inferred)")
]
MetricOpt = Annotated[str | None, typer.Option("--metric", help="metric (default per task type)")]
LearnerOpt = Annotated[
    list[str] | None, typer.Option("--learner", help="restrict to this learner (repeatable)")
]


def _console(as_json: bool) -> Console:
    # Status and progress go to stderr, so --json output on stdout stays machine-readable.
    return Console(stderr=True, quiet=as_json)


@contextmanager
def _backend(server: str | None, console: Console) -> Iterator[Backend]:
    if server:
        key = Settings().api_key
        backend: Backend = RemoteBackend(server, api_key=key.get_secret_value() if key else None)
    else:
        with console.status("loading the meta-model ..."):
            backend = LocalBackend(Settings())
    try:
        yield backend
    finally:
        backend.close()


def _register(
    backend: Backend,
    data: Path,
    target: str,
    task_type: str | None,
    metric: str | None,
    console: Console,
) -> TaskPublic:
    with console.status(f"profiling {data.name} ..."):
        return backend.register(data, target, task_type=task_type, metric=metric)


def _print_json(model: BaseModel | dict[str, Any]) -> None:
    payload = model.model_dump(mode="json") if isinstance(model, BaseModel) else model
    typer.echo(json.dumps(payload, indent=2))


def _params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())


def recommend(
    data: DataArg,
    target: TargetOpt,
    k: Annotated[int, typer.Option("-k", "--k", min=1, max=100, help="how many")] = 5,
    learner: LearnerOpt = None,
    task_type: TaskTypeOpt = None,
    metric: MetricOpt = None,
    server: ServerOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Recommend K configurations for DATA, best first."""
    console = _console(as_json)
    with _backend(server, console) as backend:
        task = _register(backend, data, target, task_type, metric, console)
        result = backend.recommend(task.id, k, learner or None)
    if as_json:
        _print_json(result)
        return
    table = Table(
        title=f"{data.name} → {target} ({task.task_type}), meta-model {result.metamodel_version}"
    )
    for column in ("#", "learner", "params", "predicted", "evidence"):
        table.add_column(column)
    for item in result.items:
        evidence = ", ".join(f"{e.name} ({e.score:.3f})" for e in item.evidence[:2])
        predicted = "-" if item.predicted_score is None else f"{item.predicted_score:.3f}"
        table.add_row(str(item.rank), item.learner, _params(item.params), predicted, evidence)
    Console().print(table)


def similar(
    data: DataArg,
    target: TargetOpt,
    k: Annotated[int, typer.Option("-k", "--k", min=1, max=100, help="how many")] = 5,
    task_type: TaskTypeOpt = None,
    metric: MetricOpt = None,
    server: ServerOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the past problems (service tasks, knowledge-base datasets) closest to DATA."""
    console = _console(as_json)
    with _backend(server, console) as backend:
        task = _register(backend, data, target, task_type, metric, console)
        result = backend.similar(task.id, k)
    if as_json:
        _print_json(result)
        return
    table = Table(title=f"problems similar to {data.name} → {target}")
    for column in ("source", "name", "distance", "best learner", "best score"):
        table.add_column(column)
    for item in result.items:
        table.add_row(
            item.source,
            item.name or "",
            f"{item.distance:.3f}",
            item.best.learner if item.best else "",
            f"{item.best.score:.4f}" if item.best else "",
        )
    Console().print(table)


def tune(
    data: DataArg,
    target: TargetOpt,
    trials: Annotated[int, typer.Option("--trials", min=1, help="number of trials")] = 30,
    warm_start: Annotated[
        int | None,
        typer.Option(
            "--warm-start",
            min=0,
            help="warm-start trials (default 5 if the KB covers the task type, else 0)",
        ),
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="sampler and CV seed")] = None,
    timeout_s: Annotated[
        float | None, typer.Option("--timeout", help="study time budget in seconds")
    ] = None,
    learner: LearnerOpt = None,
    task_type: TaskTypeOpt = None,
    metric: MetricOpt = None,
    server: ServerOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run a warm-started study on DATA and print the best configuration.

    Exits 1 when the study does not succeed, 130 when interrupted (Ctrl-C: locally the running
    trial stops and the study is cancelled; with --server the study goes on there). The trials
    run so far are printed either way.
    """
    console = _console(as_json)
    with _backend(server, console) as backend:
        task = _register(backend, data, target, task_type, metric, console)
        request = StudyCreate(
            task_id=task.id,
            n_trials=trials,
            warm_start=warm_start,
            seed=seed,
            timeout_s=timeout_s,
            learners=learner or None,
        )
        with Progress(
            TextColumn("[bold]tuning"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            job = bar.add_task("trials", total=trials)
            interrupted: TuneInterruptedError | None = None
            try:
                study = backend.tune(
                    request, lambda done, total: bar.update(job, completed=done, total=total)
                )
            except TuneInterruptedError as e:
                interrupted, study = e, e.study
        study_trials = backend.trials(study.id)
    if as_json:
        _print_json(
            {
                "study": study.model_dump(mode="json"),
                "trials": study_trials.model_dump(mode="json")["items"],
            }
        )
    else:
        table = Table(
            title=f"study {study.id}: {study.status}, {study.n_complete} complete, "
            f"{study.n_failed} failed ({study.metric})"
        )
        for column in ("#", "source", "learner", "score", "seconds", "error"):
            table.add_column(column)
        for t in study_trials.items:
            table.add_row(
                str(t.number),
                t.source,
                t.learner or "",
                "" if t.score is None else f"{t.score:.4f}",
                "" if t.duration_s is None else f"{t.duration_s:.2f}",
                (t.error or "")[:60],
            )
        out = Console()
        out.print(table)
        if study.best is not None:
            out.print(
                f"best: trial {study.best.trial_number} {study.best.learner} "
                f"{_params(study.best.params)} → {study.metric} = {study.best.score:.4f}"
            )
    if interrupted is not None:
        typer.echo(str(interrupted), err=True)
        raise typer.Exit(130)
    if study.status != "succeeded":
        raise typer.Exit(1)
