"""The report: a JSON summary and markdown tables built from the stored runs."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.e2e._analysis import (
    BUDGETS,
    Group,
    bootstrap_interval,
    defaults_at_equal_cost,
    defaults_ceiling,
    group_runs,
    kb_configurations_regret,
    per_dataset_mean,
    score_groups,
    selection_noise,
    trials_to_reach,
)
from benchmarks.e2e._store import SCHEMA_VERSION

__all__ = ["build_summary", "load_runs", "machine_description", "markdown_report"]


def machine_description() -> str:
    """``x86_64 with 2 cores, Linux 6.1, Python 3.11.9``."""
    return (
        f"{platform.machine()} with {os.cpu_count()} cores, {platform.system()} "
        f"{platform.release().split('-')[0]}, Python {platform.python_version()}"
    )


def load_runs(
    out: Path, datasets: Sequence[str], seeds: Sequence[int], strategies: Sequence[str]
) -> list[dict[str, Any]]:
    """The stored runs of the selected datasets, seeds and strategies."""
    from benchmarks.e2e._store import run_path

    runs = []
    for dataset in datasets:
        for seed in seeds:
            for strategy in strategies:
                path = run_path(out, dataset, seed, strategy)
                if path.is_file():
                    try:
                        payload = json.loads(path.read_text(encoding="utf-8"))
                    except ValueError:
                        continue
                    if payload.get("schema") == SCHEMA_VERSION:
                        runs.append(payload)
    return runs


def _budgets(n_trials: int) -> list[int]:
    budgets = [b for b in BUDGETS if b <= n_trials]
    return budgets if n_trials in budgets else [*budgets, n_trials]


def _holdout(groups: Sequence[Group]) -> dict[str, Any]:
    found: dict[str, dict[str, Any]] = {}
    for group in groups:
        for run in group.runs.values():
            holdout = run.get("holdout") or {}
            if holdout.get("kb_ids"):
                found[group.dataset] = holdout
    reasons = [str(h["reason"]) for h in found.values()]
    return {
        "n_datasets_in_kb": len(found),
        "by_reason": {r: reasons.count(r) for r in sorted(set(reasons))},
        "datasets": found,
    }


def _code_versions(groups: Sequence[Group]) -> dict[str, dict[str, int]]:
    """``{code version: {strategy: number of runs}}`` (``unrecorded`` for older runs)."""
    found: dict[str, dict[str, int]] = {}
    for group in groups:
        for strategy, run in group.runs.items():
            version = str(run.get("code_version") or "unrecorded")
            counts = found.setdefault(version, {})
            counts[strategy] = counts.get(strategy, 0) + 1
    return found


def _timing(groups: Sequence[Group], strategy: str) -> dict[str, float]:
    durations = [t["duration_s"] for g in groups for t in g.runs[strategy]["trials"]]
    walls = [g.runs[strategy]["wall_s"] / max(len(g.runs[strategy]["trials"]), 1) for g in groups]
    n_trials = [len(g.runs[strategy]["trials"]) for g in groups]
    return {
        "eval_s_per_trial": float(np.mean(durations)) if durations else float("nan"),
        "wall_s_per_trial": float(np.mean(walls)) if walls else float("nan"),
        "trials_per_run": float(np.mean(n_trials)) if n_trials else 0.0,
        "failed_fraction": (
            float(np.mean([t["score"] is None for g in groups for t in g.runs[strategy]["trials"]]))
            if durations
            else 0.0
        ),
    }


def build_summary(
    runs: Sequence[Mapping[str, Any]],
    *,
    strategies: Sequence[str],
    n_trials: int,
    settings: Mapping[str, Any],
    skipped: Mapping[str, str],
    command: str,
) -> dict[str, Any]:
    """Everything the report says, JSON-ready (see ``docs/e2e.md`` for the fields)."""
    groups, incomplete = group_runs(runs, strategies)
    budgets = _budgets(n_trials)
    scored = score_groups(groups, n_trials)
    summary: dict[str, Any] = {
        "command": command,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_description(),
        "settings": dict(settings),
        "budgets": budgets,
        "strategies_skipped": dict(skipped),
        "n_groups": len(groups),
        "incomplete_groups": [list(k) for k in incomplete],
        "datasets": sorted({g.dataset for g in groups}),
        "seeds": sorted({g.seed for g in groups}),
        "holdout": _holdout(groups),
        "code_versions": _code_versions(groups),
        "strategies": {},
        "per_dataset": {},
    }
    if not groups:
        return summary
    tpe_final = {
        i: s.curves["tpe"][n_trials - 1] for i, s in enumerate(scored) if "tpe" in s.curves
    }
    for strategy in strategies:
        regret = per_dataset_mean(groups, [s.regret[strategy] for s in scored])
        rank = per_dataset_mean(groups, [s.rank[strategy] for s in scored])
        regret_matrix = np.vstack(list(regret.values()))
        rank_matrix = np.vstack(list(rank.values()))
        entry: dict[str, Any] = {
            "point": bool(groups[0].runs[strategy].get("point")),
            "regret": {
                str(b): bootstrap_interval(regret_matrix[:, b - 1]).as_dict() for b in budgets
            },
            "rank": {str(b): bootstrap_interval(rank_matrix[:, b - 1]).as_dict() for b in budgets},
            "regret_curve": _curve(regret_matrix),
            **_timing(groups, strategy),
        }
        if tpe_final:
            reach = [trials_to_reach(scored[i].curves[strategy], t) for i, t in tpe_final.items()]
            reached = [r for r in reach if r is not None]
            entry["trials_to_tpe_final"] = {
                "median": float(np.median([r if r is not None else np.inf for r in reach])),
                "reached_fraction": len(reached) / len(reach),
            }
        summary["strategies"][strategy] = entry
        for dataset, values in regret.items():
            summary["per_dataset"].setdefault(dataset, {})[strategy] = {
                str(b): float(values[b - 1]) for b in budgets
            }
    summary["targets"] = _targets(groups, scored, strategies, summary, n_trials)
    return summary


def _curve(matrix: np.ndarray) -> dict[str, list[float]]:
    """Mean and 95% interval of each column (trial) of a datasets x trials matrix."""
    intervals = [bootstrap_interval(matrix[:, t]) for t in range(matrix.shape[1])]
    return {
        "mean": [i.mean for i in intervals],
        "low": [i.low for i in intervals],
        "high": [i.high for i in intervals],
    }


def _targets(
    groups: Sequence[Group],
    scored: Sequence[Any],
    strategies: Sequence[str],
    summary: Mapping[str, Any],
    n_trials: int,
) -> dict[str, Any]:
    """The issue's three targets, where the strategies they compare were run."""
    out: dict[str, Any] = {}
    stats = summary["strategies"]
    if "warmstart" not in stats:
        return out
    budgets = [b for b in summary["budgets"] if b <= 25]
    others = [s for s in strategies if s != "warmstart"]
    out["warmstart_best_up_to_25"] = all(
        stats["warmstart"]["regret"][str(b)]["mean"] < stats[s]["regret"][str(b)]["mean"]
        for b in budgets
        for s in others
    )
    # Single points (defaults: one evaluation per learner) are constants; the searches compare
    # at equal cost.
    searches = [s for s in others if not stats[s]["point"]]
    out["warmstart_best_search_up_to_25"] = all(
        stats["warmstart"]["regret"][str(b)]["mean"] < stats[s]["regret"][str(b)]["mean"]
        for b in budgets
        for s in searches
    )
    if "tpe" in stats and n_trials >= 10:
        out["warmstart_at_10_vs_tpe_final"] = {
            "warmstart@10": stats["warmstart"]["regret"]["10"]["mean"],
            f"tpe@{n_trials}": stats["tpe"]["regret"][str(n_trials)]["mean"],
            "met": stats["warmstart"]["regret"]["10"]["mean"]
            <= stats["tpe"]["regret"][str(n_trials)]["mean"],
            "kb_configurations": kb_configurations_regret(groups),
            "selection_noise": selection_noise(groups, few=10, many=n_trials),
        }
    if "defaults" in stats:
        # A failed first trial, or defaults that all failed, stand at the worst score.
        first = per_dataset_mean(groups, [s.filled("warmstart")[:1] for s in scored])
        default = per_dataset_mean(groups, [s.filled("defaults")[:1] for s in scored])
        wins = [bool(first[d][0] > default[d][0]) for d in first]
        fraction = float(np.mean(wins))
        out["warmstart_first_beats_defaults"] = {
            "fraction": fraction,
            "met": fraction >= 0.7,
            "context": defaults_ceiling(groups),
            "equal_cost": defaults_at_equal_cost(groups, scored),
        }
    return out


