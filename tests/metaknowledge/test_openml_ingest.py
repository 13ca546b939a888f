"""Live OpenML ingestion: the real openml client against the loopback fake server."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openml
import pandas as pd
import pytest

from metaknowledge.exceptions import InvalidInputError, SourceError
from metaknowledge.knowledge import (
    ingest_openml,
    merge_knowledge_bases,
    read_snapshot,
    write_snapshot,
)
from metaknowledge.knowledge._openml import config_id, map_setup

from .fake_openml import ApiError, Dataset, Evaluation, FakeOpenML, Flow, Setup
from .kbfactory import make_kb

RF = "sklearn.ensemble._forest.RandomForestClassifier"
KNN = "sklearn.neighbors._classification.KNeighborsClassifier"
SVC = "sklearn.svm._classes.SVC"
IMPUTER = "sklearn.impute._base.SimpleImputer"
PIPELINE = f"sklearn.pipeline.Pipeline(imputer={IMPUTER},estimator={SVC})"


def _setup(setup_id: int, flow_id: int, **values: Any) -> Setup:
    return Setup(setup_id, flow_id, {(flow_id, k): json.dumps(v) for k, v in values.items()})


def build_fake() -> FakeOpenML:
    """Suite 99 = tasks 11, 12, 13 (datasets 101-103; 103 has no qualities); task 14 has no runs.

    Setups: 1 and 2 are the same random-forest point (2 differs in ``verbose`` only), 3 uses 10
    trees (outside the space), 4 a kNN point, 5 a kNN with 500 neighbours (outside), 6 an SVC in a
    pipeline with ``shrinking`` (unmapped), 7 a Weka flow. Every task has one run of each setup
    and a second run of setup 4.
    """
    fake = FakeOpenML()
    fake.suites = {99: [11, 12, 13], 7: [14]}
    fake.task_data = {11: 101, 12: 102, 13: 103, 14: 104}
    fake.datasets = {
        101: Dataset(101, "alpha", {"NumberOfInstances": 150.0, "ClassEntropy": 1.5}),
        102: Dataset(102, "beta", {"NumberOfInstances": 3000.0, "ClassEntropy": None}),
        103: Dataset(103, "gamma", None),
        104: Dataset(104, "delta", {"NumberOfInstances": 10.0}),
    }
    fake.flows = {
        1: Flow(1, RF, version=3),
        2: Flow(2, KNN),
        3: Flow(3, PIPELINE, components=(4, 5)),
        4: Flow(4, IMPUTER),
        5: Flow(5, SVC, version=2),
        6: Flow(6, "weka.J48"),
    }
    rf = {
        "criterion": "gini",
        "max_features": "sqrt",
        "min_samples_split": 4,
        "n_estimators": 100,
        "bootstrap": True,
        "n_jobs": None,
        "max_depth": None,
    }
    fake.setups = {
        1: _setup(1, 1, **rf, verbose=0),
        2: _setup(2, 1, **rf, verbose=1),
        3: _setup(3, 1, **{**rf, "n_estimators": 10}),
        4: _setup(4, 2, n_neighbors=7, weights="distance", p=2, algorithm="auto", leaf_size=30),
        5: _setup(5, 2, n_neighbors=500, weights="uniform", p=2),
        6: Setup(
            6,
            3,
            {
                (3, "steps"): json.dumps([{"oml-python:serialized_object": "component_reference"}]),
                (4, "strategy"): '"mean"',
                (5, "C"): "10.0",
                (5, "kernel"): '"rbf"',
                (5, "gamma"): '"scale"',
                (5, "coef0"): "0.0",
                (5, "degree"): "3",
                (5, "shrinking"): "true",
            },
        ),
        7: Setup(7, 6, {(6, "C"): "0.25"}),
    }
    run = 1000
    for t, task in enumerate((11, 12, 13)):
        for s in range(1, 8):
            run += 1
            fake.evaluations.append(Evaluation(run, task, s, 0.5 + 0.05 * s + 0.01 * t))
        run += 1
        fake.evaluations.append(Evaluation(run, task, 4, 0.9, uploader=2))
    # Another measure on the same runs, which must not leak in.
    fake.evaluations.append(Evaluation(1001, 11, 1, 0.01, function="predictive_accuracy"))
    return fake


@pytest.fixture
def fake() -> Iterator[FakeOpenML]:
    server = build_fake()
    server.start()
    yield server
    server.stop()


def ingest(fake: FakeOpenML, tmp_path: Path, **kwargs: Any) -> Any:
    assert fake._server is not None
    url = f"http://127.0.0.1:{fake._server.server_address[1]}/api/v1/xml"
    options: dict[str, Any] = {"cache_dir": tmp_path / "cache", "server": url, "n_retries": 1}
    return ingest_openml(**{**options, **kwargs})


RF_ID = config_id(
    "random_forest",
    {"criterion": "gini", "max_features": "sqrt", "min_samples_leaf": 1, "min_samples_split": 4},
)
KNN_ID = "openml:knn:n_neighbors=7,p=2,weights=distance"
SVC_ID = "openml:kernel_svm:C=10.0,coef0=0.0,kernel=rbf"


def test_runs_map_to_learners_and_points(fake: FakeOpenML, tmp_path: Path) -> None:
    before = openml.config.server
    result = ingest(fake, tmp_path)
    assert openml.config.server == before, "the global openml configuration is restored"
    kb = result.knowledge_base
    assert result.task_ids == (11, 12, 13)
    assert result.n_runs == 24 and result.n_mapped == 15
    assert set(kb.config_ids) == {RF_ID, KNN_ID, SVC_ID}
    assert kb.config(RF_ID)["learner"] == "random_forest"
    assert kb.config(SVC_ID)["params"] == {"C": 10.0, "kernel": "rbf", "coef0": 0.0}
    assert kb.dataset_ids == [101, 102, 103]
    # setups 1 and 2 are one point: their runs are averaged, as are the two runs of setup 4
    assert kb.performance.loc[101, RF_ID] == pytest.approx((0.55 + 0.60) / 2)
    assert kb.performance.loc[102, KNN_ID] == pytest.approx((0.71 + 0.9) / 2)
    assert kb.performance.loc[103, SVC_ID] == pytest.approx(0.82)
    assert (kb.datasets["source"] == "openml").all()
    assert list(kb.datasets["name"]) == ["alpha", "beta", "gamma"]
    assert kb.metric == "balanced_accuracy" and kb.task_type == "classification"
    (prov,) = kb.provenance
    assert prov.source == "openml" and prov.version == openml.__version__
    assert "127.0.0.1" in prov.file and "fetched" in prov.description


def test_unmapped_parameters_and_skipped_rows_are_counted(fake: FakeOpenML, tmp_path: Path) -> None:
    result = ingest(fake, tmp_path)
    assert result.unmapped_params == {(PIPELINE, "shrinking"): 3}
    reasons = result.skipped
    assert reasons["fixed parameter n_estimators=10"] == 3
    assert reasons["flow not in the space: J48"] == 3
    (outside,) = [r for r in reasons if r.startswith("outside the space")]
    assert "n_neighbors" in outside and reasons[outside] == 3
    assert result.n_skipped == 9
    text = "\n".join(result.summary_lines())
    assert "mapped 15, skipped 9, unmapped params 3" in text
    assert "shrinking of " + PIPELINE in text


def test_qualities_become_metafeatures(fake: FakeOpenML, tmp_path: Path) -> None:
    mf = ingest(fake, tmp_path).knowledge_base.metafeatures
    assert list(mf.columns) == ["ClassEntropy", "NumberOfInstances"]
    assert mf.loc[101, "ClassEntropy"] == 1.5 and mf.loc[102, "NumberOfInstances"] == 3000
    assert math.isnan(mf.loc[102, "ClassEntropy"])  # an empty value is unknown
    assert mf.loc[103].isna().all()  # 362: no qualities at all


def test_paging_over_small_pages_gives_the_same_result(fake: FakeOpenML, tmp_path: Path) -> None:
    whole = ingest(fake, tmp_path / "a").knowledge_base
    fake.requests.clear()
    paged = ingest(fake, tmp_path / "b", page_size=3)
    offsets = [r for r in fake.requests if "evaluation/list" in r and "/task/11" in r]
    assert [r.split("/offset/")[1].split("/")[0] for r in offsets] == ["0", "3", "6"]
    assert paged.n_runs == 24
    pd.testing.assert_frame_equal(paged.knowledge_base.performance, whole.performance)


def test_max_runs_caps_each_task(fake: FakeOpenML, tmp_path: Path) -> None:
    result = ingest(fake, tmp_path, max_runs=4, page_size=3)
    assert result.n_runs == 12


def test_flow_filter_is_sent_to_the_server(fake: FakeOpenML, tmp_path: Path) -> None:
    result = ingest(fake, tmp_path, flows=[2])
    assert set(result.knowledge_base.config_ids) == {KNN_ID}
    assert all("/flow/2" in r for r in fake.requests if "evaluation/list" in r)


def test_no_results_is_an_empty_task(fake: FakeOpenML, tmp_path: Path) -> None:
    result = ingest(fake, tmp_path, suites=(99, 7))
    assert result.task_ids == (11, 12, 13, 14) and result.n_runs == 24
    assert 104 not in result.knowledge_base.dataset_ids


def test_an_openml_error_code_becomes_a_source_error(fake: FakeOpenML, tmp_path: Path) -> None:
    fake.fail_on["evaluation/list"] = ApiError(544, "Illegal filter specified")
    with pytest.raises(SourceError, match=r"OpenML error 544 .*Illegal filter specified"):
        ingest(fake, tmp_path)
    with pytest.raises(SourceError, match="OpenML error 601"):
        ingest(fake, tmp_path, suites=(12345,))


def test_unreachable_server_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="unavailable"):
        ingest_openml(
            cache_dir=tmp_path, server="http://127.0.0.1:9/api/v1/xml", n_retries=1, suites=(1,)
        )


def test_bad_arguments_are_refused(fake: FakeOpenML, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError):
        ingest(fake, tmp_path, suites=(), task_ids=None)
    with pytest.raises(InvalidInputError):
        ingest(fake, tmp_path, max_runs=0)


def test_an_interrupted_ingestion_resumes_without_duplicates(
    fake: FakeOpenML, tmp_path: Path
) -> None:
    reference = ingest(fake, tmp_path / "ref")
    fake.fail_on["/task/12"] = ApiError(107, "Database connection error")
    state = tmp_path / "state"
    with pytest.raises(SourceError, match="107"):
        ingest(fake, tmp_path, state_dir=state)
    assert sorted(p.name for p in state.iterdir()) == ["task-11.json"]
    del fake.fail_on["/task/12"]
    fake.requests.clear()
    result = ingest(fake, tmp_path, state_dir=state)
    assert result.resumed_tasks == (11,)
    assert not any("/task/11" in r for r in fake.requests)
    assert (result.n_runs, result.n_mapped) == (reference.n_runs, reference.n_mapped)
    assert result.skipped == reference.skipped
    pd.testing.assert_frame_equal(
        result.knowledge_base.performance, reference.knowledge_base.performance
    )
    # A different query does not reuse the state.
    other = ingest(fake, tmp_path, state_dir=state, max_runs=2)
    assert other.resumed_tasks == () and other.n_runs == 6


def test_the_snapshot_round_trips(fake: FakeOpenML, tmp_path: Path) -> None:
    kb = ingest(fake, tmp_path).knowledge_base
    write_snapshot(kb, tmp_path / "kb")
    back = read_snapshot(tmp_path / "kb")
    pd.testing.assert_frame_equal(back.performance, kb.performance)
    assert dict(back.configs) == {k: dict(v) for k, v in kb.configs.items()}
    assert (back.datasets["source"] == "openml").all()


@pytest.mark.parametrize(
    ("flow", "params", "learner", "reason"),
    [
        (f"{RF}(16)", {f"{RF}(16)_max_features": '"auto"'}, "random_forest", None),
        (f"{RF}(16)", {f"{RF}(16)_max_features": "0.3"}, "random_forest", "outside the space"),
        ("sklearn.linear_model._logistic.LogisticRegression(2)", {}, "logistic_regression", None),
        ("sklearn.naive_bayes.BernoulliNB(1)", {}, None, "flow not in the space: BernoulliNB"),
        ("mlr.classif.ranger(8)", {}, None, "flow not in the space"),
        (f"{SVC}(1)", {f"{SVC}(1)_gamma": "0.01"}, "kernel_svm", "fixed parameter gamma=0.01"),
    ],
)
def test_map_setup(
    flow: str, params: dict[str, str], learner: str | None, reason: str | None
) -> None:
    mapped = map_setup(flow, params)
    assert mapped.learner == learner
    if reason is None:
        assert mapped.params is not None and mapped.skip_reason is None
    else:
        assert mapped.params is None and str(mapped.skip_reason).startswith(reason)


# -- merging -----------------------------------------------------------------------------------


def test_merge_unions_datasets_and_configs(fake: FakeOpenML, tmp_path: Path) -> None:
    bundled = make_kb(6)
    live = ingest(fake, tmp_path).knowledge_base
    merged = merge_knowledge_bases(bundled, live)
    assert merged.dataset_ids == bundled.dataset_ids + live.dataset_ids
    assert set(merged.config_ids) == set(bundled.config_ids) | set(live.config_ids)
    assert merged.performance.loc[bundled.dataset_ids, live.config_ids].isna().all().all()
    assert merged.performance.loc[101, RF_ID] == live.performance.loc[101, RF_ID]
    assert dict(merged.datasets["source"].value_counts()) == {"test": 6, "openml": 3}
    assert merged.provenance == bundled.provenance + live.provenance
    assert set(merged.metafeatures.columns) >= {"ClassEntropy", "NumberOfFeaturesAfterEncoding"}


def test_merge_fills_metafeature_gaps_without_overwriting() -> None:
    a = make_kb(4)
    b_mf = a.metafeatures.copy()
    b_mf["ClassEntropy"] = 9.0
    b_mf["NumberOfInstances"] = -1.0
    b_mf["NewQuality"] = 3.0
    b = type(a)(
        performance=a.performance,
        metafeatures=b_mf,
        configs=a.configs,
        runtime=a.runtime,
        datasets=a.datasets.assign(source="other"),
        version="b",
        provenance=(),
    )
    merged = merge_knowledge_bases(a, b)
    known = a.metafeatures["ClassEntropy"].notna()
    assert (
        merged.metafeatures.loc[known, "ClassEntropy"] == a.metafeatures.loc[known, "ClassEntropy"]
    ).all()
    assert (merged.metafeatures.loc[~known, "ClassEntropy"] == 9.0).all()
    assert (merged.metafeatures["NumberOfInstances"] == a.metafeatures["NumberOfInstances"]).all()
    assert (merged.metafeatures["NewQuality"] == 3.0).all()
    assert (merged.datasets["source"] == "test").all()
    assert merged.version == "test.1+b"


def test_merge_refuses_different_metrics() -> None:
    a = make_kb(4)
    b = type(a)(
        performance=a.performance,
        metafeatures=a.metafeatures,
        configs=a.configs,
        runtime=a.runtime,
        datasets=a.datasets,
        version="x",
        metric="accuracy",
    )
    with pytest.raises(InvalidInputError, match="different metrics"):
        merge_knowledge_bases(a, b)
    with pytest.raises(InvalidInputError):
        merge_knowledge_bases()
