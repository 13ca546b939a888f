"""From stored runs to numbers: incumbent curves, normalised regret, ranks, intervals.

Pure functions over the run payloads of :mod:`benchmarks.e2e._store`. Scores are turned into
"higher is better" units first. For each (dataset, seed) the regret scale runs from the best score
any strategy found (0) to the worst one (1); a strategy with no successful trial yet is at 1 (a
crashed or timed-out trial counts as the worst score). Single-point strategies (``defaults``,
``flaml-zeroshot``) are a constant: the best of their evaluations. Means are taken over seeds
within a dataset, then over datasets, with a seeded percentile bootstrap over datasets for the 95%
interval.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import norm, rankdata

__all__ = [
    "BUDGETS",
    "Group",
    "Interval",
    "bootstrap_interval",
    "defaults_at_equal_cost",
    "defaults_ceiling",
    "expected_max_normal",
    "group_runs",
    "kb_configurations_regret",
    "score_groups",
    "selection_noise",
]

BUDGETS = (1, 3, 5, 10, 25, 50)
_N_BOOTSTRAP = 2000


@dataclass(frozen=True)
class Interval:
    """A mean and its 95% interval."""

    mean: float
    low: float
    high: float

    def as_dict(self) -> dict[str, float]:
        """A JSON-ready copy."""
        return {"mean": self.mean, "low": self.low, "high": self.high}


@dataclass(frozen=True)
class Group:
    """The runs of every strategy on one (dataset, seed)."""

    dataset: str
    seed: int
    runs: Mapping[str, Mapping[str, Any]]


def group_runs(
    runs: Sequence[Mapping[str, Any]], strategies: Sequence[str]
) -> tuple[list[Group], list[tuple[str, int]]]:
    """Complete groups (every strategy present) and the (dataset, seed)s left incomplete."""
    by_key: dict[tuple[str, int], dict[str, Mapping[str, Any]]] = defaultdict(dict)
    for run in runs:
        by_key[(str(run["dataset"]), int(run["seed"]))][str(run["strategy"])] = run
    groups, incomplete = [], []
    for (dataset, seed), found in sorted(by_key.items()):
        if all(s in found for s in strategies):
            groups.append(Group(dataset, seed, {s: found[s] for s in strategies}))
        else:
            incomplete.append((dataset, seed))
    return groups, incomplete


def _scores(run: Mapping[str, Any]) -> np.ndarray:
    """Trial scores in higher-is-better units, NaN for failed trials."""
    sign = 1.0 if run.get("maximize", True) else -1.0
    return np.array(
        [sign * float(t["score"]) if t["score"] is not None else np.nan for t in run["trials"]],
        dtype=float,
    )


def incumbent(run: Mapping[str, Any], length: int) -> np.ndarray:
    """Best score after 1..``length`` trials (NaN until one succeeds; the last value carried)."""
    scores = _scores(run)
    if run.get("point"):
        best = np.nanmax(scores) if np.isfinite(scores).any() else np.nan
        return np.full(length, best)
    out = np.full(length, np.nan)
    best = -np.inf
    for t in range(length):
        if t < scores.size and np.isfinite(scores[t]):
            best = max(best, float(scores[t]))
        out[t] = best if np.isfinite(best) else np.nan
    return out


@dataclass(frozen=True)
class GroupScores:
    """Per strategy: incumbent curve, normalised regret curve, rank curve on one group."""

    curves: dict[str, np.ndarray]
    regret: dict[str, np.ndarray]
    rank: dict[str, np.ndarray]
    worst: float = 0.0
    """The worst successful score on the group: where a curve without a success stands."""

    def filled(self, strategy: str) -> np.ndarray:
        """``strategy``'s incumbent curve with "no success yet" at the worst score."""
        return _filled(self.curves[strategy], self.worst)


def _filled(curve: np.ndarray, worst: float) -> np.ndarray:
    """``curve`` with its NaNs (no success yet) at ``worst``."""
    return np.where(np.isfinite(curve), curve, worst)


def _span(group: Group) -> tuple[float, float]:
    """(best, worst) successful score of any strategy on ``group`` ((0, 0) when none)."""
    every = np.concatenate([_scores(r) for r in group.runs.values()])
    every = every[np.isfinite(every)]
    return (float(every.max()), float(every.min())) if every.size else (0.0, 0.0)


