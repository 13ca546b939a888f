"""Regret and the leave-one-dataset-out protocol."""

from __future__ import annotations

import numpy as np
import pytest

from metaknowledge import InvalidInputError
from metaknowledge.evaluation import (
    GreedyPortfolio,
    RandomOrder,
    evaluate_proposer,
    normalized_regret,
    regret_curve,
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
