"""Regret and the leave-one-dataset-out protocol."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metaknowledge import InvalidInputError
from metaknowledge.evaluation import (
    ORACLE_NAME,
    GreedyPortfolio,
    RandomOrder,
    evaluate_proposer,
    normalized_regret,
    regret_curve,
    similarity_oracle,
)
from metaknowledge.metamodel import MetaModel

from .kbfactory import make_kb


def test_normalized_regret() -> None:
    row = np.array([0.5, 0.9, 0.7, np.nan])
    assert normalized_regret(row, [1]) == 0.0
    assert normalized_regret(row, [0]) == 1.0
    assert normalized_regret(row, [2, 0]) == pytest.approx(0.5)
    assert normalized_regret(row, [3]) == 1.0  # an unknown score is no improvement
    with pytest.raises(ValueError):
        normalized_regret(np.array([0.5, 0.5]), [0])


def test_regret_curve_is_monotone_and_padded() -> None:
    row = np.array([0.5, 0.9, 0.7])
    assert list(regret_curve(row, [0, 2, 1], 5)) == pytest.approx([1.0, 0.5, 0.0, 0.0, 0.0])
    assert list(regret_curve(row, [2], 3)) == pytest.approx([0.5, 0.5, 0.5])


def test_metamodel_beats_random_and_the_global_portfolio_on_structured_kb() -> None:
    kb = make_kb(40)
    random = evaluate_proposer(kb, lambda: RandomOrder(0), name="random", length=5)
    greedy = evaluate_proposer(kb, GreedyPortfolio, name="greedy", length=5)
    meta = evaluate_proposer(kb, lambda: MetaModel(bandwidth=0.5), name="mm", length=5)
    assert meta.curves.shape == (40, 5)
    assert meta.mean_at(1) < greedy.mean_at(1) < random.mean_at(1) + 1e-9
    assert meta.mean_at(1) < 0.1


def test_sequential_adapts_where_static_cannot() -> None:
    kb = make_kb(40)
    # Hide the meta-features: only observations can tell the families apart.
    kb_blind = type(kb)(**{**kb.__dict__, "metafeatures": kb.metafeatures.iloc[:0]})
    static = evaluate_proposer(kb_blind, MetaModel, name="mm", setting="static", length=4)
    sequential = evaluate_proposer(kb_blind, MetaModel, name="mm", setting="sequential", length=4)
    assert sequential.mean_at(4) < static.mean_at(4)
    summary = sequential.summary(ks=(1, 4))
    assert set(summary["regret"]) == {"1", "4"} and summary["n_datasets"] == 40


def test_bad_settings_are_rejected() -> None:
    with pytest.raises(InvalidInputError):
        evaluate_proposer(make_kb(), MetaModel, name="x", setting="both")
    with pytest.raises(InvalidInputError):
        evaluate_proposer(make_kb(), MetaModel, name="x", length=0)


def test_similarity_oracle_finds_a_twin_and_bounds_the_structured_kb() -> None:
    kb = make_kb(30)
    oracle = similarity_oracle(kb, length=5)
    assert oracle.name == ORACLE_NAME and oracle.curves.shape == (30, 5)
    # On this KB each family's rows correlate with each other: knowing them is enough.
    assert oracle.mean_at(1) < 0.1
    assert set(oracle.extra["temperature"]) == {"1", "2", "3", "4", "5"}
    # An exact copy of a held-out row in the KB is found: regret 0 on it from the first proposal.
    perf = kb.performance.copy()
    perf.iloc[1] = perf.iloc[0].to_numpy()[::-1]  # a row no other row resembles...
    twin = perf.iloc[[1]].copy()
    twin.index = pd.Index([9999], name=perf.index.name)
    perf = pd.concat([perf, twin])
    kb2 = type(kb)(**{**kb.__dict__, "performance": perf, "runtime": perf.iloc[:0]})
    curve = similarity_oracle(kb2, dataset_ids=[int(perf.index[1])], length=3).curves[0]
    assert list(curve) == pytest.approx([0.0, 0.0, 0.0])


def test_similarity_oracle_rejects_bad_settings_and_skips_flat_rows() -> None:
    kb = make_kb(10)
    with pytest.raises(InvalidInputError):
        similarity_oracle(kb, length=0)
    with pytest.raises(InvalidInputError):
        similarity_oracle(kb, temperatures=(0.1, 0.0))
    perf = kb.performance.copy()
    perf.iloc[0] = 0.5
    flat = type(kb)(**{**kb.__dict__, "performance": perf})
    result = similarity_oracle(flat, length=2)
    assert int(perf.index[0]) not in result.dataset_ids and len(result.dataset_ids) == 9
