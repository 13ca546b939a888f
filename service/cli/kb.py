"""``warmstart kb``: build, inspect and evaluate the meta-knowledge base."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from metaknowledge.evaluation import (
    DEFAULT_KS,
    ORACLE_NAME,
    AverageRank,
    EvaluationResult,
    GreedyPortfolio,
    KnnBestConfigs,
    RandomOrder,
    check_higher_is_better,
    evaluable_dataset_ids,
    evaluate_proposer,
    similarity_oracle,
)
from metaknowledge.exceptions import InvalidInputError
from metaknowledge.knowledge import (
    KnowledgeBase,
    collect_knowledge_base,
    default_snapshot_dir,
    load_knowledge_base,
    merge_knowledge_bases,
    write_snapshot,
)
from metaknowledge.knowledge._build import (
    build_regression_snapshot,
    build_snapshot,
    default_cache_dir,
)
from metaknowledge.metamodel import MetaModel, Proposer
from service.cli.refit import refit_command, versions_command

app = typer.Typer(help="Build, inspect and evaluate the meta-knowledge base.", no_args_is_help=True)
console = Console(stderr=True)

SnapshotOption = Annotated[
    Path | None,
    typer.Option("--snapshot", help="Snapshot directory (default: the bundled one)."),
]
TaskOption = Annotated[
    str,
    typer.Option(
        "--task",
        help="classification or regression: which bundled snapshot (default: "
        "classification); checked against --snapshot's.",
    ),
]


def _check_task(task: str) -> str:
    if task not in ("classification", "regression"):
        raise typer.BadParameter("task must be classification or regression", param_hint="--task")
    return task


def _progress() -> Progress:
    """The progress bar of long ``kb`` commands (on stderr, so stdout stays parseable)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
    )


@app.command()
def build(
    cache: Annotated[Path | None, typer.Option(help="Where downloaded sources are kept.")] = None,
    out: Annotated[Path | None, typer.Option(help="Snapshot directory to write.")] = None,
    regression_out: Annotated[
        Path | None, typer.Option(help="Regression snapshot directory to write.")
    ] = None,
    notice: Annotated[Path | None, typer.Option(help="NOTICE file to write.")] = None,
) -> None:
    """Download the pinned sources (oboe 0.2.0, lcdb 0.1.0, auto-sklearn 0.15.0), verify and
    convert them.

    Writes the classification and the regression snapshots (default: the package's bundled ones)
    and the NOTICE beside the package, and reports what the auto-sklearn mapping left out.
    """
    out_dir = out or default_snapshot_dir()
    regression_dir = regression_out or default_snapshot_dir("regression")
    notice_path = notice or default_snapshot_dir().parent.parent / "NOTICE"
    cache_dir = cache or default_cache_dir()
    with console.status("fetching and converting the sources"):
        kb = build_snapshot(cache_dir, out_dir, notice_path)
        regression, report = build_regression_snapshot(cache_dir, regression_dir)
    lines = []
    for built, directory in ((kb, out_dir), (regression, regression_dir)):
        size = sum(p.stat().st_size for p in directory.iterdir() if p.is_file())
        lines.append(
            f"wrote {built.task_type} snapshot {built.version} to {directory} "
            f"({size / 1e6:.2f} MB): {len(built.dataset_ids)} datasets x "
            f"{len(built.config_ids)} configurations"
        )
    typer.echo("\n".join([*lines, *report.lines(), f"NOTICE at {notice_path}"]))


@app.command()
def info(
    snapshot: SnapshotOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    task: Annotated[
        str | None,
        typer.Option("--task", help="classification or regression (the bundled snapshot)."),
    ] = None,
) -> None:
    """Print what the loaded snapshot holds."""
    summary = load_knowledge_base(
        snapshot, task_type=_check_task(task) if task is not None else None
    ).summary()
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    lines = [
        f"snapshot {summary['version']}: {summary['task_type']}, metric {summary['metric']}",
        f"datasets {summary['n_datasets']}, configurations {summary['n_configs']}, "
        f"runs {summary['n_runs']} (density {summary['density']:.3f})",
        "learners: " + ", ".join(f"{k} ({v})" for k, v in summary["learners"].items()),
        f"meta-features: {summary['n_metafeatures']} "
        f"(on every dataset: {sum(1 for v in summary['metafeature_coverage'].values() if v >= 1)})",
        "sources:",
    ]
    lines += [
        f"  {s['package']} {s['version']} ({s['licence']}): {s['file']}" for s in summary["sources"]
    ]
    typer.echo("\n".join(lines))


