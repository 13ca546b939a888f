"""Our meta-features against the data qualities OpenML recorded for the same datasets.

scikit-learn's wheel ships recorded OpenML responses for its own tests
(``sklearn/datasets/tests/data/openml/id_<did>/``): the data (ARFF), the feature list (which
column is the target, which are ignored) and the dataset's qualities. They are read from the
installed package at test time, never copied. Several data files there are cut to a few rows (and
the recorded ``NumberOfInstances`` patched to match), so a dataset is used only when its data is
complete: the row count matches and every feature's recorded missing-value count matches the file.
"""

from __future__ import annotations

import gzip
import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import arff
import numpy as np
import pandas as pd
import pytest
import sklearn

from metaknowledge.metafeatures import METAFEATURE_NAMES, extract_metafeatures_report

OPENML_RESPONSES = Path(sklearn.__file__).parent / "datasets" / "tests" / "data" / "openml"

# The recorded datasets whose data file is complete and which have qualities and one target.
EXPECTED_COMPLETE = {3, 61, 62, 561, 40675, 40945, 42585}

# Titanic keeps five free-text (ARFF ``string``) columns. OpenML counts them in NumberOfFeatures but
# as neither numeric nor symbolic, and leaves them out of the nominal-attribute qualities; we have
# no text kind (an ``object`` column is symbolic), so those qualities are compared with the text
# columns dropped, and the others with the text columns kept.
SYMBOLIC_QUALITIES = frozenset(
    name
    for name in METAFEATURE_NAMES
    if "Nominal" in name
    or "AttributeEntropy" in name
    or "MutualInformation" in name
    or name
    in {
        "NumberOfSymbolicFeatures",
        "PercentageOfSymbolicFeatures",
        "EquivalentNumberOfAtts",
        "MeanNoiseToSignalRatio",
    }
)
COLUMN_COUNT_QUALITIES = frozenset(
    name
    for name in METAFEATURE_NAMES
    if name.startswith("PercentageOf")
    or name
    in {
        "NumberOfFeatures",
        "Dimensionality",
        "NumberOfMissingValues",
        "NumberOfInstancesWithMissingValues",
    }
)


@dataclass(frozen=True)
class RecordedDataset:
    did: int
    X: pd.DataFrame
    y: pd.Series
    qualities: dict[str, float | None]
    text_columns: tuple[str, ...]


def _read_json(folder: Path, prefix: str) -> dict:
    (path,) = folder.glob(f"{prefix}.json.gz")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return json.load(handle)


def _qualities(folder: Path) -> dict[str, float | None] | None:
    paths = list(folder.glob("api-v1-jdq-*.json.gz"))
    if not paths:
        return None
    with gzip.open(paths[0], "rt", encoding="utf-8") as handle:
        payload = json.load(handle)
    if "data_qualities" not in payload:
        return None
    return {
        quality["name"]: float(quality["value"]) if isinstance(quality["value"], str) else None
        for quality in payload["data_qualities"]["quality"]
    }


def _frame(folder: Path) -> tuple[pd.DataFrame, tuple[str, ...]]:
    (path,) = folder.glob("data-v1-dl-*.arff.gz")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        parsed = arff.load(handle)
    columns: dict[str, object] = {}
    text: list[str] = []
    raw = pd.DataFrame(parsed["data"], columns=[name for name, _ in parsed["attributes"]])
    for name, kind in parsed["attributes"]:
        if isinstance(kind, list):
            # liac-arff reads a declared value "?" (penguins' sex) as None: it is missing data.
            declared = [value for value in kind if value is not None]
            columns[name] = pd.Categorical(raw[name], categories=declared)
        elif kind.upper() in {"NUMERIC", "REAL", "INTEGER"}:
            columns[name] = pd.to_numeric(raw[name]).astype(np.float64)
        else:
            columns[name] = raw[name].astype(object)
            text.append(name)
    return pd.DataFrame(columns), tuple(text)


@cache
def load_recorded(did: int) -> RecordedDataset | str:
    """The dataset with OpenML's qualities, or the reason it cannot be compared."""
    folder = OPENML_RESPONSES / f"id_{did}"
    qualities = _qualities(folder)
    if qualities is None:
        return "OpenML recorded no qualities (processing error or none stored)"
    description = _read_json(folder, f"api-v1-jd-{did}")["data_set_description"]
    features = _read_json(folder, f"api-v1-jdf-{did}")["data_features"]["feature"]
    targets = [f["name"] for f in features if f["is_target"] == "true"]
    if len(targets) != 1:
        return f"not a single-target dataset ({len(targets)} targets)"
    try:
        frame, text = _frame(folder)
    except (ValueError, KeyError, arff.ArffException) as error:
        return f"data file not readable as dense ARFF: {error}"
    if qualities.get("NumberOfInstances") != len(frame):
        return f"data file has {len(frame)} rows, OpenML {qualities.get('NumberOfInstances')}"
    for feature in features:
        recorded = int(feature["number_of_missing_values"])
        if feature["name"] in frame and int(frame[feature["name"]].isna().sum()) != recorded:
            return (
                f"data file is truncated: feature {feature['name']!r} has "
                f"{int(frame[feature['name']].isna().sum())} missing values, OpenML {recorded}"
            )
    majority = qualities.get("MajorityClassSize")
    if majority is not None and majority > len(frame):
        return f"data file is truncated: majority class of {majority:.0f} > {len(frame)} rows"
    dropped = [
        f["name"] for f in features if f["is_ignore"] == "true" or f["is_row_identifier"] == "true"
    ]
    if description.get("row_id_attribute"):
        dropped.append(description["row_id_attribute"])
    frame = frame.drop(columns=[name for name in set(dropped) if name in frame])
    y = frame.pop(targets[0])
    return RecordedDataset(did, frame, y, qualities, tuple(c for c in text if c in frame))


