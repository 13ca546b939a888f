"""The strategies compared: how each chooses the configurations of its trial budget.

Every strategy searches the same space (:mod:`metaknowledge.searchspace`, through the service's
Optuna bridge), on the same CV splits (the seed), with the same number of trials:

- ``warmstart``: the service's steered warm start (:mod:`service.runner.steering`): the
  meta-model proposes one configuration at a time for the first ``warm_k`` trials, told the
  scores measured so far (``observed``, failures as NaN), then the service's TPE sampler
  continues with every trial in its history;
- ``warmstart-static``: the meta-model's top ``warm_k`` enqueued at once, then TPE (opt-in; what
  the service did before it steered);
- ``warmstart-refine``: ``warmstart`` whose last 30 % of warm-phase trials refine the best so far
  (:func:`~metaknowledge.searchspace.neighbour`, source ``refine``) instead of taking further KB
  configurations (opt-in; an experiment, see docs/e2e.md);
- ``tpe``: the service's TPE sampler from a cold start; ``random``: random search;
- ``knn-warmstart``: auto-sklearn 1.0 style: the best configurations of the nearest KB datasets
  enqueued, then TPE;
- ``defaults``: every learner at its scikit-learn defaults (a single point: the best of them);
- ``flaml-zeroshot``: FLAML's zero-shot configurations (a single point), when ``flaml`` imports.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import optuna

from benchmarks.e2e._trials import TrialEvaluator, TrialRecord
from metaknowledge.metamodel import Observation, Proposer
from metaknowledge.searchspace import default_config, learners_for, neighbour

__all__ = [
    "DEFAULT_STRATEGIES",
    "STRATEGIES",
    "RunContext",
    "Strategy",
    "unavailable_reason",
]


@dataclass
class RunContext:
    """What a strategy needs for one (dataset, seed) run."""

    evaluator: TrialEvaluator
    seed: int
    n_trials: int
    warm_k: int
    metafeatures: Mapping[str, float]
    metamodel: Proposer | None = None
    knn: Proposer | None = None

    @property
    def task_type(self) -> str:
        """The problem's task type."""
        return self.evaluator.problem.task_type

    @property
    def learners(self) -> list[str]:
        """Every learner of the task type's search space."""
        return learners_for(self.task_type)


@dataclass(frozen=True)
class Strategy:
    """A named strategy: ``run`` spends the budget; ``point`` strategies report one value."""

    name: str
    run: Callable[[RunContext], list[TrialRecord]]
    point: bool = False
    needs_kb: bool = False


# -- the Optuna loop shared by the search strategies ------------------------------------------
Steer = Callable[[list[TrialRecord]], tuple[dict[str, Any], str] | None]
"""Before each trial: None, or the flat configuration to run next and the source its record
gets (``warm_start``: a KB configuration; ``refine``: a neighbour of the incumbent)."""


def _new_study(ctx: RunContext, sampler: str, warm: Sequence[dict[str, Any]]) -> optuna.Study:
    """A study in memory, made by the service's bridge (same enqueueing, same TPE settings)."""
    from service.runner.bridge import create_study, load_study

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.InMemoryStorage()
    maximize = ctx.evaluator.problem.maximize
    # The bridge is typed for the service's RDB storage; the in-memory storage has its interface.
    create_study(cast(Any, storage), "benchmark", maximize=maximize, warm_start=warm)
    study = load_study(cast(Any, storage), "benchmark", seed=ctx.seed)
    if sampler == "random":
        study.sampler = optuna.samplers.RandomSampler(seed=ctx.seed)
    return study


def _search(
    ctx: RunContext,
    *,
    sampler: str = "tpe",
    warm: Sequence[dict[str, Any]] = (),
    steer: Steer | None = None,
) -> list[TrialRecord]:
    """Run ``ctx.n_trials`` trials; ``steer`` may enqueue the next configuration before each."""
    from service.runner.bridge import WARM_START_ATTR, sample_config

    study = _new_study(ctx, sampler, warm)
    records: list[TrialRecord] = []
    for number in range(ctx.n_trials):
        steered = steer(records) if steer is not None else None
        if steered is not None:
            study.enqueue_trial(steered[0], user_attrs={WARM_START_ATTR: steered[1]})
        trial = study.ask()
        learner, params, source = sample_config(trial, ctx.learners, task_type=ctx.task_type)
        if steered is not None:
            source = steered[1]
        record = ctx.evaluator.evaluate(
            learner, params, seed=ctx.seed, number=number, source=source
        )
        if record.score is None:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(trial, record.score)
        records.append(record)
    return records


def _flat(learner: str, params: Mapping[str, Any], task_type: str) -> dict[str, Any]:
    from service.runner.bridge import warm_start_flat

    return warm_start_flat(learner, dict(params), task_type=task_type)


def _require(proposer: Proposer | None, name: str) -> Proposer:
    if proposer is None:
        raise ValueError(f"the {name} strategy needs a fitted proposer")
    return proposer


