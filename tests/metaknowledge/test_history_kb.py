"""A knowledge base from a service's run history, and the prior weight of its datasets."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from metaknowledge import InvalidInputError
from metaknowledge.knowledge import (
    HistoryDataset,
    HistoryRun,
    append_history,
    knowledge_base_from_history,
    merge_knowledge_bases,
)
from metaknowledge.metamodel import MetaModel
from metaknowledge.searchspace import validate_params

from .kbfactory import make_kb

# Small datasets, like the kNN family of make_kb, on which naive Bayes wins instead.
SMALL = {"NumberOfInstances": 300.0, "NumberOfFeaturesAfterEncoding": 20.0}


def _history(n: int = 3) -> tuple[list[HistoryDataset], list[HistoryRun]]:
    datasets = [HistoryDataset(-(i + 1), f"own {i}", dict(SMALL, Extra=1.0)) for i in range(n)]
    nb = validate_params("gaussian_nb", {})
    knn = validate_params("knn", {"n_neighbors": 5})
    runs = []
    for i in range(n):
        runs += [
            HistoryRun(-(i + 1), "gaussian_nb", nb, 0.95),
            HistoryRun(-(i + 1), "knn", knn, 0.70),
            HistoryRun(-(i + 1), "knn", validate_params("knn", {"n_neighbors": 6}), 0.60),
        ]
    return datasets, runs


def test_runs_land_on_the_knowledge_base_configurations() -> None:
    kb = make_kb()
    datasets, runs = _history(2)
    runs += [
        HistoryRun(-1, "gaussian_nb", validate_params("gaussian_nb", {}), math.nan),
        HistoryRun(-1, "mlp", validate_params("mlp", {}), 0.9),
        HistoryRun(-9, "knn", validate_params("knn", {"n_neighbors": 5}), 0.9),
    ]
    result = knowledge_base_from_history(datasets, runs, onto=kb, source="service", version="h")
    assert (result.n_runs, result.n_exact, result.n_nearest) == (9, 4, 2)
    assert result.skipped == {
        "no finite score": 1,
        "learner mlp has no configuration in the knowledge base": 1,
        "unknown dataset": 1,
    }
    own = result.knowledge_base
    assert own is not None and own.dataset_ids == [-2, -1]
    assert own.config_ids == ["t:knn:5", "t:nb"]  # k=6 is nearest to k=5: averaged with it
    assert own.performance.loc[-1, "t:knn:5"] == pytest.approx(0.65)
    assert own.performance.loc[-1, "t:nb"] == pytest.approx(0.95)
    assert list(own.metafeatures.columns) == list(kb.metafeatures.columns)  # "Extra" dropped
    assert own.metafeatures.loc[-1, "NumberOfInstances"] == 300.0
    assert np.isnan(own.metafeatures.loc[-1, "ClassEntropy"])
    assert set(own.datasets["source"]) == {"service"}
    assert (own.metric, own.task_type) == (kb.metric, kb.task_type)


def test_the_result_does_not_depend_on_the_order_of_rows() -> None:
    kb = make_kb()
    datasets, runs = _history()
    a = knowledge_base_from_history(datasets, runs, onto=kb, source="s", version="h")
    b = knowledge_base_from_history(datasets[::-1], runs[::-1], onto=kb, source="s", version="h")
    assert a.knowledge_base is not None and b.knowledge_base is not None
    pd.testing.assert_frame_equal(a.knowledge_base.performance, b.knowledge_base.performance)


def test_nothing_placed_gives_no_knowledge_base_and_clashing_ids_are_refused() -> None:
    kb = make_kb()
    datasets, _ = _history(1)
    empty = knowledge_base_from_history(datasets, [], onto=kb, source="s", version="h")
    assert empty.knowledge_base is None and empty.n_runs == 0
    taken = HistoryDataset(kb.dataset_ids[0], "clash", {})
    with pytest.raises(InvalidInputError, match="already in the knowledge base"):
        knowledge_base_from_history([taken], [], onto=kb, source="s", version="h")
    with pytest.raises(InvalidInputError, match="given twice"):
        knowledge_base_from_history(datasets * 2, [], onto=kb, source="s", version="h")


def test_append_history_equals_the_general_merge() -> None:
    kb = make_kb()
    datasets, runs = _history()
    own = knowledge_base_from_history(datasets, runs, onto=kb, source="service", version="h")
    assert own.knowledge_base is not None
    fast = append_history(kb, own.knowledge_base)
    slow = merge_knowledge_bases(kb, own.knowledge_base)
    pd.testing.assert_frame_equal(
        fast.performance, slow.performance, check_names=False, check_column_type=False
    )
    pd.testing.assert_frame_equal(
        fast.metafeatures, slow.metafeatures, check_names=False, check_column_type=False
    )
    assert list(fast.datasets["source"]) == list(slow.datasets["source"])
    assert fast.dataset_ids[-3:] == [-3, -2, -1]  # sorted ids, after the base's
    with pytest.raises(InvalidInputError, match="already in the knowledge base"):
        append_history(fast, own.knowledge_base)


def test_source_weights_let_own_history_outweigh_the_public_datasets() -> None:
    kb = make_kb()
    datasets, runs = _history()
    own = knowledge_base_from_history(datasets, runs, onto=kb, source="service", version="h")
    assert own.knowledge_base is not None
    merged = append_history(kb, own.knowledge_base)
    # A fixed plain kernel: a learned one may reward the own datasets' exact shape match with
    # the query by itself; this test is about the source weight alone.
    kernel = {"bandwidth": 0.5, "match_bonus": 0.0}
    plain = MetaModel(**kernel).fit(merged)
    weighted = MetaModel(**kernel, source_weights={"service": 20.0}).fit(merged)
    # 3 own datasets among 30 small public ones: kNN stays first unless they weigh more.
    assert plain.recommend(SMALL, 1)[0].learner == "knn"
    assert weighted.recommend(SMALL, 1)[0].learner == "gaussian_nb"
    assert weighted.version != plain.version
    # Unset weights leave the version of earlier releases unchanged.
    assert plain.version == MetaModel(**kernel).fit(merged).version
    assert "source_weights" in plain.get_params()
    with pytest.raises(InvalidInputError, match="source weight"):
        MetaModel(source_weights={"service": 0.0}).fit(merged)
