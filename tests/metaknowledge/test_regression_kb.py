"""The regression knowledge base: auto-sklearn's scenario converted, bundled, loaded and used."""

from __future__ import annotations

import hashlib
import io
import math
import tarfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metaknowledge import (
    METAFEATURE_NAMES,
    InvalidInputError,
    MetaModel,
    SourceError,
    extract_metafeatures,
    load_knowledge_base,
    validate_params,
)
from metaknowledge.evaluation import (
    check_higher_is_better,
    evaluable_dataset_ids,
    evaluate_proposer,
)
from metaknowledge.knowledge import (
    KnowledgeBase,
    default_snapshot_dir,
    local_dataset_id,
    merge_knowledge_bases,
)
from metaknowledge.knowledge._autosklearn import (
    convert_autosklearn,
    full_size,
    parse_arff,
    translate_configuration,
)
from metaknowledge.knowledge._build import build_regression_knowledge_base, config_id_for
from metaknowledge.knowledge._sources import AUTOSKLEARN, REGRESSION_SOURCES, SourceArtifact

DESCRIPTION = b"performance_measures: r2\nperformance_type: solution_quality\nmaximize: false\n"

RUNS = b"""@RELATION auto-sklearn_ALGORITHM_RUNS

@ATTRIBUTE instance_id STRING
@ATTRIBUTE repetition NUMERIC
@ATTRIBUTE algorithm STRING
@ATTRIBUTE r2 NUMERIC
@ATTRIBUTE runstatus {ok, timeout, memout, not_applicable, crash, other}

@DATA
small,1.0,1,0.25,ok
wide,1.0,2,0.5,ok
gp,1.0,3,0.1,ok
linear,1.0,5,0.2,ok
broken,1.0,5,0.9,crash
"""

_CONFIG_COLUMNS = [
    "idx",
    "regressor:__choice__",
    "feature_preprocessor:__choice__",
    "data_preprocessor:feature_type:numerical_transformer:rescaling:__choice__",
    "regressor:random_forest:criterion",
    "regressor:random_forest:max_features",
    "regressor:random_forest:min_samples_split",
    "regressor:random_forest:min_samples_leaf",
    "regressor:random_forest:bootstrap",
    "regressor:libsvm_svr:C",
    "regressor:libsvm_svr:kernel",
    "regressor:libsvm_svr:gamma",
    "regressor:libsvm_svr:epsilon",
]
_CONFIG_ROWS = [
    [1, "random_forest", "no_preprocessing", "none", "mse", "1.0", "2", "1", "True"] + [""] * 4,
    [2, "random_forest", "polynomial", "minmax", "friedman_mse", "0.2", "5", "3", "False"]
    + [""] * 4,
    [3, "gaussian_process", "no_preprocessing", "none"] + [""] * 9,
    [4, "libsvm_svr", "no_preprocessing", "minmax"] + [""] * 5 + ["500.0", "rbf", "0.1", "0.1"],
    [5, "libsvm_svr", "no_preprocessing", "standardize"] + [""] * 5 + ["1.0", "linear", "", "0.1"],
]


def _configurations() -> bytes:
    frame = pd.DataFrame(_CONFIG_ROWS, columns=_CONFIG_COLUMNS)
    return frame.to_csv(index=False).encode()


_FEATURES = [
    "NumberOfInstances",
    "NumberOfFeatures",
    "NumberOfNumericFeatures",
    "NumberOfCategoricalFeatures",
    "NumberOfMissingValues",
    "NumberOfInstancesWithMissingValues",
    "PercentageOfMissingValues",
    "PercentageOfInstancesWithMissingValues",
    "SymbolsMin",
    "SymbolsMax",
    "SymbolsMean",
    "SymbolsSTD",
    "SymbolsSum",
    "SkewnessMean",
]