ProposerFactory = Callable[[], Proposer]

ORACLE_NOTE = (
    f"*{ORACLE_NAME}*: not a proposer but a reference. It weighs the other datasets by how well "
    "their scores correlate with the held-out dataset's true ones (which no proposer can know) "
    "and builds the greedy portfolio with those weights: about as far as proposals from "
    "similar datasets can get on this knowledge base."
)


def _proposers(random_state: int) -> list[tuple[str, ProposerFactory]]:
    """The proposers ``evaluate`` compares, baselines first."""
    return [
        ("random", lambda: RandomOrder(random_state=random_state)),
        ("average rank", AverageRank),
        ("greedy portfolio", GreedyPortfolio),
        ("kNN best configs", KnnBestConfigs),
        ("metamodel", lambda: MetaModel(random_state=random_state)),
    ]


def markdown_table(results: list[EvaluationResult], ks: tuple[int, ...] = DEFAULT_KS) -> str:
    """Mean normalised regret@k per proposer and setting, as a markdown table."""
    head = "| proposer | setting | " + " | ".join(f"@{k}" for k in ks) + " |"
    rule = "|---|---|" + "---|" * len(ks)
    rows = [
        f"| {r.name} | {r.setting} | " + " | ".join(f"{r.mean_at(k):.3f}" for k in ks) + " |"
        for r in results
    ]
    return "\n".join([head, rule, *rows])


def _evaluated_kb(snapshot: Path | None, task: str, merge: list[Path]) -> KnowledgeBase:
    """The snapshot (or the bundled one of ``task``), merged with ``merge``'s snapshots."""
    kb = load_knowledge_base(snapshot, task_type=task)
    if merge:
        kb = merge_knowledge_bases(kb, *(load_knowledge_base(p, task_type=task) for p in merge))
    check_higher_is_better(kb)
    return kb


