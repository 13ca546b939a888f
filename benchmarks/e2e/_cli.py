"""The command line: ``python -m benchmarks.e2e DATA_DIR [options]``."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from benchmarks.e2e._datasets import discover, select
from benchmarks.e2e._plots import plot_regret_curves, plot_warmstart_vs_tpe
from benchmarks.e2e._readme import update_readme
from benchmarks.e2e._report import build_summary, load_runs, markdown_report
from benchmarks.e2e._runner import plan_jobs, run_jobs
from benchmarks.e2e._store import write_json_atomic
from benchmarks.e2e._strategies import DEFAULT_STRATEGIES, STRATEGIES, unavailable_reason

__all__ = ["main"]

#: Full-run defaults, and the ``--quick`` ones (a few small datasets, few trials).
_DEFAULTS = {"trials": 50, "seeds": 3, "datasets": None, "warm_k": 10, "folds": 5, "timeout": 300.0}
_QUICK = {"trials": 6, "seeds": 1, "datasets": 3, "warm_k": 3, "folds": 3, "timeout": 60.0}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.e2e",
        description="End-to-end warm-start benchmark: strategies x datasets x seeds, same budget.",
    )
    parser.add_argument("data_dir", type=Path, help="folder of tables with a 'target' column")
    parser.add_argument("--trials", type=int, help="trial budget per run (default 50)")
    parser.add_argument("--seeds", type=int, help="seeds 0..N-1 (default 3)")
    parser.add_argument(
        "--task", choices=("classification", "regression"), default="classification"
    )
    parser.add_argument("--datasets", type=int, help="use N datasets (default: all eligible)")
    parser.add_argument(
        "--smallest",
        action="store_true",
        help="take the N smallest datasets instead of N spread over the size range",
    )
    parser.add_argument("--max-rows", type=int, default=50_000, help="skip larger datasets")
    parser.add_argument("--jobs", type=int, default=2, help="datasets run in parallel")
    parser.add_argument("--out", type=Path, default=Path("results/e2e"), help="results folder")
    parser.add_argument(
        "--strategies",
        nargs="+",
        choices=sorted(STRATEGIES),
        default=list(DEFAULT_STRATEGIES),
        metavar="NAME",
        help=f"strategies to compare (default: {' '.join(DEFAULT_STRATEGIES)}; "
        "also: warmstart-static, the service's current top-k enqueue)",
    )
    parser.add_argument("--warm-k", type=int, help="meta-model-steered trials (default 10)")
    parser.add_argument("--folds", type=int, help="CV folds (default 5, the service's)")
    parser.add_argument(
        "--trial-timeout",
        type=float,
        help="seconds per trial before it is killed and failed (default 300; 0 = no limit)",
    )
    parser.add_argument("--quick", action="store_true", help="3 small datasets, 6 trials, 1 seed")
    parser.add_argument("--report-only", action="store_true", help="only rebuild the report")
    parser.add_argument("--readme", type=Path, help="write the table into this README's markers")
    return parser


def _resolve(args: argparse.Namespace) -> dict[str, Any]:
    preset = _QUICK if args.quick else _DEFAULTS
    given = {
        "trials": args.trials,
        "seeds": args.seeds,
        "datasets": args.datasets,
        "warm_k": args.warm_k,
        "folds": args.folds,
        "timeout": args.trial_timeout,
    }
    resolved = {k: (v if v is not None else preset[k]) for k, v in given.items()}
    for key, minimum in (("trials", 1), ("seeds", 1), ("warm_k", 1), ("folds", 2)):
        value = resolved[key]
        if not isinstance(value, int) or value < minimum:
            raise SystemExit(f"--{key.replace('_', '-')} must be at least {minimum}, got {value}")
    return resolved


def _has_knowledge_base(task: str) -> bool:
    """Whether a knowledge base of ``task`` is bundled: the meta-learning strategies use it, as
    the service does for a task of that type."""
    from metaknowledge import load_knowledge_base
    from metaknowledge.exceptions import MetaknowledgeError

    try:
        load_knowledge_base(task_type=task)
    except MetaknowledgeError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (unfinished runs only), then write the report; 1 if any run failed."""
    args = _parser().parse_args(argv)
    opts = _resolve(args)
    entries = select(
        discover(args.data_dir),
        task_type=args.task,
        max_rows=args.max_rows,
        count=opts["datasets"],
        spread=not (args.smallest or args.quick),
    )
    if not entries:
        print(f"no {args.task} dataset in {args.data_dir}", file=sys.stderr)
        return 1
    has_kb = _has_knowledge_base(args.task)
    strategies, skipped = [], {}
    for name in dict.fromkeys(args.strategies):
        reason = unavailable_reason(name, task_type=args.task, has_kb=has_kb)
        if reason is None:
            strategies.append(name)
        else:
            skipped[name] = reason
    seeds = list(range(opts["seeds"]))
    settings = {"trials": opts["trials"], "folds": opts["folds"], "warm_k": opts["warm_k"]}
    failures = 0
    if not args.report_only:
        jobs, done = plan_jobs(
            entries,
            out=args.out,
            seeds=seeds,
            strategies=strategies,
            settings=settings,
            timeout_s=opts["timeout"] or None,
        )
        pending = sum(len(j.pending) for j in jobs)
        print(
            f"{len(entries)} datasets x {len(seeds)} seeds x {len(strategies)} strategies: "
            f"{done} runs already finished, {pending} to do ({opts['trials']} trials each)",
            file=sys.stderr,
        )
        failures = run_jobs(jobs, n_jobs=args.jobs)
    runs = load_runs(args.out, [e.name for e in entries], seeds, strategies)
    runs = [r for r in runs if r.get("settings") == settings]
    command = "python -m benchmarks.e2e " + shlex.join(argv if argv is not None else sys.argv[1:])
    summary = build_summary(
        runs,
        strategies=strategies,
        n_trials=opts["trials"],
        settings={**settings, "task": args.task, "trial_timeout_s": opts["timeout"]},
        skipped=skipped,
        command=command,
    )
    _write_report(args, summary)
    return 1 if failures else 0


def _write_report(args: argparse.Namespace, summary: dict[str, Any]) -> None:
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    table = markdown_report(summary)
    curve_png = out / "regret_vs_trials.png"
    if summary["strategies"]:
        plot_regret_curves(summary, curve_png)
        plot_warmstart_vs_tpe(summary, out / "warmstart_vs_tpe.png")
    write_json_atomic(out / "summary.json", summary)
    (out / "report.md").write_text(table, encoding="utf-8")
    print(table)
    print(f"report: {out / 'report.md'}, {out / 'summary.json'}, plots in {out}", file=sys.stderr)
    if args.readme is not None:
        header = (
            f"Measured by `{summary['command']}` on {summary['created'][:10]}, "
            f"{summary['machine']}.\n\n"
        )
        plot = curve_png if curve_png.is_file() else None
        update_readme(args.readme, header + table, plot)
    json.dumps(summary)  # fail loudly here, not in a reader, if something is not serialisable