def _regret(best: float, worst: float, reached: Any) -> Any:
    """Normalised regret of ``reached`` (a score or an array of them) on the scale from ``best``
    (0) to ``worst`` (1); 0 where the scale is empty (every score equal)."""
    span = best - worst
    return (best - reached) / span if span > 0 else 0.0 * reached


def score_group(group: Group, length: int) -> GroupScores:
    """Curves of every strategy of ``group`` over 1..``length`` trials."""
    curves = {s: incumbent(run, length) for s, run in group.runs.items()}
    best, worst = _span(group)
    regret = {s: _regret(best, worst, _filled(curve, worst)) for s, curve in curves.items()}
    names = list(curves)
    stacked = np.vstack([np.where(np.isfinite(curves[s]), curves[s], -np.inf) for s in names])
    ranks = np.apply_along_axis(lambda col: rankdata(-col, method="average"), 0, stacked)
    return GroupScores(curves, regret, {s: ranks[i] for i, s in enumerate(names)}, worst)


def score_groups(groups: Sequence[Group], length: int) -> list[GroupScores]:
    """:func:`score_group` for each group."""
    return [score_group(g, length) for g in groups]


def per_dataset_mean(
    groups: Sequence[Group], values: Sequence[np.ndarray]
) -> dict[str, np.ndarray]:
    """Average ``values`` (one array per group) over the seeds of each dataset."""
    collected: dict[str, list[np.ndarray]] = defaultdict(list)
    for group, value in zip(groups, values, strict=True):
        collected[group.dataset].append(value)
    return {d: np.mean(np.vstack(v), axis=0) for d, v in collected.items()}


def bootstrap_interval(values: np.ndarray, *, seed: int = 0) -> Interval:
    """Mean of ``values`` with a 95% percentile-bootstrap interval (degenerate for one value)."""
    values = np.asarray(values, dtype=float)
    mean = float(values.mean())
    if values.size < 2:
        return Interval(mean, mean, mean)
    rng = np.random.default_rng(seed)
    samples = rng.choice(values, size=(_N_BOOTSTRAP, values.size), replace=True).mean(axis=1)
    low, high = np.percentile(samples, [2.5, 97.5])
    return Interval(mean, float(low), float(high))


def trials_to_reach(curve: np.ndarray, target: float) -> int | None:
    """The first budget at which ``curve`` reaches ``target`` (None if it never does)."""
    if not np.isfinite(target):
        return None
    hits = np.flatnonzero(np.isfinite(curve) & (curve >= target - 1e-12))
    return int(hits[0]) + 1 if hits.size else None


def defaults_ceiling(groups: Sequence[Group], defaults: str = "defaults") -> dict[str, Any]:
    """How beatable the ``defaults`` point is by any one configuration: the context of the
    "first trial beats the best default" target.

    - ``best_evaluation_beats_fraction``: share of datasets on which the best of *every*
      evaluation of every search strategy (all seeds' mean) beats the best default (all seeds'
      mean), the same comparison as the target's. A first trial beats the defaults on more
      datasets than this only with a configuration that none of the run's evaluations found, so
      this bounds the target as far as the run explored the space.
    - ``evaluations_beating_share``: mean over datasets of the share of the search strategies'
      successful evaluations that beat the best default of their (dataset, seed): how often a
      configuration drawn from what the searches tried does.
    - ``learner_regret``: per learner, the mean normalised regret of its default configuration
      alone (the same scale as the report's), best first: the best *single* fixed choice.

    As everywhere in the report, a failed evaluation counts as the worst score of its
    (dataset, seed), so every dataset with a ``defaults`` run counts. Points other than
    ``defaults`` (e.g. ``flaml-zeroshot``) are not searches and are left out. Empty when no group
    has a ``defaults`` run.
    """
    best_eval: dict[str, list[float]] = defaultdict(list)
    best_default: dict[str, list[float]] = defaultdict(list)
    share: dict[str, list[float]] = defaultdict(list)
    learner_regret: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for group in groups:
        run = group.runs.get(defaults)
        if run is None:
            continue
        best, worst = _span(group)
        default_scores = np.nan_to_num(_scores(run), nan=worst)
        top = float(default_scores.max()) if default_scores.size else worst
        searched = [_scores(r) for r in group.runs.values() if not r.get("point")]
        evaluations = np.concatenate(searched) if searched else np.empty(0)
        evaluations = evaluations[np.isfinite(evaluations)]
        best_eval[group.dataset].append(float(evaluations.max()) if evaluations.size else worst)
        best_default[group.dataset].append(top)
        share[group.dataset].append(float(np.mean(evaluations > top)) if evaluations.size else 0.0)
        for trial, score in zip(run["trials"], default_scores, strict=True):
            value = _regret(best, worst, score)
            learner_regret[str(trial.get("learner"))][group.dataset].append(float(value))
    if not best_eval:
        return {}
    datasets = sorted(best_eval)
    beats = [np.mean(best_eval[d]) > np.mean(best_default[d]) for d in datasets]
    per_learner = {
        learner: float(np.mean([np.mean(v) for v in by_dataset.values()]))
        for learner, by_dataset in learner_regret.items()
    }
    return {
        "best_evaluation_beats_fraction": float(np.mean(beats)),
        "evaluations_beating_share": float(np.mean([np.mean(share[d]) for d in datasets])),
        "learner_regret": dict(sorted(per_learner.items(), key=lambda kv: kv[1])),
        "n_datasets": len(datasets),
    }


