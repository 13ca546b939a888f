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
    AverageRank,
    EvaluationResult,
    GreedyPortfolio,
    KnnBestConfigs,
    RandomOrder,
    evaluate_proposer,
)
from metaknowledge.knowledge import default_snapshot_dir, load_knowledge_base, write_snapshot
from metaknowledge.knowledge._build import build_snapshot, default_cache_dir
from metaknowledge.metamodel import MetaModel, Proposer

app = typer.Typer(help="Build, inspect and evaluate the meta-knowledge base.", no_args_is_help=True)
console = Console(stderr=True)

SnapshotOption = Annotated[
    Path | None,
    typer.Option("--snapshot", help="Snapshot directory (default: the bundled one)."),
]


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
    notice: Annotated[Path | None, typer.Option(help="NOTICE file to write.")] = None,
) -> None:
    """Download the pinned sources (oboe 0.2.0, lcdb 0.1.0), verify and convert them.

    Writes the snapshot (default: the package's bundled one) and the NOTICE beside the package.
    """
    out_dir = out or default_snapshot_dir()
    notice_path = notice or default_snapshot_dir().parent.parent / "NOTICE"
    with console.status("fetching and converting the sources"):
        kb = build_snapshot(cache or default_cache_dir(), out_dir, notice_path)
    size = sum(p.stat().st_size for p in out_dir.iterdir() if p.is_file())
    typer.echo(
        f"wrote snapshot {kb.version} to {out_dir} ({size / 1e6:.2f} MB): "
        f"{len(kb.dataset_ids)} datasets x {len(kb.config_ids)} configurations; NOTICE at "
        f"{notice_path}"
    )


@app.command()
def info(
    snapshot: SnapshotOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print what the loaded snapshot holds."""
    summary = load_knowledge_base(snapshot).summary()
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


@app.command()
def evaluate(
    snapshot: SnapshotOption = None,
    setting: Annotated[str, typer.Option(help="static, sequential or both.")] = "both",
    datasets: Annotated[
        int | None, typer.Option(min=1, help="Hold out only the first N datasets (quick look).")
    ] = None,
    out: Annotated[Path, typer.Option(help="JSON file to write.")] = Path(
        "results/kb_evaluate.json"
    ),
    random_state: Annotated[int, typer.Option("--seed")] = 0,
    readme: Annotated[
        Path | None,
        typer.Option(help="Also write the table between the kb-evaluate markers of this file."),
    ] = None,
) -> None:
    """Leave-one-dataset-out regret@k of the meta-model and the baselines (markdown + JSON)."""
    if setting not in ("static", "sequential", "both"):
        raise typer.BadParameter(
            "setting must be static, sequential or both", param_hint="--setting"
        )
    kb = load_knowledge_base(snapshot)
    ids = kb.dataset_ids[:datasets] if datasets else kb.dataset_ids
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
            task = progress.add_task(f"{name} ({s})", total=len(ids))

            def tick(done: int, total: int, task: Any = task) -> None:
                progress.update(task, completed=done)

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
    table = markdown_table(results)
    typer.echo(table)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "knowledge_base": kb.version,
        "metamodel": MetaModel(random_state=random_state).get_params(),
        "ks": list(DEFAULT_KS),
        "results": [r.summary() for r in results],
        "markdown": table,
    }
    out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    console.print(f"wrote {out}")
    if readme is not None:
        stamp = (
            "Measured by `warmstart kb evaluate --readme README.md` on "
            f"{date.today().isoformat()}, "
            f"knowledge base {kb.version}, {len(ids)} held-out datasets, "
            f"{platform.machine()} with {os.cpu_count()} cores."
        )
        replace_marked_block(readme, "kb-evaluate", f"{stamp}\n\n{table}")
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