def _recorded_ids() -> list[int]:
    return sorted(int(path.name.removeprefix("id_")) for path in OPENML_RESPONSES.glob("id_*"))


def _compare(
    values: dict[str, float], qualities: dict[str, float | None], names: set[str]
) -> list[str]:
    """Mismatch messages for ``names`` (OpenML null must be our NaN)."""
    problems = []
    for name in sorted(names):
        ours, theirs = values[name], qualities[name]
        if theirs is None:
            if not math.isnan(ours):
                problems.append(f"{name}: ours {ours!r}, OpenML null")
        elif math.isnan(ours) or not math.isclose(ours, theirs, rel_tol=1e-6, abs_tol=1e-9):
            problems.append(f"{name}: ours {ours!r}, OpenML {theirs!r}")
    return problems


def test_the_complete_recorded_datasets_are_the_expected_ones() -> None:
    complete = {did for did in _recorded_ids() if isinstance(load_recorded(did), RecordedDataset)}
    assert complete == EXPECTED_COMPLETE


def test_truncated_data_files_are_detected() -> None:
    # anneal (id 2) ships 11 of its 898 rows, with NumberOfInstances patched to 11.
    reason = load_recorded(2)
    assert isinstance(reason, str)
    assert "truncated" in reason


@pytest.mark.parametrize("did", sorted(EXPECTED_COMPLETE))
def test_every_openml_quality_we_compute_agrees(did: int) -> None:
    dataset = load_recorded(did)
    assert isinstance(dataset, RecordedDataset), dataset
    shared = set(METAFEATURE_NAMES) & dataset.qualities.keys()
    report = extract_metafeatures_report(dataset.X, dataset.y)
    compared = shared - SYMBOLIC_QUALITIES if dataset.text_columns else shared
    problems = _compare(report.values, dataset.qualities, compared)
    if dataset.text_columns:
        without_text = extract_metafeatures_report(
            dataset.X.drop(columns=list(dataset.text_columns)), dataset.y
        )
        symbolic = (shared & SYMBOLIC_QUALITIES) - COLUMN_COUNT_QUALITIES
        problems += _compare(without_text.values, dataset.qualities, symbolic)
        compared |= symbolic
    assert not problems, "\n".join(problems)
    # Guard against a vacuous pass: every recorded set has at least OpenML's 19 simple qualities.
    assert len(compared) >= 19


def test_landmarkers_match_openml_on_iris_and_kr_vs_kp() -> None:
    landmarkers = {name for name in METAFEATURE_NAMES if name.endswith(("AUC", "ErrRate", "Kappa"))}
    assert len(landmarkers) == 9
    for did in (61, 3):
        dataset = load_recorded(did)
        assert isinstance(dataset, RecordedDataset)
        values = extract_metafeatures_report(dataset.X, dataset.y, features=landmarkers).values
        assert not _compare(values, dataset.qualities, landmarkers)


def test_regression_dataset_matches_openml_including_its_nulls() -> None:
    dataset = load_recorded(561)  # cpu: numeric target, one nominal predictor
    assert isinstance(dataset, RecordedDataset)
    report = extract_metafeatures_report(dataset.X, dataset.y)
    assert report.task_type == "regression"
    assert report.values["NumberOfClasses"] == 0
    assert report.values["NumberOfNumericFeatures"] == 7  # the target counts
    assert math.isnan(report.values["ClassEntropy"])
    assert report.failures["ClassEntropy"] == "not a classification task"
    assert report.values["AutoCorrelation"] == pytest.approx(-54.56730769230769)


def test_encoded_width_matches_the_oboe_widths_in_the_knowledge_base() -> None:
    """Oboe recorded 74 columns for kr-vs-kp (73 one-hot predictor columns + label), 5 for iris."""
    knowledge = pytest.importorskip("metaknowledge.knowledge")
    stored = knowledge.load_knowledge_base().metafeatures["NumberOfFeaturesAfterEncoding"]
    checked = 0
    for did in sorted(EXPECTED_COMPLETE & set(stored.dropna().index)):
        dataset = load_recorded(did)
        assert isinstance(dataset, RecordedDataset)
        values = extract_metafeatures_report(
            dataset.X, dataset.y, features=["NumberOfFeaturesAfterEncoding"]
        ).values
        assert values["NumberOfFeaturesAfterEncoding"] == stored[did], did
        checked += 1
    assert checked >= 2  # kr-vs-kp and iris
