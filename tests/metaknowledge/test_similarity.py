"""The meta-model's similarity kernel: the shape-match bonus and learning it from the KB."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from metaknowledge import InvalidInputError
from metaknowledge.evaluation import evaluate_proposer
from metaknowledge.knowledge import KnowledgeBase, Provenance
from metaknowledge.metamodel import MetaModel
from metaknowledge.metamodel._similarity import SimilarityKernel
from metaknowledge.searchspace import validate_params

from .kbfactory import make_kb


def sibling_kb(n_families: int = 20, seed: int = 0) -> KnowledgeBase:
    """Families of two datasets with exactly the same shape and the same best configuration;
    the shapes of different families are drawn independently of which configuration wins, so
    only an exact match (not nearness) says which configuration to try."""
    rng = np.random.default_rng(seed)
    n_configs = 8
    configs = {
        f"s:knn:{k}": {"learner": "knn", "params": validate_params("knn", {"n_neighbors": k})}
        for k in range(1, n_configs + 1)
    }
    rows, cols, perf = [], [], []
    for _ in range(n_families):
        shape = (float(rng.integers(100, 5000)), float(rng.integers(3, 60)))
        winner = rng.integers(n_configs)
        for _ in range(2):
            score = rng.uniform(0.6, 0.7, n_configs)
            score[winner] = 0.9
            rows.append(shape[0])
            cols.append(shape[1])
            perf.append(score)
    index = pd.Index(range(5000, 5000 + len(perf)), name="dataset_id")
    columns = pd.Index(list(configs), name="config_id")
    performance = pd.DataFrame(np.asarray(perf), index=index, columns=columns)
    return KnowledgeBase(
        performance=performance,
        metafeatures=pd.DataFrame(
            {"NumberOfInstances": rows, "NumberOfFeaturesAfterEncoding": cols}, index=index
        ),
        configs=configs,
        runtime=pd.DataFrame(np.ones_like(performance), index=index, columns=columns),
        datasets=pd.DataFrame({"name": [f"s{i}" for i in index], "source": "test"}, index=index),
        version="test.siblings",
        provenance=(Provenance("test", "none", "0", "generated", "0" * 64, "CC0"),),
    )


def test_learns_a_bonus_when_siblings_share_their_shape() -> None:
    kb = sibling_kb()
    model = MetaModel().fit(kb)
    assert model.match_bonus_ > 0
    first, twin = kb.dataset_ids[0], kb.dataset_ids[1]
    query = kb.metafeatures.loc[first].to_dict()
    held_out = MetaModel().fit(kb.without([first]))
    assert held_out.recommend(query, 1)[0].config_id == kb.performance.loc[twin].idxmax()
    # Held out one at a time, the learned kernel finds each sibling's winner; without the bonus
    # the nearest shapes, which say nothing here, decide.
    learned = evaluate_proposer(kb, MetaModel, name="learned", length=1)
    plain = evaluate_proposer(kb, lambda: MetaModel(match_bonus=0.0), name="plain", length=1)
    assert learned.mean_at(1) == 0.0
    assert plain.mean_at(1) > 0.2


def test_no_bonus_when_no_two_datasets_share_a_shape_value() -> None:
    # Every bonus then weighs all datasets alike: the plainest kernel (no bonus) is kept.
    kb = make_kb()
    widths = kb.metafeatures["NumberOfFeaturesAfterEncoding"]
    unique = widths + np.arange(len(widths)) / 7
    kb = dataclasses.replace(
        kb, metafeatures=kb.metafeatures.assign(NumberOfFeaturesAfterEncoding=unique)
    )
    assert MetaModel().fit(kb).match_bonus_ == 0.0


def test_given_parameters_are_used_as_given() -> None:
    model = MetaModel(bandwidth=0.3, match_bonus=2.0).fit(sibling_kb())
    assert model.kernel_ == SimilarityKernel(0.3, 2.0)
    assert model.get_params()["match_bonus"] == 2.0
    half = MetaModel(bandwidth=0.3).fit(sibling_kb())
    assert half.bandwidth_ == 0.3 and half.match_bonus_ > 0


def test_similarity_lies_in_the_unit_interval_and_an_exact_twin_scores_one() -> None:
    kb = sibling_kb()
    model = MetaModel().fit(kb)
    query = kb.metafeatures.iloc[0].to_dict()
    neighbours = model.similar(query, len(kb.dataset_ids))
    assert all(0.0 < n.similarity <= 1.0 for n in neighbours)
    assert {n.dataset_id for n in neighbours if n.similarity == 1.0} == set(kb.dataset_ids[:2])


def test_negative_bonus_is_rejected() -> None:
    with pytest.raises(InvalidInputError, match="match_bonus"):
        MetaModel(match_bonus=-1.0).fit(make_kb())
