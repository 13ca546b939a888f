"""The e2e benchmark's honest hold-out: which knowledge-base datasets are the benchmark dataset."""

from __future__ import annotations

import pytest

from benchmarks.e2e._holdout import find_in_kb, normalised_name
from metaknowledge import KnowledgeBase, load_knowledge_base


@pytest.fixture(scope="module")
def classification_kb() -> KnowledgeBase:
    return load_knowledge_base()


@pytest.fixture(scope="module")
def regression_kb() -> KnowledgeBase:
    return load_knowledge_base(task_type="regression")


def test_a_kb_dataset_id_is_held_out_by_its_openml_id(classification_kb: KnowledgeBase) -> None:
    dataset_id = int(classification_kb.dataset_ids[0])
    found = find_in_kb(classification_kb, {}, openml_did=dataset_id, class_counts=())
    assert (found.kb_ids, found.reason) == ((dataset_id,), "openml_id")


def test_the_same_shape_and_class_sizes_are_held_out(classification_kb: KnowledgeBase) -> None:
    table = classification_kb.metafeatures
    columns = ["NumberOfInstances", "NumberOfFeatures", "NumberOfClasses"]
    columns += ["MajorityClassSize", "MinorityClassSize"]
    known = table.dropna(subset=columns)
    dataset_id = int(known.index[0])
    row = known.loc[dataset_id]
    metafeatures = {
        "NumberOfInstances": float(row["NumberOfInstances"]),
        "NumberOfFeatures": float(row["NumberOfFeatures"]),
    }
    majority, minority = int(row["MajorityClassSize"]), int(row["MinorityClassSize"])
    middle = (int(row["NumberOfInstances"]) - majority - minority,)
    counts = (majority, *middle * (int(row["NumberOfClasses"]) - 2), minority)
    found = find_in_kb(classification_kb, metafeatures, openml_did=None, class_counts=counts)
    assert dataset_id in found.kb_ids and found.reason == "shape"
    # One more class, the same majority and minority sizes: another dataset.
    more = (majority, *middle * (int(row["NumberOfClasses"]) - 1), minority)
    other = find_in_kb(classification_kb, metafeatures, openml_did=None, class_counts=more)
    assert dataset_id not in other.kb_ids


def test_a_regression_kb_dataset_is_held_out_by_name(regression_kb: KnowledgeBase) -> None:
    # auto-sklearn's datasets have no OpenML id and count the target among their features, so
    # only the name identifies PMLB's 197_cpu_act (8192 rows, 21 features) in the KB.
    names = regression_kb.datasets["name"]
    cpu_act = [int(i) for i, n in names.items() if n == "cpu_act"]
    assert cpu_act and all(i < 0 for i in cpu_act)
    metafeatures = {"NumberOfInstances": 8192.0, "NumberOfFeatures": 21.0}
    found = find_in_kb(
        regression_kb, metafeatures, openml_did=197, class_counts=(), name="197_cpu_act"
    )
    assert (found.kb_ids, found.reason) == (tuple(cpu_act), "name")
    assert find_in_kb(regression_kb, metafeatures, openml_did=197, class_counts=()).kb_ids == ()


def test_names_match_only_datasets_without_an_openml_id(classification_kb: KnowledgeBase) -> None:
    # The classification KB's datasets all have OpenML ids: a name alone never holds one out.
    named = classification_kb.datasets["name"]
    name = str(next(n for n in named if not str(n).startswith("openml-")))
    found = find_in_kb(classification_kb, {}, openml_did=None, class_counts=(), name=name)
    assert found.kb_ids == ()


def test_normalised_name() -> None:
    assert normalised_name("225_puma8NH") == normalised_name("puma8nh") == "puma8nh"
    assert normalised_name("wine-quality_red") == "winequalityred"
