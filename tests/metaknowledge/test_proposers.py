"""One contract, run against every proposer (the meta-model and the evaluation baselines)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from metaknowledge import InvalidInputError, NotFittedError
from metaknowledge.evaluation import AverageRank, GreedyPortfolio, KnnBestConfigs, RandomOrder
from metaknowledge.metamodel import MetaModel, Proposer
from metaknowledge.searchspace import validate_params

from .kbfactory import make_kb

PROPOSERS: dict[str, Callable[[], Proposer]] = {
    "metamodel": lambda: MetaModel(random_state=0),
    "random": lambda: RandomOrder(random_state=0),
    "average_rank": AverageRank,
    "greedy": GreedyPortfolio,
    "knn": KnnBestConfigs,
}
QUERY = {"NumberOfInstances": 300.0, "NumberOfFeaturesAfterEncoding": 10.0}


@pytest.fixture(params=sorted(PROPOSERS), scope="module")
def fitted(request: pytest.FixtureRequest) -> Proposer:
    return PROPOSERS[request.param]().fit(make_kb())


def test_proposals_lie_in_the_search_space(fitted: Proposer) -> None:
    for rec in fitted.recommend(QUERY, 7):
        assert validate_params(rec.learner, rec.params) == dict(rec.params)


@pytest.mark.parametrize("k", [1, 3, 7, 50])
def test_k_is_respected_and_proposals_are_distinct(fitted: Proposer, k: int) -> None:
    recs = fitted.recommend(QUERY, k)
    assert len(recs) == min(k, 7)
    assert len({r.config_id for r in recs}) == len(recs)


def test_same_seed_same_result(fitted: Proposer) -> None:
    name = next(n for n, f in PROPOSERS.items() if isinstance(fitted, type(f())))
    again = PROPOSERS[name]().fit(make_kb())
    assert fitted.recommend(QUERY, 5) == again.recommend(QUERY, 5)


def test_observed_configurations_are_not_proposed_again(fitted: Proposer) -> None:
    first = fitted.recommend(QUERY, 3)
    observed = [(r.config_id, 0.7) for r in first if r.config_id is not None]
    later = fitted.recommend(QUERY, 3, observed=observed)
    assert not {r.config_id for r in later} & {c for c, _ in observed}


def test_learner_filter(fitted: Proposer) -> None:
    recs = fitted.recommend(QUERY, 5, learners=["knn"])
    assert recs and all(r.learner == "knn" for r in recs)


def test_partial_and_empty_metafeatures_work(fitted: Proposer) -> None:
    assert len(fitted.recommend({"ClassEntropy": 0.7}, 2)) == 2
    assert len(fitted.recommend({}, 2)) == 2
    assert len(fitted.recommend({"NotAQuality": 1.0, "NumberOfInstances": float("nan")}, 2)) == 2


@pytest.mark.parametrize("name", sorted(PROPOSERS))
def test_unfitted_and_bad_k(name: str) -> None:
    with pytest.raises(NotFittedError):
        PROPOSERS[name]().recommend(QUERY, 1)
    fitted = PROPOSERS[name]().fit(make_kb())
    with pytest.raises(InvalidInputError):
        fitted.recommend(QUERY, 0)