def _features() -> bytes:
    head = "@RELATION auto-sklearn_FEATURE_VALUES\n\n@ATTRIBUTE instance_id STRING\n"
    head += "@ATTRIBUTE repetition NUMERIC\n"
    head += "".join(f"@ATTRIBUTE {name} NUMERIC\n" for name in _FEATURES)
    rows = [
        # 1000 rows -> 670 in the training split; 4 numeric + 2 categorical (3 and 5 levels).
        "small,1.0,670,6,4,2,67,67,0.0166667,0.1,3,5,4,1,8,0.5",
        # 10 000 rows -> 6700; 100 numeric predictors.
        "wide,1.0,6700,100,100,0,0,0,0,0,0,0,0,0,0,1.5",
        "gp,1.0,670,6,6,0,0,0,0,0,0,0,0,0,0,0.1",
        "linear,1.0,670,6,6,0,0,0,0,0,0,0,0,0,0,0.1",
    ]
    return (head + "\n@DATA\n" + "\n".join(rows) + "\n").encode()


def _convert() -> object:
    return convert_autosklearn(
        RUNS, _configurations(), _features(), DESCRIPTION, config_id=config_id_for
    )


def test_scores_become_r2_and_configurations_become_regression_points() -> None:
    conversion = _convert()
    perf = conversion.performance  # type: ignore[attr-defined]
    small, wide = local_dataset_id("autosklearn", "small"), local_dataset_id("autosklearn", "wide")
    assert set(perf.index) == {small, wide} and all(i < 0 for i in perf.index)
    assert np.nanmax(perf.loc[small].to_numpy()) == pytest.approx(0.75)
    assert np.nanmax(perf.loc[wide].to_numpy()) == pytest.approx(0.5)
    for config in conversion.configs.values():  # type: ignore[attr-defined]
        point = config["params"]
        assert validate_params(config["learner"], point, task_type="regression") == point
    forests = [c for c in conversion.configs.values() if c["learner"] == "random_forest"]  # type: ignore[attr-defined]
    by_split = {c["params"]["min_samples_split"]: c["params"] for c in forests}
    assert by_split[2]["max_features"] is None and by_split[2]["criterion"] == "squared_error"
    # 0.2 of 100 features = 20: nearer to sqrt(100) = 10 than to all 100 (log scale).
    assert by_split[5]["max_features"] == "sqrt"


def test_what_cannot_be_mapped_is_counted_not_dropped_silently() -> None:
    report = _convert().report  # type: ignore[attr-defined]
    assert report.n_runs == 5 and report.n_mapped_runs == 2
    assert report.skipped == {
        "learner gaussian_process": 1,
        "libsvm_svr:kernel=linear": 1,
        "run status crash": 1,
    }
    assert report.preprocessing["feature_preprocessor=polynomial"] == 1
    assert report.dropped["random_forest:bootstrap"] == 1
    assert report.translated["random_forest:max_features"] == 1
    assert "SkewnessMean" in report.metafeatures_left_out
    assert any("skipped 1: learner gaussian_process" in line for line in report.lines())


def test_an_svr_outside_our_range_is_clipped_and_counted() -> None:
    row = dict(zip(_CONFIG_COLUMNS, _CONFIG_ROWS[3], strict=True))
    translation = translate_configuration(row, n_features=6)
    assert translation.params == {"C": 100.0, "kernel": "rbf", "coef0": 0.0}
    assert translation.clipped == ["libsvm_svr:C"]
    assert translation.dropped == ["libsvm_svr:gamma"]
    assert translation.preprocessing == ["rescaling=minmax"]
    assert not translation.exact


def test_metafeatures_are_converted_to_openml_definitions() -> None:
    mf = _convert().metafeatures  # type: ignore[attr-defined]
    row = mf.loc[local_dataset_id("autosklearn", "small")]
    assert row["NumberOfInstances"] == 1000
    assert row["NumberOfFeatures"] == 7  # the target counts, as in OpenML
    assert row["NumberOfNumericFeatures"] == 5 and row["NumberOfSymbolicFeatures"] == 2
    assert row["Dimensionality"] == pytest.approx(7 / 1000)
    assert row["PercentageOfMissingValues"] == pytest.approx(100 * 0.0166667 * 6 / 7)
    assert row["NumberOfFeaturesAfterEncoding"] == 4 + 8 + 1
    assert row["StdvNominalAttDistinctValues"] == pytest.approx(math.sqrt(2))
    assert math.isnan(
        mf.loc[local_dataset_id("autosklearn", "wide"), "MaxNominalAttDistinctValues"]
    )
    assert set(mf.columns) <= set(METAFEATURE_NAMES)