def _cell(interval: Mapping[str, float]) -> str:
    return f"{interval['mean']:.3f} [{interval['low']:.2f}, {interval['high']:.2f}]"


def markdown_report(summary: Mapping[str, Any]) -> str:
    """Markdown tables: regret and rank per budget, timing, targets, hold-out."""
    budgets = summary["budgets"]
    stats = summary["strategies"]
    n_trials = summary["settings"]["trials"]
    lines = [
        f"{len(summary['datasets'])} datasets x {len(summary['seeds'])} seeds "
        f"({summary['n_groups']} dataset/seed pairs), {n_trials} trials, "
        f"{summary['settings']['folds']}-fold CV; {summary['holdout']['n_datasets_in_kb']} "
        "datasets were in the knowledge base and held out of it.",
        "",
        "Mean normalised regret [95% bootstrap interval over datasets] after n trials "
        "(0 = best any strategy found on the dataset, 1 = worst):",
        "",
        "| strategy | " + " | ".join(f"@{b}" for b in budgets) + " |",
        "|---|" + "---|" * len(budgets),
    ]
    for name, entry in stats.items():
        label = f"{name} (point)" if entry["point"] else name
        cells = " | ".join(_cell(entry["regret"][str(b)]) for b in budgets)
        lines.append(f"| {label} | {cells} |")
    lines += [
        "",
        "Mean rank among the strategies (1 = best):",
        "",
        "| strategy | " + " | ".join(f"@{b}" for b in budgets) + " |",
        "|---|" + "---|" * len(budgets),
    ]
    for name, entry in stats.items():
        cells = " | ".join(_cell(entry["rank"][str(b)]) for b in budgets)
        lines.append(f"| {name} | {cells} |")
    lines += [
        "",
        f"| strategy | trials/run | CV s/trial | wall s/trial | failed | "
        f"trials to reach tpe@{n_trials} (median; reached) |",
        "|---|---|---|---|---|---|",
    ]
    for name, entry in stats.items():
        reach = entry.get("trials_to_tpe_final")
        if reach is None:
            shown = "n/a"
        else:
            median = reach["median"]
            text = f">{n_trials}" if not np.isfinite(median) else f"{median:g}"
            if entry["point"]:
                text = "point"
            shown = f"{text}; {100 * reach['reached_fraction']:.0f}%"
        lines.append(
            f"| {name} | {entry['trials_per_run']:.0f} | {entry['eval_s_per_trial']:.2f} | "
            f"{entry['wall_s_per_trial']:.2f} | {100 * entry['failed_fraction']:.1f}% | {shown} |"
        )
    lines += _target_lines(summary)
    notes = [
        f"- `{name}` skipped: {reason}." for name, reason in summary["strategies_skipped"].items()
    ]
    versions = summary.get("code_versions") or {}
    if len(versions) > 1:
        shown = "; ".join(
            f"{version}: " + ", ".join(f"{name} ({n})" for name, n in sorted(counts.items()))
            for version, counts in sorted(versions.items())
        )
        notes.append(f"- The runs come from {len(versions)} code versions: {shown}.")
    if summary["incomplete_groups"]:
        notes.append(
            f"- {len(summary['incomplete_groups'])} dataset/seed pairs left out (runs missing "
            "or failed; rerun the same command to complete them)."
        )
    if notes:
        lines += ["", "Notes:", "", *notes]
    return "\n".join(lines) + "\n"


