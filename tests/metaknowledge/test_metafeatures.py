"""The public contract of :mod:`metaknowledge.metafeatures`: API, validation, edge cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import metaknowledge.metafeatures as metafeatures
from metaknowledge.exceptions import InvalidInputError
from metaknowledge.metafeatures import (
    MAX_LANDMARK_ROWS,
    METAFEATURE_NAMES,
    MetafeatureReport,
    extract_metafeatures,
    extract_metafeatures_report,
)

CLASS_BASED = (
    "MajorityClassSize",
    "MinorityClassPercentage",
    "ClassEntropy",
    "MeanMutualInformation",
    "EquivalentNumberOfAtts",
    "DecisionStumpErrRate",
    "NaiveBayesAUC",
    "kNN1NKappa",
)


def mixed_frame(rows: int = 300, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Every supported dtype, missing values, a constant column and an informative target."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, rows)
    numeric = rng.normal(size=rows) + y
    numeric[::10] = np.nan
    levels = np.array(["a", "b", "c", "d"], dtype=object)[(y + rng.integers(0, 2, rows)) % 4]
    levels[::7] = None
    X = pd.DataFrame(
        {
            "float": numeric,
            "int": rng.integers(0, 100, rows),
            "nullable_int": pd.array(np.where(np.arange(rows) % 5 == 0, None, y), dtype="Int64"),
            "constant": np.full(rows, 3.0),
            "category": pd.Categorical(levels, categories=["a", "b", "c", "d", "unused"]),
            "object": pd.Series(levels, dtype=object),
            "string": pd.Series(levels, dtype="string"),
            "bool": rng.random(rows) < 0.5,
            "nullable_bool": pd.array(
                np.where(np.arange(rows) % 4 == 0, None, y == 1), dtype="boolean"
            ),
        }
    )
    return X, pd.Series(np.array(["low", "mid", "high"], dtype=object)[y], name="target")


# --- the public API -----------------------------------------------------------------------------


def test_facade_exports_the_contract() -> None:
    for name in (
        "extract_metafeatures",
        "extract_metafeatures_report",
        "MetafeatureReport",
        "METAFEATURE_NAMES",
    ):
        assert name in metafeatures.__all__
    assert isinstance(METAFEATURE_NAMES, tuple)
    assert len(set(METAFEATURE_NAMES)) == len(METAFEATURE_NAMES)
    assert {"NumberOfInstances", "NumberOfFeaturesAfterEncoding", "kNN1NAUC"} <= set(
        METAFEATURE_NAMES
    )


def test_values_cover_the_default_set_in_order_and_match_the_report() -> None:
    X, y = mixed_frame()
    values = extract_metafeatures(X, y)
    report = extract_metafeatures_report(X, y)
    assert list(values) == list(METAFEATURE_NAMES)
    assert all(isinstance(value, float) for value in values.values())
    assert values.keys() == report.values.keys()
    for name in METAFEATURE_NAMES:
        assert values[name] == report.values[name] or (
            math.isnan(values[name]) and math.isnan(report.values[name])
        )


def test_report_explains_every_nan_and_times_every_feature() -> None:
    X, y = mixed_frame()
    report = extract_metafeatures_report(X, y)
    nan_names = {name for name, value in report.values.items() if math.isnan(value)}
    assert set(report.failures) == nan_names
    assert all(report.failures.values())
    assert report.seconds.keys() == report.values.keys()
    assert all(seconds >= 0 for seconds in report.seconds.values())
    assert report.total_seconds >= max(report.seconds.values())
    assert report.task_type == "classification"
    with pytest.raises(AttributeError):
        report.total_seconds = 0.0  # type: ignore[misc]
    assert isinstance(report, MetafeatureReport)


def test_features_selects_a_subset_and_skips_other_groups(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import metaknowledge.metafeatures._landmarking as landmarking

    def must_not_run(context: object) -> object:
        raise AssertionError("landmarkers ran although not requested")

    monkeypatch.setattr(landmarking, "landmark_sample", must_not_run)
    X, y = mixed_frame()
    values = extract_metafeatures(X, y, features=["ClassEntropy", "NumberOfInstances"])
    assert list(values) == ["NumberOfInstances", "ClassEntropy"]  # METAFEATURE_NAMES order
    assert values["NumberOfInstances"] == 300


# --- counts on a hand-made frame ------------------------------------------------------------------


def test_counts_follow_openml_conventions_on_mixed_dtypes() -> None:
    X, y = mixed_frame()
    values = extract_metafeatures(X, y)
    # 4 numeric (float, int, nullable_int, constant), 5 symbolic, + the nominal target.
    assert values["NumberOfFeatures"] == 10
    assert values["NumberOfNumericFeatures"] == 4
    assert values["NumberOfSymbolicFeatures"] == 6
    # bool and boolean declare 2 values; "category" declares 5; the target has 3 classes.
    assert values["NumberOfBinaryFeatures"] == 2
    assert values["PercentageOfNumericFeatures"] == pytest.approx(40.0)
    assert values["Dimensionality"] == pytest.approx(10 / 300)
    missing = 30 + 60 + 3 * 43 + 75  # float, nullable_int, 3 x levels, nullable_bool
    assert values["NumberOfMissingValues"] == missing
    assert values["PercentageOfMissingValues"] == pytest.approx(100 * missing / (300 * 10))
    # 4 numeric + 4 levels x 3 text columns (the unused category does not count) + 2 + 2
    # + the target (one column, as Oboe's recorded widths count it).
    assert values["NumberOfFeaturesAfterEncoding"] == 4 + 12 + 2 + 2 + 1
    assert values["MaxNominalAttDistinctValues"] == 4
    assert values["MinNominalAttDistinctValues"] == 2
    assert values["NumberOfClasses"] == 3


def test_missing_target_values_count_and_rows_with_missing() -> None:
    X = pd.DataFrame({"a": [1.0, np.nan, 3.0, 4.0], "b": ["x", "y", None, "x"]})
    y = pd.Series(["p", "q", "p", None])
    values = extract_metafeatures(X, y)
    assert values["NumberOfMissingValues"] == 3
    assert values["NumberOfInstancesWithMissingValues"] == 3
    assert values["PercentageOfInstancesWithMissingValues"] == pytest.approx(75.0)
    # Class sizes ignore the missing target; percentages are of all instances (OpenML).
    assert values["MajorityClassSize"] == 2
    assert values["MajorityClassPercentage"] == pytest.approx(50.0)
    assert values["AutoCorrelation"] == pytest.approx(0.0)


def test_missing_nominal_value_counts_as_the_first_category_like_openml() -> None:
    # OpenML's Java code reads a missing nominal value as category 0.
    column = pd.Categorical(["b", None, "a", "b"], categories=["a", "b"])
    X = pd.DataFrame({"c": column})
    y = pd.Series(["u", "v", "u", "v"])
    values = extract_metafeatures(X, y, features=["MeanAttributeEntropy"])
    assert values["MeanAttributeEntropy"] == pytest.approx(1.0)  # a, a, b, b -> 1 bit


def test_autocorrelation_of_classes_and_of_a_numeric_target() -> None:
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0, 5.0]})
    classes = extract_metafeatures(X, pd.Series(list("aabbb")), features=["AutoCorrelation"])
    assert classes["AutoCorrelation"] == pytest.approx(3 / 4)
    numeric = extract_metafeatures(
        X, pd.Series([0.5, 1.5, 1.0, 3.0, 2.5]), features=["AutoCorrelation"]
    )
    assert numeric["AutoCorrelation"] == pytest.approx((4 - (1 + 0.5 + 2 + 0.5)) / 4)


def test_numeric_moments_match_pandas_and_skip_constant_columns() -> None:
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"a": rng.exponential(size=200), "b": rng.normal(size=200), "c": np.ones(200)})
    X.loc[::9, "a"] = np.nan
    values = extract_metafeatures(X, pd.Series(rng.integers(0, 2, 200)))
    skews = X[["a", "b"]].skew()  # the constant column has no skewness
    assert values["MaxSkewnessOfNumericAtts"] == pytest.approx(skews.max(), rel=1e-9)
    assert values["MinSkewnessOfNumericAtts"] == pytest.approx(skews.min(), rel=1e-9)
    assert values["MeanKurtosisOfNumericAtts"] == pytest.approx(X[["a", "b"]].kurt().mean())
    assert values["MinStdDevOfNumericAtts"] == 0.0  # ... but a standard deviation of 0
    assert values["Quartile2MeansOfNumericAtts"] == pytest.approx(X.mean().median())


def test_no_numeric_attribute_gives_reasons_not_errors() -> None:
    X = pd.DataFrame({"s": list("abcabcabca")})
    report = extract_metafeatures_report(X, pd.Series(list("xyxyxyxyxy")))
    assert math.isnan(report.values["MeanSkewnessOfNumericAtts"])
    assert report.failures["MeanSkewnessOfNumericAtts"] == "no numeric attributes"
    assert report.values["NumberOfSymbolicFeatures"] == 2


def test_all_constant_columns_still_extract() -> None:
    X = pd.DataFrame({"n": np.zeros(50), "s": ["k"] * 50})
    report = extract_metafeatures_report(X, pd.Series([0, 1] * 25))
    assert report.values["MaxAttributeEntropy"] == 0.0
    assert report.values["MeanMutualInformation"] == 0.0
    assert report.failures["EquivalentNumberOfAtts"] == (
        "the mean mutual information is not positive"
    )
    assert report.failures["MaxKurtosisOfNumericAtts"].startswith("no numeric attribute has")
    # Each training fold's majority (13 of 25) is the other fold's minority: 26 of 50 wrong.
    assert report.values["DecisionStumpErrRate"] == pytest.approx(0.52)


# --- tasks ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (pd.Series(["a", "b"] * 50), "classification"),
        (pd.Series([True, False] * 50), "classification"),
        (pd.Series(np.arange(100) % 7), "classification"),
        (pd.Series((np.arange(100) % 7).astype(float)), "classification"),
        (pd.Series(np.arange(100) % 21), "regression"),  # more than 20 distinct integers
        (pd.Series(np.linspace(0, 1, 100)), "regression"),
    ],
)
def test_task_type_is_inferred(target: pd.Series, expected: str) -> None:
    X = pd.DataFrame({"a": np.arange(100.0)})
    assert extract_metafeatures_report(X, target).task_type == expected


def test_regression_makes_class_based_features_nan_with_a_reason() -> None:
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(size=80), "s": rng.choice(["p", "q"], 80)})
    y = pd.Series(rng.normal(size=80))
    report = extract_metafeatures_report(X, y, task_type="regression")
    for name in CLASS_BASED:
        assert math.isnan(report.values[name])
        assert report.failures[name] == "not a classification task"
    assert report.values["NumberOfClasses"] == 0
    assert report.values["NumberOfNumericFeatures"] == 2  # the target counts
    assert report.values["NumberOfSymbolicFeatures"] == 1
    assert report.values["MaxMeansOfNumericAtts"] == pytest.approx(max(X["a"].mean(), y.mean()))


def test_explicit_task_type_overrides_inference() -> None:
    X = pd.DataFrame({"a": np.arange(60.0)})
    y = pd.Series(np.arange(60) % 3)
    report = extract_metafeatures_report(X, y, task_type="regression")
    assert report.task_type == "regression"
    assert math.isnan(report.values["ClassEntropy"])


@pytest.mark.parametrize("n_classes", [2, 1000])
def test_two_to_a_thousand_classes(n_classes: int) -> None:
    rows = 3 * n_classes if n_classes > 2 else 200
    rng = np.random.default_rng(n_classes)
    labels = np.arange(rows) % n_classes
    X = pd.DataFrame(
        {
            "x": labels + rng.normal(size=rows),
            "s": pd.Series(labels % 17).astype(str),
        }
    )
    y = pd.Series([f"c{label}" for label in labels])
    report = extract_metafeatures_report(X, y)
    assert report.values["NumberOfClasses"] == n_classes
    assert report.values["ClassEntropy"] == pytest.approx(math.log2(n_classes))
    for name in ("DecisionStumpErrRate", "NaiveBayesKappa", "kNN1NAUC", "MaxMutualInformation"):
        assert 0.0 <= report.values[name] <= max(1.0, math.log2(n_classes)), name
    assert report.total_seconds < 20


def test_high_cardinality_categorical() -> None:
    rng = np.random.default_rng(5)
    rows = 6000
    ids = np.array([f"id{i}" for i in rng.integers(0, 5000, rows)], dtype=object)
    X = pd.DataFrame({"id": ids, "x": rng.normal(size=rows)})
    y = pd.Series(rng.integers(0, 4, rows).astype(str))
    report = extract_metafeatures_report(X, y)
    distinct = len(set(ids))
    assert report.values["MaxNominalAttDistinctValues"] == distinct
    assert report.values["NumberOfFeaturesAfterEncoding"] == distinct + 1 + 1
    # An identifier is (almost) fully informative about the sample it was seen on.
    assert report.values["MaxMutualInformation"] > 1.0
    assert not any(name.startswith(("kNN1N", "NaiveBayes")) for name in report.failures)


# --- determinism and subsampling ------------------------------------------------------------------


def test_same_random_state_same_values_even_when_subsampling() -> None:
    X, y = mixed_frame(rows=MAX_LANDMARK_ROWS + 500, seed=2)
    first = extract_metafeatures(X, y, random_state=7)
    second = extract_metafeatures(X, y, random_state=7)
    assert first.keys() == second.keys()
    for name in first:
        assert first[name] == second[name] or (math.isnan(first[name]) and math.isnan(second[name]))


def test_landmarkers_subsample_large_data_with_the_random_state() -> None:
    from metaknowledge.metafeatures._context import Context
    from metaknowledge.metafeatures._landmarking import landmark_sample
    from metaknowledge.metafeatures._prepare import prepare

    X, y = mixed_frame(rows=MAX_LANDMARK_ROWS + 500, seed=4)
    data = prepare(X, y, None)
    samples = [landmark_sample(Context(data, seed)) for seed in (0, 0, 1)]
    assert all(sample.n_rows == MAX_LANDMARK_ROWS for sample in samples)
    assert np.array_equal(samples[0].numeric, samples[1].numeric, equal_nan=True)
    assert not np.array_equal(samples[0].numeric, samples[2].numeric, equal_nan=True)


# --- failures stay local --------------------------------------------------------------------------


def test_a_failing_feature_group_only_nans_its_own_features(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import metaknowledge.metafeatures._statistical as statistical

    def broken(values: object) -> object:
        raise RuntimeError("moments exploded")

    monkeypatch.setattr(statistical, "column_moments", broken)
    X, y = mixed_frame()
    report = extract_metafeatures_report(X, y)
    assert math.isnan(report.values["MeanSkewnessOfNumericAtts"])
    assert report.failures["MeanSkewnessOfNumericAtts"] == "RuntimeError: moments exploded"
    assert report.values["NumberOfInstances"] == 300
    assert not math.isnan(report.values["kNN1NAUC"])


def test_tiny_datasets_give_reasons_instead_of_errors() -> None:
    report = extract_metafeatures_report(pd.DataFrame({"a": [1.0]}), pd.Series(["x"]))
    assert report.values["NumberOfInstances"] == 1
    assert report.failures["AutoCorrelation"] == "needs at least two instances"
    assert report.failures["kNN1NAUC"] == "needs at least 2 rows with a class"


def test_infinite_values_count_as_missing() -> None:
    X = pd.DataFrame({"a": [1.0, np.inf, -np.inf, 2.0, 3.0]})
    values = extract_metafeatures(X, pd.Series(list("ababa")))
    assert values["NumberOfMissingValues"] == 2
    assert values["MaxMeansOfNumericAtts"] == pytest.approx(2.0)


# --- invalid input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("X", "y", "kwargs", "message"),
    [
        (np.zeros((3, 2)), pd.Series([0, 1, 0]), {}, "X must be a pandas DataFrame"),
        (pd.DataFrame({"a": [1.0, 2.0]}), [0, 1], {}, "y must be a pandas Series"),
        (pd.DataFrame({"a": []}), pd.Series([], dtype=float), {}, "X has no rows"),
        (pd.DataFrame(index=range(3)), pd.Series([0, 1, 0]), {}, "X has no columns"),
        (pd.DataFrame({"a": [1.0, 2.0]}), pd.Series([0, 1, 0]), {}, "y has 3 values"),
        (pd.DataFrame({"a": [1.0, 2.0]}), pd.Series([None, None]), {}, "no non-missing"),
        (
            pd.DataFrame({"t": pd.to_datetime(["2020-01-01", "2021-01-01"])}),
            pd.Series([0, 1]),
            {},
            "unsupported dtype",
        ),
        (pd.DataFrame({"a": [1.0, 2.0]}), pd.Series([0, 1]), {"task_type": "ranking"}, "task_type"),
        (
            pd.DataFrame({"a": [1.0, 2.0]}),
            pd.Series(["p", "q"]),
            {"task_type": "regression"},
            "must be numeric",
        ),
        (pd.DataFrame({"a": [1.0, 2.0]}), pd.Series([0, 1]), {"random_state": 1.5}, "random_state"),
        (
            pd.DataFrame({"a": [1.0, 2.0]}),
            pd.Series([0, 1]),
            {"random_state": True},
            "random_state",
        ),
        (pd.DataFrame({"a": [1.0, 2.0]}), pd.Series([0, 1]), {"features": ["Nope"]}, "Nope"),
        (
            pd.DataFrame({"a": [1.0, 2.0]}),
            pd.Series([0, 1]),
            {"features": "NumberOfInstances"},
            "not a single string",
        ),
    ],
)
def test_unusable_input_raises_invalid_input_error(
    X: object, y: object, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message) as raised:
        extract_metafeatures(X, y, **kwargs)  # type: ignore[arg-type]
    assert isinstance(raised.value, ValueError)


def test_sparse_and_dense_mutual_information_counting_agree(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import metaknowledge.metafeatures._infotheory as infotheory

    rng = np.random.default_rng(9)
    codes = rng.integers(0, 3000, 1000).astype(np.int64)  # 3000 values x 10 classes > 4 n cells
    labels = ((codes % 10 + rng.integers(0, 2, 1000)) % 10).astype(np.int64)
    sparse = infotheory._information_gain(codes, 3000, labels, 10)
    monkeypatch.setattr(infotheory, "_DENSE_JOINT_CELLS", 10**6)
    dense = infotheory._information_gain(codes, 3000, labels, 10)
    assert sparse == pytest.approx(dense, rel=1e-12)
    assert 0 < dense <= math.log2(10)


def test_every_feature_group_documents_itself() -> None:
    from metaknowledge.metafeatures._catalog import GROUPS

    assert sum(len(group.names) for group in GROUPS) == len(METAFEATURE_NAMES)
    for group in GROUPS:
        assert group.description, group.names
    landmarkers = [group for group in GROUPS if group.names[0].endswith("AUC")]
    assert all("subsamples" in group.description for group in landmarkers)


def test_object_columns_of_mixed_types_and_arrow_strings() -> None:
    X = pd.DataFrame(
        {
            "mixed": pd.Series([1, "a", 2.5, None, "a", 1], dtype=object),
            "arrow": pd.Series(["x", "y", None, "x", "y", "x"], dtype="string[pyarrow]"),
        }
    )
    values = extract_metafeatures(X, pd.Series([0, 1, 0, 1, 0, 1]).astype("category"))
    assert values["NumberOfSymbolicFeatures"] == 3
    assert values["NumberOfFeaturesAfterEncoding"] == 3 + 2 + 1
    assert values["NumberOfMissingValues"] == 2


def test_columns_that_are_entirely_missing() -> None:
    rows = 40
    X = pd.DataFrame(
        {
            "numeric": np.full(rows, np.nan),
            "category": pd.Categorical([None] * rows, categories=[]),
            "object": pd.Series([None] * rows, dtype=object),
            "x": np.arange(rows, dtype=float),
        }
    )
    report = extract_metafeatures_report(X, pd.Series(np.arange(rows) % 2))
    assert report.values["NumberOfMissingValues"] == 3 * rows
    assert report.values["MinNominalAttDistinctValues"] == 0
    assert report.values["NumberOfFeaturesAfterEncoding"] == 2 + 1  # numeric columns count 1
    landmarkers = [name for name in METAFEATURE_NAMES if name.endswith("ErrRate")]
    assert all(0 <= report.values[name] <= 1 for name in landmarkers), report.failures


def test_group_outputs_that_are_not_finite_numbers_become_reasons(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import metaknowledge.metafeatures._infotheory as infotheory

    monkeypatch.setattr(infotheory, "class_entropy", lambda context: math.inf)
    report = extract_metafeatures_report(*mixed_frame(), features=["ClassEntropy"])
    assert math.isnan(report.values["ClassEntropy"])
    assert report.failures["ClassEntropy"] == "not finite (inf)"
