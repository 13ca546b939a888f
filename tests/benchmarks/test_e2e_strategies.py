"""The steered warm phases of ``benchmarks.e2e`` on a scripted evaluator and proposer: which
configuration each trial gets, and the source its record says."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from benchmarks.e2e._strategies import STRATEGIES, RunContext
from benchmarks.e2e._trials import TrialRecord
from metaknowledge.metamodel import Recommendation
from metaknowledge.searchspace import validate_params

# The proposer's list, best first: four linear-SVM grid points.
GRID = [{"C": 1.0}, {"C": 10.0}, {"C": 0.1}, {"C": 3.0}]


@dataclass
class _Problem:
    maximize: bool
    task_type: str = "classification"


class _Evaluator:
    """Scores a linear SVM by its C alone (or fails the first ``fail_first`` trials)."""

    def __init__(self, score_of_c: Any, *, maximize: bool, fail_first: int = 0) -> None:
        self.problem = _Problem(maximize)
        self.score_of_c = score_of_c
        self.fail_first = fail_first

    def evaluate(
        self, learner: str, params: dict[str, Any], *, seed: int, number: int, source: str
    ) -> TrialRecord:
        failed = number < self.fail_first or learner != "linear_svm"
        score = None if failed else float(self.score_of_c(params["C"]))
        return TrialRecord(number, learner, dict(params), score, 0.0, source)


class _Proposer:
    """Proposes the grid in order, skipping what was observed; records what it was told."""

    def __init__(self) -> None:
        self.told: list[int] = []

    def recommend(
        self,
        metafeatures: Mapping[str, float],
        k: int,
        *,
        observed: Sequence[Any] = (),
        learners: Sequence[str] | None = None,
    ) -> list[Recommendation]:
        self.told.append(len(observed))
        seen = {float(o[0]["params"]["C"]) for o in observed if isinstance(o[0], Mapping)}
        seen |= {float(str(o[0]).split("=")[1]) for o in observed if isinstance(o[0], str)}
        left = [g for g in GRID if g["C"] not in seen]
        return [Recommendation(f"C={g['C']}", "linear_svm", dict(g), None, ()) for g in left[:k]]


def _run(strategy: str, evaluator: _Evaluator, *, warm_k: int = 4) -> list[TrialRecord]:
    ctx = RunContext(
        evaluator=evaluator,  # type: ignore[arg-type]
        seed=0,
        n_trials=warm_k + 1,
        warm_k=warm_k,
        metafeatures={},
        metamodel=_Proposer(),  # type: ignore[arg-type]
    )
    return STRATEGIES[strategy].run(ctx)


@pytest.mark.parametrize("maximize", [True, False])
def test_refine_moves_around_the_best_so_far_in_the_metric_s_direction(maximize: bool) -> None:
    # Higher is better with C near 10; as a loss, lower is better with C near 0.1.
    evaluator = _Evaluator(lambda c: -abs(c - 10) if maximize else abs(c - 0.1), maximize=maximize)
    records = _run("warmstart-refine", evaluator, warm_k=4)
    # 4 warm trials, 30 % of them (1) refining: the proposer's 3, then a neighbour of the best.
    assert [r.source for r in records] == ["warm_start"] * 3 + ["refine", "sampler"]
    assert [r.params["C"] for r in records[:3]] == [1.0, 10.0, 0.1]
    incumbent = 10.0 if maximize else 0.1
    for record in records[3:4]:
        assert record.learner == "linear_svm"
        assert validate_params("linear_svm", record.params, task_type="classification")
        assert record.params["C"] != incumbent
        # Near the incumbent on C's log scale (0.01..100: a 15 % step is a factor ~4).
        assert 1 / 50 < record.params["C"] / incumbent < 50


def test_plain_warmstart_never_refines_and_tells_the_model_each_result() -> None:
    evaluator = _Evaluator(lambda c: c, maximize=True)
    records = _run("warmstart", evaluator, warm_k=3)
    assert [r.source for r in records] == ["warm_start"] * 3 + ["sampler"]
    assert [r.params["C"] for r in records[:3]] == [1.0, 10.0, 0.1]


def test_refine_waits_for_a_score_before_refining() -> None:
    # warm_k 4 with 30 % refining: 3 proposer trials, then 1 refine; the proposer's trials failed,
    # so there is nothing to refine and the proposer is asked again.
    evaluator = _Evaluator(lambda c: c, maximize=True, fail_first=3)
    records = _run("warmstart-refine", evaluator, warm_k=4)
    assert [r.source for r in records] == ["warm_start"] * 4 + ["sampler"]
    assert records[3].params == {"C": 3.0}