@app.command()
def evaluate(
    snapshot: SnapshotOption = None,
    task: TaskOption = "classification",
    merge: Annotated[
        list[Path] | None,
        typer.Option(
            "--merge",
            help="Also use this snapshot (e.g. from kb collect; repeatable), merged in.",
        ),
    ] = None,
    setting: Annotated[str, typer.Option(help="static, sequential or both.")] = "both",
    datasets: Annotated[
        int | None, typer.Option(min=1, help="Hold out only the first N datasets (quick look).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="JSON file to write (default results/kb_evaluate.json, "
            "results/kb_evaluate_regression.json for regression)."
        ),
    ] = None,
    random_state: Annotated[int, typer.Option("--seed")] = 0,
    readme: Annotated[
        Path | None,
        typer.Option(
            help="Also write the table between the kb-evaluate markers of this file "
            "(kb-evaluate-regression for regression)."
        ),
    ] = None,
) -> None:
    """Leave-one-dataset-out regret@k of the meta-model and the baselines (markdown + JSON).

    Held out: the datasets whose row holds two distinct scores (regret is undefined elsewhere);
    the others still train every proposer. The bundled regression snapshot has one run per
    dataset: evaluate it merged with a snapshot from ``kb collect`` (``--merge``).
    """
    if setting not in ("static", "sequential", "both"):
        raise typer.BadParameter(
            "setting must be static, sequential or both", param_hint="--setting"
        )
    _check_task(task)
    kb = _evaluated_kb(snapshot, task, merge or [])
    evaluable = evaluable_dataset_ids(kb)
    if not evaluable:
        raise InvalidInputError(
            f"no dataset of knowledge base {kb.version} has two distinct scores, so regret is "
            "undefined on every one (the bundled regression snapshot keeps one run per dataset: "
            "add a snapshot from `warmstart kb collect` with --merge)"
        )
    ids = evaluable[:datasets] if datasets else evaluable
    if out is None:
        out = Path(
            "results/kb_evaluate.json"
            if task == "classification"
            else "results/kb_evaluate_regression.json"
        )
    settings = ("static", "sequential") if setting == "both" else (setting,)
    jobs: list[tuple[str, ProposerFactory, str]] = []
    for name, factory in _proposers(random_state):
        for s in settings:
            # Baselines other than random ignore observations: their sequential run = static.
            if s == "sequential" and name not in ("random", "metamodel"):
                continue
            jobs.append((name, factory, s))
    results: list[EvaluationResult] = []
    with _progress() as progress:
        for name, factory, s in jobs:
            bar = progress.add_task(f"{name} ({s})", total=len(ids))

            def tick(done: int, total: int, bar: Any = bar) -> None:
                progress.update(bar, completed=done)

            results.append(
                evaluate_proposer(
                    kb,
                    factory,
                    name=name,
                    setting=s,
                    dataset_ids=ids,
                    progress=tick,
                )
            )
        if "static" in settings:
            progress.add_task(f"{ORACLE_NAME} (static)", total=None)
            results.append(similarity_oracle(kb, dataset_ids=ids))
    table = markdown_table(results)
    if "static" in settings:
        table += "\n\n" + ORACLE_NOTE
    typer.echo(table)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "knowledge_base": kb.version,
        "task_type": kb.task_type,
        "metric": kb.metric,
        "n_datasets": len(kb.dataset_ids),
        "n_evaluable": len(evaluable),
        "metamodel": MetaModel(random_state=random_state).get_params(),
        "ks": list(DEFAULT_KS),
        "results": [r.summary() for r in results],
        "markdown": table,
    }
    out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    console.print(f"wrote {out}")
    if readme is not None:
        stamp = (
            f"Measured by `warmstart kb evaluate{'' if task == 'classification' else ' --task '}"
            f"{'' if task == 'classification' else task}"
            f"{''.join(f' --merge {p}' for p in merge or [])} --readme README.md` on "
            f"{date.today().isoformat()}, "
            f"knowledge base {kb.version}, {len(ids)} held-out datasets, "
            f"{platform.machine()} with {os.cpu_count()} cores."
        )
        marker = "kb-evaluate" if task == "classification" else "kb-evaluate-regression"
        replace_marked_block(readme, marker, f"{stamp}\n\n{table}")
        console.print(f"updated {readme}")


def replace_marked_block(path: Path, marker: str, body: str) -> None:
    """Replace the text between ``<!-- marker:start -->`` and ``<!-- marker:end -->`` in ``path``.

    Raises:
        typer.BadParameter: the file lacks the markers (nothing is written).
    """
    text = path.read_text(encoding="utf-8")
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    if start not in text or end not in text:
        raise typer.BadParameter(f"{path} has no {start} ... {end} markers")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{start}\n{body}\n{end}{tail}", encoding="utf-8")


def default_openml_dir() -> Path:
    """``$WARMSTART_HOME/knowledge/openml`` (``WARMSTART_HOME`` defaults to ``.warmstart``)."""
    return Path(os.environ.get("WARMSTART_HOME", ".warmstart")) / "knowledge" / "openml"