# -- the strategies ----------------------------------------------------------------------------
def _tpe(ctx: RunContext) -> list[TrialRecord]:
    return _search(ctx)


def _random(ctx: RunContext) -> list[TrialRecord]:
    return _search(ctx, sampler="random")


def _steered(ctx: RunContext, n_refine: int = 0) -> list[TrialRecord]:
    """The steered warm phase: the meta-model picks each of the first ``warm_k - n_refine``
    trials told the scores so far; each of the next ``n_refine`` is a :func:`neighbour` of the
    best trial so far (a local refinement off the KB's grid; the meta-model's pick while no trial
    has a score); then TPE."""
    model = _require(ctx.metamodel, "warmstart")
    n_kb = max(1, ctx.warm_k - n_refine)
    config_ids: list[str | None] = []
    rng = np.random.default_rng(ctx.seed)
    sign = 1.0 if ctx.evaluator.problem.maximize else -1.0

    def steer(done: list[TrialRecord]) -> tuple[dict[str, Any], str] | None:
        if len(done) >= ctx.warm_k or len(done) != len(config_ids):
            return None  # the warm phase is over (or the model ran out of proposals)
        scored = [r for r in done if r.score is not None]
        if len(done) >= n_kb and scored:
            best = max(scored, key=lambda r: sign * float(cast(float, r.score)))
            params = neighbour(best.learner, best.params, task_type=ctx.task_type, rng=rng)
            config_ids.append(None)
            return _flat(best.learner, params, ctx.task_type), "refine"
        observed: list[Observation] = []
        for cid, record in zip(config_ids, done, strict=True):
            score = record.score if record.score is not None else math.nan
            key: str | Mapping[str, Any] = (
                cid if cid is not None else {"learner": record.learner, "params": record.params}
            )
            observed.append((key, score))
        proposals = model.recommend(ctx.metafeatures, 1, observed=observed, learners=ctx.learners)
        if not proposals:
            return None
        config_ids.append(proposals[0].config_id)
        flat = _flat(proposals[0].learner, proposals[0].params, ctx.task_type)
        return flat, "warm_start"

    return _search(ctx, steer=steer)


def _warmstart(ctx: RunContext) -> list[TrialRecord]:
    return _steered(ctx)


REFINE_SHARE = 0.3
"""``warmstart-refine``: the share of the warm phase spent refining the incumbent (3 of 10)."""


def _warmstart_refine(ctx: RunContext) -> list[TrialRecord]:
    return _steered(ctx, n_refine=round(REFINE_SHARE * ctx.warm_k))


def _static(ctx: RunContext, proposer: Proposer) -> list[TrialRecord]:
    proposals = proposer.recommend(ctx.metafeatures, ctx.warm_k, learners=ctx.learners)
    warm = [_flat(p.learner, p.params, ctx.task_type) for p in proposals]
    return _search(ctx, warm=warm[: ctx.n_trials])


def _warmstart_static(ctx: RunContext) -> list[TrialRecord]:
    return _static(ctx, _require(ctx.metamodel, "warmstart-static"))


def _knn_warmstart(ctx: RunContext) -> list[TrialRecord]:
    return _static(ctx, _require(ctx.knn, "knn-warmstart"))


def _defaults(ctx: RunContext) -> list[TrialRecord]:
    return [
        ctx.evaluator.evaluate(
            learner,
            default_config(learner, task_type=ctx.task_type),
            seed=ctx.seed,
            number=number,
            source="defaults",
        )
        for number, learner in enumerate(ctx.learners)
    ]


def _flaml_zeroshot(ctx: RunContext) -> list[TrialRecord]:
    from benchmarks.e2e._flaml import zeroshot_configs

    configs = zeroshot_configs(ctx.evaluator.problem, ctx.learners)
    return [
        ctx.evaluator.evaluate(learner, params, seed=ctx.seed, number=number, source="flaml")
        for number, (learner, params) in enumerate(configs)
    ]


STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in (
        Strategy("warmstart", _warmstart, needs_kb=True),
        Strategy("tpe", _tpe),
        Strategy("random", _random),
        Strategy("defaults", _defaults, point=True),
        Strategy("knn-warmstart", _knn_warmstart, needs_kb=True),
        Strategy("flaml-zeroshot", _flaml_zeroshot, point=True),
        Strategy("warmstart-static", _warmstart_static, needs_kb=True),
        Strategy("warmstart-refine", _warmstart_refine, needs_kb=True),
    )
}
DEFAULT_STRATEGIES = ("warmstart", "tpe", "random", "defaults", "knn-warmstart", "flaml-zeroshot")


def unavailable_reason(name: str, *, task_type: str, has_kb: bool) -> str | None:
    """Why strategy ``name`` cannot run here (None when it can); ``has_kb``: whether there is
    a knowledge base of ``task_type``."""
    strategy = STRATEGIES[name]
    if strategy.needs_kb and not has_kb:
        return f"there is no knowledge base of {task_type} run history"
    if name == "flaml-zeroshot":
        from benchmarks.e2e._flaml import flaml_missing_reason

        return flaml_missing_reason()
    return None