def test_converted_metafeatures_agree_with_the_extractor_on_the_same_table() -> None:
    rng = np.random.default_rng(0)
    n = 400  # 0.33 n is whole, so the split size names two sizes: the larger is right
    X = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    X["colour"] = rng.choice(["red", "green", "blue"], n)
    X["size"] = rng.choice(["s", "m", "l", "xl"], n)
    X.loc[rng.choice(n, 9, replace=False), "a"] = np.nan
    y = pd.Series(rng.normal(size=n))
    ours = extract_metafeatures(X, y, task_type="regression")
    # What auto-sklearn records: the same counts on its 67 % training split.
    train = X.iloc[: n - math.floor(0.33 * n)]
    symbols = [train[c].nunique() for c in ("colour", "size")]
    values = [
        len(train),
        5,
        3,
        2,
        int(train.isna().sum().sum()),
        int(train.isna().any(axis=1).sum()),
        train.isna().sum().sum() / train.size,
        train.isna().any(axis=1).mean(),
        min(symbols),
        max(symbols),
        np.mean(symbols),
        np.std(symbols),
        sum(symbols),
        0.0,
    ]
    head = "@RELATION x\n@ATTRIBUTE instance_id STRING\n@ATTRIBUTE repetition NUMERIC\n"
    head += "".join(f"@ATTRIBUTE {name} NUMERIC\n" for name in _FEATURES)
    arff = head + "@DATA\nt,1," + ",".join(str(v) for v in values) + "\n"
    from metaknowledge.knowledge._autosklearn import convert_feature_values

    converted, _ = convert_feature_values(arff.encode())
    exact = [
        "NumberOfInstances",
        "NumberOfFeatures",
        "NumberOfNumericFeatures",
        "NumberOfSymbolicFeatures",
        "PercentageOfNumericFeatures",
        "PercentageOfSymbolicFeatures",
        "Dimensionality",
        "NumberOfFeaturesAfterEncoding",
        "NumberOfClasses",
        "MaxNominalAttDistinctValues",
        "MinNominalAttDistinctValues",
        "MeanNominalAttDistinctValues",
        "StdvNominalAttDistinctValues",
    ]
    for name in exact:
        assert converted.loc["t", name] == pytest.approx(ours[name]), name
    # Missing values are rates measured on the split: estimates of the whole table's.
    assert converted.loc["t", "PercentageOfMissingValues"] == pytest.approx(
        ours["PercentageOfMissingValues"], rel=0.5
    )


def test_split_sizes_invert_to_the_table_size() -> None:
    for n in range(3, 20_000, 7):
        train = n - math.floor(0.33 * n)
        back = full_size(train)
        assert back - math.floor(0.33 * back) == train and abs(back - n) <= 1
    with pytest.raises(SourceError):
        full_size(0.5)


def test_a_scenario_of_losses_is_required() -> None:
    with pytest.raises(SourceError, match="maximize"):
        convert_autosklearn(
            RUNS,
            _configurations(),
            _features(),
            DESCRIPTION.replace(b"false", b"true"),
            config_id=config_id_for,
        )
    with pytest.raises(SourceError, match="ARFF"):
        parse_arff(b"@RELATION x\n@ATTRIBUTE a NUMERIC\n")