@app.command("ingest-openml")
def ingest_openml_command(
    suite: Annotated[
        list[int] | None,
        typer.Option("--suite", help="Benchmark suite id (repeatable; default 99, OpenML-CC18)."),
    ] = None,
    task: Annotated[
        list[int] | None, typer.Option("--task", help="Task id (repeatable; replaces the suite).")
    ] = None,
    flow: Annotated[
        list[int] | None, typer.Option("--flow", help="Only runs of this flow id (repeatable).")
    ] = None,
    metric: Annotated[str, typer.Option(help="OpenML evaluation measure.")] = "unweighted_recall",
    max_runs: Annotated[int, typer.Option(min=1, help="At most N evaluations per task.")] = 10_000,
    cache: Annotated[
        Path | None, typer.Option(help="openml cache and resume state (default: OUT/cache).")
    ] = None,
    server: Annotated[
        str | None,
        typer.Option(help="OpenML API root (default https://www.openml.org/api/v1/xml)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Snapshot directory to write (default $WARMSTART_HOME/knowledge/openml)."
        ),
    ] = None,
) -> None:
    """Pull run histories from OpenML into a knowledge-base snapshot (resumable).

    Task ids replace the default suite unless --suite is also given. An interrupted ingestion
    resumes where it stopped when run again with the same options.
    """
    from metaknowledge.knowledge import ingest_openml

    out_dir = out or default_openml_dir()
    suites = suite if suite is not None else ([] if task else [99])
    with _progress() as progress:
        bar = progress.add_task("OpenML", total=None)

        def tick(message: str, done: int, total: int) -> None:
            progress.update(bar, description=message, completed=done, total=total)

        result = ingest_openml(
            suites=suites,
            task_ids=task,
            flows=flow,
            metric=metric,
            max_runs=max_runs,
            cache_dir=cache or out_dir / "cache",
            server=server,
            progress=tick,
        )
    write_snapshot(result.knowledge_base, out_dir)
    typer.echo("\n".join([*result.summary_lines(), f"wrote {out_dir}"]))


def default_collect_dir() -> Path:
    """``$WARMSTART_HOME/knowledge/collect`` (``WARMSTART_HOME`` defaults to ``.warmstart``)."""
    return Path(os.environ.get("WARMSTART_HOME", ".warmstart")) / "knowledge" / "collect"


@app.command()
def collect(
    data_dir: Annotated[
        Path,
        typer.Argument(
            help="Folder of CSV/TSV tables (optionally .gz), each with a 'target' column."
        ),
    ],
    task: TaskOption = "classification",
    budget: Annotated[
        int, typer.Option(min=0, help="Configurations sampled per learner (plus its defaults).")
    ] = 5,
    cv: Annotated[int, typer.Option(min=2, help="Cross-validation folds.")] = 5,
    random_state: Annotated[int, typer.Option("--seed", help="Sampling and CV seed.")] = 0,
    learner: Annotated[
        list[str] | None,
        typer.Option("--learner", help="Only this learner (repeatable; default: all of the task)."),
    ] = None,
    with_bundled: Annotated[
        bool,
        typer.Option(
            "--with-bundled",
            help="Also evaluate the bundled snapshot's configurations of the task type, so the "
            "result fills its columns when merged.",
        ),
    ] = False,
    max_rows: Annotated[
        int | None,
        typer.Option(min=4, help="Cross-validate on at most N rows per table (seeded sample)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Snapshot directory to write (default $WARMSTART_HOME/knowledge/collect)."
        ),
    ] = None,
) -> None:
    """Evaluate a budget of configurations per learner on every table of DATA_DIR (resumable).

    Writes a knowledge-base snapshot (source "collect") with the CV scores, fit times and each
    table's meta-features; it merges with the bundled one (see kb evaluate --merge). Progress is
    kept under OUT/state: running the same command again resumes where it stopped.
    """
    _check_task(task)
    out_dir = out or default_collect_dir()
    extra = None
    if with_bundled:
        bundled = load_knowledge_base(task_type=task)
        extra = {cid: bundled.configs[cid] for cid in bundled.config_ids}
    with _progress() as progress:
        bar = progress.add_task("collect", total=None)

        def tick(message: str, done: int, total: int) -> None:
            progress.update(bar, description=message, completed=done, total=total)

        result = collect_knowledge_base(
            data_dir,
            task_type=task,
            budget=budget,
            cv=cv,
            seed=random_state,
            learners=learner,
            extra_configs=extra,
            max_rows=max_rows,
            state_dir=out_dir / "state",
            progress=tick,
        )
    write_snapshot(result.knowledge_base, out_dir)
    typer.echo("\n".join([*result.summary_lines(), f"wrote {out_dir}"]))


# The service's meta-model versions (they need the service's database, so they live apart).
app.command("refit")(refit_command)
app.command("versions")(versions_command)