def _target_lines(summary: Mapping[str, Any]) -> list[str]:
    targets = summary.get("targets") or {}
    if not targets:
        return []
    lines = ["", "Targets (issue 4):", ""]
    mark = {True: "met", False: "missed"}
    if "warmstart_best_up_to_25" in targets:
        lines.append(
            "- warmstart has the lowest mean regret at every budget up to 25: "
            f"{mark[targets['warmstart_best_up_to_25']]}"
        )
        lines.append(
            "- ... among the search strategies only (same number of evaluations): "
            f"{mark[targets['warmstart_best_search_up_to_25']]}"
        )
    cmp = targets.get("warmstart_at_10_vs_tpe_final")
    if cmp:
        keys = [k for k in cmp if "@" in k]
        lines.append(
            f"- warmstart@10 ({cmp[keys[0]]:.3f}) at or below {keys[1]} ({cmp[keys[1]]:.3f}): "
            f"{mark[cmp['met']]}"
        )
        kb = cmp.get("kb_configurations")
        if kb:
            lines.append(
                "  - the best in hindsight among the KB configurations the warm starts evaluated "
                f"(about {kb['n_configurations']:.0f} per dataset and seed): {kb['regret']:.3f}; "
                "the warm phase proposes only KB configurations"
            )
        noise = cmp.get("selection_noise")
        if noise:
            many = keys[1].split("@")[1]
            lines.append(
                "  - CV noise: one configuration's score moves across the seeds' CV splits by "
                f"{100 * noise['noise_share']:.0f}% of a dataset's score range on average "
                f"({100 * noise.get('noise_share_max', noise['noise_share']):.0f}% at most; "
                "from the spread of the defaults' score differences); were the compared "
                "configurations equally good, the best of "
                f"{many} such estimates would beat the best of 10 by about "
                f"{noise['selection_gain']:.3f} regret from selection alone "
                f"(warmstart@10 - {keys[1]}: {cmp[keys[0]] - cmp[keys[1]]:.3f})"
            )
    first = targets.get("warmstart_first_beats_defaults")
    if first:
        lines.append(
            "- warmstart's first trial beats the best default on "
            f"{100 * first['fraction']:.0f}% of datasets (target 70%): {mark[first['met']]}"
        )
        lines += _ceiling_lines(first.get("context") or {}, summary)
        lines += _equal_cost_lines(first.get("equal_cost") or {})
    return lines