def test_build_fetches_verifies_and_converts_an_sdist(tmp_path: Path) -> None:
    members = {
        "algorithm_runs": RUNS,
        "configurations": _configurations(),
        "feature_values": _features(),
        "description": DESCRIPTION,
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        for name, payload in members.items():
            info = tarfile.TarInfo(f"pkg-1.0/{name}")
            info.size = len(payload)
            tf.addfile(info, io.BytesIO(payload))
    blob = buffer.getvalue()
    artifact = SourceArtifact(
        source="autosklearn",
        package="pkg",
        version="1.0",
        filename="pkg-1.0.tar.gz",
        sha256=hashlib.sha256(blob).hexdigest(),
        licence="BSD-3-Clause",
        members={k: (f"pkg-1.0/{k}", hashlib.sha256(v).hexdigest()) for k, v in members.items()},
    )

    def download(a: SourceArtifact, directory: Path) -> None:
        (directory / a.filename).write_bytes(blob)

    kb, report = build_regression_knowledge_base(tmp_path, download=download, artifact=artifact)
    assert (kb.task_type, kb.metric, report.n_mapped_runs) == ("regression", "r2", 2)
    assert kb.runtime.empty and {p.sha256 for p in kb.provenance} <= {
        digest for _, digest in artifact.members.values()
    }


# -- the bundled regression snapshot ---------------------------------------------------------


@pytest.fixture(scope="module")
def regression_kb() -> KnowledgeBase:
    return load_knowledge_base(task_type="regression")


def test_bundled_regression_snapshot_honours_the_contract(regression_kb: KnowledgeBase) -> None:
    kb = regression_kb
    assert (kb.task_type, kb.metric) == ("regression", "r2")
    assert kb.version != load_knowledge_base().version
    perf = kb.performance.to_numpy()
    assert (np.isfinite(perf).sum(axis=1) >= 1).all() and np.nanmax(perf) <= 1.0
    assert list(kb.metafeatures.index) == kb.dataset_ids
    assert set(kb.metafeatures.columns) <= set(METAFEATURE_NAMES)
    for config in kb.configs.values():
        point = dict(config["params"])
        assert validate_params(config["learner"], point, task_type="regression") == point
    pinned = {digest for _, digest in AUTOSKLEARN.members.values()}
    assert kb.provenance and all(p.sha256 in pinned for p in kb.provenance)
    assert REGRESSION_SOURCES == (AUTOSKLEARN,)
    directory = default_snapshot_dir("regression")
    assert sum(p.stat().st_size for p in directory.iterdir()) < 2_000_000


def test_regression_snapshot_loads_fast() -> None:
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        load_knowledge_base(task_type="regression")
        timings.append(time.perf_counter() - started)
    assert float(np.median(timings)) < 0.3


def test_the_default_load_is_still_the_classification_snapshot() -> None:
    kb = load_knowledge_base()
    assert kb.task_type == "classification" and len(kb.dataset_ids) == 418
    assert load_knowledge_base(task_type="classification").version == kb.version
    with pytest.raises(InvalidInputError, match="holds regression"):
        load_knowledge_base(default_snapshot_dir("regression"), task_type="classification")
    with pytest.raises(InvalidInputError, match="unknown task type"):
        load_knowledge_base(task_type="ranking")


def test_notice_carries_the_auto_sklearn_licence_and_provenance() -> None:
    notice = (Path(__file__).parents[2] / "metaknowledge" / "NOTICE").read_text()
    assert "AutoML Freiburg" in notice and AUTOSKLEARN.sha256 in notice
    for member, digest in AUTOSKLEARN.members.values():
        if not member.endswith("LICENSE.txt"):
            assert f"{member} sha256 {digest}" in notice


# -- the meta-model on one-run-per-dataset knowledge -----------------------------------------


def _query(kb: KnowledgeBase, dataset_id: int) -> dict[str, float]:
    row = kb.metafeatures.loc[dataset_id]
    return {str(k): float(v) for k, v in row.items() if np.isfinite(v)}


def test_metamodel_fits_and_recommends_on_the_regression_kb(regression_kb: KnowledgeBase) -> None:
    kb = regression_kb
    held = kb.dataset_ids[0]
    model = MetaModel(random_state=0).fit(kb.without([held]))
    recs = model.recommend(_query(kb, held), 5)
    assert len(recs) == 5 and len({r.config_id for r in recs}) == 5
    for r in recs:
        assert validate_params(r.learner, r.params, task_type="regression") == r.params
        assert r.predicted_score is not None and r.predicted_score <= 1.0
        assert r.evidence and all(
            e.score == kb.performance.loc[e.dataset_id, r.config_id] for e in r.evidence
        )
    again = MetaModel(random_state=0).fit(kb.without([held])).recommend(_query(kb, held), 5)
    assert [r.config_id for r in again] == [r.config_id for r in recs]
    # A learner the KB has no runs of comes at its regression defaults.
    (ridge,) = model.recommend(_query(kb, held), 1, learners=["ridge"])
    assert (ridge.config_id, ridge.params) == (None, {"alpha": 1.0})
    observed = [(recs[0].config_id, 0.2), ({"learner": "knn", "params": {"n_neighbors": 7}}, 0.9)]
    adapted = model.recommend(_query(kb, held), 3, observed=observed)
    assert recs[0].config_id not in {r.config_id for r in adapted}


def test_one_run_rows_point_at_the_nearest_datasets_best() -> None:
    """With only incumbents, the first proposal is the best configuration of the closest dataset."""
    configs = {
        f"c{i}": {"learner": "knn", "params": validate_params("knn", {"n_neighbors": i + 1})}
        for i in range(4)
    }
    ids = [1, 2, 3, 4]
    perf = pd.DataFrame(np.nan, index=pd.Index(ids, name="dataset_id"), columns=list(configs))
    for i, dataset in enumerate(ids):
        perf.loc[dataset, f"c{i}"] = 0.5 + 0.1 * i
    sizes = pd.DataFrame(
        {"NumberOfInstances": [100.0, 1000.0, 10_000.0, 100_000.0]}, index=perf.index
    )
    kb = KnowledgeBase(
        performance=perf,
        metafeatures=sizes,
        configs=configs,
        runtime=pd.DataFrame(index=perf.index),
        datasets=pd.DataFrame({"name": ["a", "b", "c", "d"], "source": "t"}, index=perf.index),
        version="t",
        metric="r2",
        task_type="regression",
    )
    model = MetaModel().fit(kb)
    for dataset, size in zip(ids, sizes["NumberOfInstances"], strict=True):
        first = model.recommend({"NumberOfInstances": size * 1.1}, 2)[0]
        assert first.config_id == f"c{ids.index(dataset)}"
        assert first.evidence[0].dataset_id == dataset


def test_evaluation_holds_out_only_rows_with_two_scores(regression_kb: KnowledgeBase) -> None:
    assert evaluable_dataset_ids(regression_kb) == []
    result = evaluate_proposer(regression_kb, MetaModel, name="m", length=5)
    assert result.curves.shape == (0, 5)
    from .kbfactory import make_kb

    dense = make_kb(6)
    assert evaluable_dataset_ids(dense) == dense.dataset_ids
    check_higher_is_better(regression_kb)
    with pytest.raises(InvalidInputError, match="loss"):
        check_higher_is_better(
            KnowledgeBase(
                performance=dense.performance,
                metafeatures=dense.metafeatures,
                configs=dense.configs,
                runtime=dense.runtime,
                datasets=dense.datasets,
                version="x",
                metric="rmse",
            )
        )


def test_sparse_and_dense_regression_knowledge_merge_and_fit(
    regression_kb: KnowledgeBase,
) -> None:
    """Dense rows that also ran some incumbents' configurations: one model over both."""
    rng = np.random.default_rng(1)
    columns = regression_kb.config_ids[:8]
    ids = [-1, -2, -3]
    perf = pd.DataFrame(
        rng.uniform(0.3, 0.9, (3, 8)), index=pd.Index(ids, name="dataset_id"), columns=columns
    )
    dense = KnowledgeBase(
        performance=perf,
        metafeatures=pd.DataFrame(
            {"NumberOfInstances": [500.0, 5000.0, 50_000.0]}, index=perf.index
        ),
        configs={c: regression_kb.configs[c] for c in columns},
        runtime=pd.DataFrame(index=perf.index),
        datasets=pd.DataFrame({"name": ["x", "y", "z"], "source": "collect"}, index=perf.index),
        version="c",
        metric="r2",
        task_type="regression",
    )
    merged = merge_knowledge_bases(regression_kb, dense)
    assert evaluable_dataset_ids(merged) == ids
    result = evaluate_proposer(merged, MetaModel, name="m", length=5)
    assert result.curves.shape == (3, 5) and np.isfinite(result.curves).all()
    model = MetaModel().fit(merged)
    # On a dense row the model never predicts an unseen configuration above the row's best.
    filled = model.filled_[list(model.dataset_ids_).index(-1)]
    assert filled.max() <= perf.loc[-1].max() + 1e-12