def defaults_at_equal_cost(
    groups: Sequence[Group], scored: Sequence[GroupScores], defaults: str = "defaults"
) -> dict[str, Any]:
    """Each search strategy against the ``defaults`` point after as many trials as the defaults
    took (one per learner): the target's comparison at equal cost rather than one trial against
    all the learners' defaults.

    Per search strategy: ``beats`` and ``ties_or_beats``, the share of datasets on which its
    incumbent after ``n_evaluations`` trials (all seeds' mean, "no success yet" at the worst
    score) is above, or at least equal to, the best default (all seeds' mean). A search with fewer
    trials than that is read at its last trial: ``n_evaluations`` is the trial read (median over
    the groups), ``n_defaults`` the defaults' evaluations. Empty when no group has a ``defaults``
    run.
    """
    ours: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    theirs: dict[str, list[float]] = defaultdict(list)
    sizes: list[int] = []
    read_at: list[int] = []
    for group, scores in zip(groups, scored, strict=True):
        run = group.runs.get(defaults)
        if run is None:
            continue
        n = max(1, len(run["trials"]))
        sizes.append(n)
        theirs[group.dataset].append(float(scores.filled(defaults)[0]))
        for name, other in group.runs.items():
            if not other.get("point"):
                curve = scores.filled(name)
                at = min(n, curve.size)
                read_at.append(at)
                ours[name][group.dataset].append(float(curve[at - 1]))
    if not theirs:
        return {}
    datasets = sorted(theirs)
    out: dict[str, Any] = {
        "n_evaluations": int(np.median(read_at)) if read_at else 0,
        "n_defaults": int(np.median(sizes)),
        "strategies": {},
    }
    default = np.array([np.mean(theirs[d]) for d in datasets])
    for name, by_dataset in ours.items():
        mine = np.array([np.mean(by_dataset[d]) for d in datasets])
        out["strategies"][name] = {
            "beats": float(np.mean(mine > default + 1e-12)),
            "ties_or_beats": float(np.mean(mine >= default - 1e-12)),
        }
    return out