def _equal_cost_lines(equal: Mapping[str, Any]) -> list[str]:
    """The defaults target at equal cost (:func:`defaults_at_equal_cost`) as one sub-item."""
    shown = [
        f"{name} beats it on {100 * v['beats']:.0f}% and at least ties it on "
        f"{100 * v['ties_or_beats']:.0f}%"
        for name, v in (equal.get("strategies") or {}).items()
        if name in ("warmstart", "tpe")
    ]
    if not shown:
        return []
    n, n_defaults = equal["n_evaluations"], equal.get("n_defaults", equal["n_evaluations"])
    cost = (
        f"at the defaults' own cost ({n} trials, one per learner)"
        if n >= n_defaults
        else f"after {n} trials (all a run has; the defaults took {n_defaults})"
    )
    return [f"  - {cost}: " + "; ".join(shown) + " of datasets"]


def _ceiling_lines(context: Mapping[str, Any], summary: Mapping[str, Any]) -> list[str]:
    """The defaults target's context (:func:`defaults_ceiling`) as sub-items."""
    learners = list((context.get("learner_regret") or {}).items())
    if not learners or "best_evaluation_beats_fraction" not in context:
        return []
    first = summary["strategies"]["warmstart"]["regret"]["1"]["mean"]
    best_learner, best_regret = learners[0]
    return [
        "  - an upper bound in this run: the best of every evaluation of every search strategy "
        f"beats the best default on {100 * context['best_evaluation_beats_fraction']:.0f}% of "
        f"datasets; {100 * context['evaluations_beating_share']:.0f}% of the successful "
        "evaluations beat it",
        f"  - the best single default is {best_learner} (regret {best_regret:.3f}, the median "
        f"learner's {float(np.median([r for _, r in learners])):.3f}); "
        f"warmstart's first trial: {first:.3f}",
    ]