def kb_configurations_regret(groups: Sequence[Group]) -> dict[str, float] | None:
    """The best in hindsight among the knowledge-base configurations the run evaluated: mean
    normalised regret (the report's scale; seeds, then datasets) of the best trial whose
    ``source`` is ``warm_start`` (the meta-model's and the kNN proposer's picks from the KB) over
    all strategies of a (dataset, seed), and how many such trials a (dataset, seed) has on
    average (``n_configurations``).

    The steered warm phase proposes only KB configurations, so this is about what it could reach
    had it chosen perfectly among those the run tried. A (dataset, seed) whose KB trials all
    failed is at 1. None when no group has a KB trial.
    """
    per_dataset: dict[str, list[float]] = defaultdict(list)
    counts: list[int] = []
    for group in groups:
        kb_scores = np.array(
            [
                score
                for run in group.runs.values()
                for trial, score in zip(run["trials"], _scores(run), strict=True)
                if trial.get("source") == "warm_start"
            ]
        )
        if kb_scores.size == 0:
            continue
        counts.append(int(kb_scores.size))
        best, worst = _span(group)
        reached = float(np.nanmax(kb_scores)) if np.isfinite(kb_scores).any() else worst
        per_dataset[group.dataset].append(float(_regret(best, worst, reached)))
    if not per_dataset:
        return None
    return {
        "regret": float(np.mean([np.mean(v) for v in per_dataset.values()])),
        "n_configurations": float(np.mean(counts)),
    }


def expected_max_normal(n: int) -> float:
    """E[max of ``n`` independent standard normals] (numerical integral; 1.539 for 10, 2.249
    for 50)."""
    x = np.linspace(-12.0, 12.0, 24_001)
    density = n * norm.pdf(x) * norm.cdf(x) ** (n - 1)
    return float(np.sum(x * density) * (x[1] - x[0]))


def selection_noise(
    groups: Sequence[Group], *, few: int, many: int, defaults: str = "defaults"
) -> dict[str, float] | None:
    """How large selection on CV noise alone could make "best of ``many`` trials against best of
    ``few``" under a simple model: context for the "warmstart@10 at or below tpe@50" target.

    A CV score is an estimate, and the seeds split the data differently. Part of a split's effect
    is shared by every configuration (a hard split lowers them all) and cancels when configurations
    are compared, so the noise is read from differences: for each pair of ``defaults``
    configurations (the same in every seed) the standard deviation across seeds of their score
    difference, divided by sqrt(2), is one configuration's own noise if both have the same.
    ``sigma`` is the median over the pairs; ``span`` the mean over seeds of the dataset's
    best-minus-worst score (the regret scale).

    The model: the configurations compared are equally good and their CV errors independent
    normals of spread ``sigma``. Then the best of ``many`` estimates beats the best of ``few`` by
    ``sigma * (E[max of many] - E[max of few])`` on average, from selection alone; divided by
    ``span`` (and capped at 1) that is regret. This is an estimate under that model, not a bound:
    with a clear winner among the ``few`` and ties among the ``many`` the effect can be larger, and
    with a clear winner in both, smaller. It says how large a gap noise alone can make on these
    datasets, not how much of an observed gap it made.

    Returns ``noise_share`` (mean over datasets of ``sigma / span``), ``noise_share_max``,
    ``selection_gain`` (mean over datasets of that regret) and ``n_datasets``; None when no dataset
    has two ``defaults`` configurations scored at two seeds or more.
    """
    by_seed: dict[str, list[dict[str, float]]] = defaultdict(list)
    spans: dict[str, list[float]] = defaultdict(list)
    for group in groups:
        run = group.runs.get(defaults)
        if run is None:
            continue
        best, worst = _span(group)
        spans[group.dataset].append(best - worst)
        scores = zip(run["trials"], _scores(run), strict=True)
        by_seed[group.dataset].append(
            {str(t.get("learner")): float(v) for t, v in scores if np.isfinite(v)}
        )
    lift = expected_max_normal(many) - expected_max_normal(few)
    shares: list[float] = []
    gains: list[float] = []
    for dataset, seeds in by_seed.items():
        names = sorted({name for seed in seeds for name in seed})
        sds: list[float] = []
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                diffs = [seed[a] - seed[b] for seed in seeds if a in seed and b in seed]
                if len(diffs) >= 2:
                    sds.append(float(np.std(diffs, ddof=1)) / np.sqrt(2.0))
        span = float(np.mean(spans[dataset]))
        if not sds or span <= 0:
            continue
        sigma = float(np.median(sds))
        shares.append(sigma / span)
        gains.append(min(1.0, sigma * lift / span))
    if not shares:
        return None
    return {
        "noise_share": float(np.mean(shares)),
        "noise_share_max": float(np.max(shares)),
        "selection_gain": float(np.mean(gains)),
        "n_datasets": float(len(shares)),
    }
