"""auto-sklearn's regression meta-knowledge as a regression :class:`KnowledgeBase`.

auto-sklearn 0.15.0 ships, per metric, an ASlib scenario of OpenML regression datasets
(``autosklearn/metalearning/files/r2_regression_dense/``): ``algorithm_runs.arff`` holds one run
per dataset, the best pipeline its search found there, scored as the loss ``1 - R2``;
``configurations.csv`` that pipeline as flattened ConfigSpace names; ``feature_values.arff`` the
meta-features auto-sklearn computed on each dataset's training split (2/3 of the rows).

The conversion (pure functions of the member bytes; fetching lives in ``_build``):

- scores: ``R2 = 1 - loss`` (higher is better, as every knowledge base stores them);
- configurations: the regressor becomes one of our learners, its hyperparameters points of our
  space (:func:`translate_configuration`); what cannot be carried over is counted in a
  :class:`MappingReport`, never dropped silently: runs of learners we do not have or of a
  categorical choice outside our space are skipped; numeric values outside our ranges are clipped
  to the range; hyperparameters without a counterpart are dropped; preprocessing choices our
  pipeline does not reproduce are counted per choice. The score stays auto-sklearn's: it says how
  well that learner, so configured, did on the dataset inside auto-sklearn's pipeline;
- meta-features: auto-sklearn names are mapped to OpenML quality names where the definitions
  agree, with the conversions that make them agree (:func:`convert_feature_values`; the table is in
  ``docs/knowledge.md``);
- dataset ids: the scenario names datasets, not OpenML ids, so each gets a stable negative id
  (:func:`~metaknowledge.knowledge.local_dataset_id`), which no OpenML id can collide with.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from metaknowledge.exceptions import InvalidInputError, SourceError
from metaknowledge.knowledge._kb import local_dataset_id
from metaknowledge.searchspace import LEARNERS, REGRESSION, Float, Int, validate_params

__all__ = [
    "AUTOSKLEARN_LEARNERS",
    "MappingReport",
    "Translation",
    "convert_autosklearn",
    "convert_feature_values",
    "parse_arff",
    "translate_configuration",
]

SOURCE = "autosklearn"

#: auto-sklearn's regressor names -> ours. ``gradient_boosting`` is sklearn's
#: HistGradientBoostingRegressor in auto-sklearn 0.15.
AUTOSKLEARN_LEARNERS: Mapping[str, str] = {
    "adaboost": "adaboost",
    "decision_tree": "decision_tree",
    "extra_trees": "extra_trees",
    "gradient_boosting": "hist_gradient_boosting",
    "k_nearest_neighbors": "knn",
    "liblinear_svr": "linear_svm",
    "libsvm_svr": "kernel_svm",
    "mlp": "mlp",
    "random_forest": "random_forest",
}

TRAIN_FRACTION_TEST = 0.33
"""auto-sklearn computed meta-features on ``n - floor(0.33 n)`` rows (OpenML's 33 % holdout)."""

_CRITERIA = {"mse": "squared_error", "friedman_mse": "squared_error", "mae": "absolute_error"}
_PREFIX = "data_preprocessor:feature_type:"


def parse_arff(data: bytes) -> pd.DataFrame:
    """A (dense) ARFF file as a frame of strings, one column per ``@ATTRIBUTE``.

    Raises:
        SourceError: no ``@DATA`` section, or a row whose width differs from the header's.
    """
    names: list[str] = []
    rows: list[list[str]] = []
    in_data = False
    for line in data.decode("utf-8").splitlines():
        text = line.strip()
        if not text or text.startswith("%"):
            continue
        if not in_data:
            head = text.split(None, 2)
            if head[0].upper() == "@ATTRIBUTE" and len(head) >= 2:
                names.append(head[1].strip("'\""))
            elif head[0].upper() == "@DATA":
                in_data = True
            continue
        row = next(csv.reader([text], quotechar="'", skipinitialspace=True))
        if len(row) != len(names):
            raise SourceError(f"ARFF row has {len(row)} values, header {len(names)}: {text[:60]}")
        rows.append(row)
    if not in_data:
        raise SourceError("ARFF file has no @DATA section")
    return pd.DataFrame(rows, columns=names, dtype=object)


# -- configurations ------------------------------------------------------------------------------


@dataclass
class Translation:
    """One auto-sklearn configuration on our space: a point, or why it is not one.

    ``dropped``/``clipped``/``translated``/``preprocessing`` name what the point does not carry
    over exactly (``"<regressor>:<hyperparameter>"`` or ``"<step>=<choice>"``).
    """

    learner: str | None = None
    params: dict[str, Any] | None = None
    skip_reason: str | None = None
    dropped: list[str] = field(default_factory=list)
    clipped: list[str] = field(default_factory=list)
    translated: list[str] = field(default_factory=list)
    preprocessing: list[str] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        """True when the point is auto-sklearn's configuration up to renaming."""
        return self.params is not None and not (
            self.dropped or self.clipped or self.translated or self.preprocessing
        )


def _value(raw: Any) -> Any:
    """A ConfigSpace CSV cell as Python: ``None``/``True``/``False``, a number, or the string."""
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return None
    text = str(raw).strip()
    if text in ("", "None"):
        return None
    if text in ("True", "False"):
        return text == "True"
    try:
        number = float(text)
    except ValueError:
        return text
    return number


class _Translator:
    """Builds one :class:`Translation`; one method per auto-sklearn regressor."""

    def __init__(self, row: Mapping[str, Any], n_features: float | None) -> None:
        self.row = row
        self.n_features = n_features
        self.regressor = str(_value(row.get("regressor:__choice__")))
        self.out = Translation()

    def get(self, name: str) -> Any:
        return _value(self.row.get(f"regressor:{self.regressor}:{name}"))

    def numeric(self, params: dict[str, Any], name: str, ours: str, learner: str) -> None:
        """Copy a numeric hyperparameter, clipped into our range (and counted if clipped)."""
        value = self.get(name)
        if value is None:
            return
        dim = next(p for p in LEARNERS[learner].params_for(REGRESSION) if p.name == ours)
        if not isinstance(dim, Float | Int):  # pragma: no cover - a wrong translation table
            raise TypeError(f"{learner}.{ours} is not a numeric range")
        low, high = float(dim.low), float(dim.high)
        if not low <= value <= high:
            self.out.clipped.append(f"{self.regressor}:{name}")
            value = min(max(value, low), high)
        params[ours] = value

    def fixed(self, name: str, ours: Any) -> None:
        """A hyperparameter our space holds at ``ours``: dropped (and counted) if it differs."""
        value = self.get(name)
        if value is None:
            return
        if isinstance(value, float) and isinstance(ours, float):
            same = math.isclose(value, ours, rel_tol=1e-9)
        else:
            same = value == ours
        if not same:
            self.out.dropped.append(f"{self.regressor}:{name}")

    def criterion(self, params: dict[str, Any]) -> None:
        value = self.get("criterion")
        if value not in _CRITERIA:
            self.out.skip_reason = f"{self.regressor}:criterion={value}"
            return
        if value == "friedman_mse":
            self.out.translated.append(f"{self.regressor}:criterion")
        params["criterion"] = _CRITERIA[value]

    def max_features(self, params: dict[str, Any]) -> None:
        """auto-sklearn's fraction of features -> the choice with the nearest number of features
        on the dataset the configuration ran on (log scale)."""
        fraction = self.get("max_features")
        if fraction is None or fraction >= 1.0:
            params["max_features"] = None
            return
        p = self.n_features
        if p is None or not p >= 1:
            self.out.skip_reason = f"{self.regressor}:max_features (dataset width unknown)"
            return
        wanted = max(1.0, math.floor(fraction * p))
        counts = {
            "sqrt": max(1.0, math.floor(math.sqrt(p))),
            "log2": max(1.0, math.floor(math.log2(p))),
            None: p,
        }
        params["max_features"] = min(
            counts, key=lambda k: abs(math.log(counts[k]) - math.log(wanted))
        )
        self.out.translated.append(f"{self.regressor}:max_features")

    def split_sizes(self, params: dict[str, Any], learner: str) -> None:
        for name in ("min_samples_split", "min_samples_leaf"):
            value = self.get(name)
            if value is not None:
                params[name] = int(value)
        for name, ours in (
            ("max_depth", None),
            ("max_leaf_nodes", None),
            ("min_weight_fraction_leaf", 0.0),
            ("min_impurity_decrease", 0.0),
        ):
            self.fixed(name, ours)

    # -- one method per regressor ---------------------------------------------------------------
    def forest(self, learner: str, bootstrap: bool) -> dict[str, Any]:
        params: dict[str, Any] = {}
        self.criterion(params)
        self.split_sizes(params, learner)
        self.max_features(params)
        self.fixed("bootstrap", bootstrap)
        return params

    def random_forest(self) -> dict[str, Any]:
        return self.forest("random_forest", bootstrap=True)

    def extra_trees(self) -> dict[str, Any]:
        return self.forest("extra_trees", bootstrap=False)

    def decision_tree(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        self.criterion(params)
        self.split_sizes(params, "decision_tree")
        if self.get("max_depth_factor") is not None:
            self.out.dropped.append(f"{self.regressor}:max_depth_factor")
        self.fixed("max_features", 1.0)
        return params

    def gradient_boosting(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for name in ("learning_rate", "max_leaf_nodes", "min_samples_leaf"):
            self.numeric(params, name, name, "hist_gradient_boosting")
        for name in ("max_leaf_nodes", "min_samples_leaf"):
            if name in params:
                params[name] = round(params[name])
        self.fixed("l2_regularization", 0.0)
        # auto-sklearn: off / on a validation split / on the training loss; ours: sklearn's
        # "auto" (on above 10,000 rows), which none of the three is.
        if self.get("early_stop") is not None:
            self.out.dropped.append(f"{self.regressor}:early_stop")
        self.fixed("max_depth", None)
        self.fixed("max_bins", 255.0)
        self.fixed("loss", "least_squares")
        return params

    def k_nearest_neighbors(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for name in ("n_neighbors", "p"):
            value = self.get(name)
            if value is not None:
                params[name] = int(value)
        if self.get("weights") is not None:
            params["weights"] = self.get("weights")
        return params

    def libsvm_svr(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        kernel = self.get("kernel")
        if kernel not in ("rbf", "poly"):
            self.out.skip_reason = f"{self.regressor}:kernel={kernel}"
            return params
        params["kernel"] = kernel
        self.numeric(params, "C", "C", "kernel_svm")
        if kernel == "poly":
            self.numeric(params, "coef0", "coef0", "kernel_svm")
            degree = self.get("degree")
            if degree is not None:
                params["degree"] = int(degree)
        # gamma is fixed at sklearn's "scale" in our space; epsilon at SVR's 0.1 (both on the
        # standardised target, as auto-sklearn's SVR also standardises y).
        if self.get("gamma") is not None:
            self.out.dropped.append(f"{self.regressor}:gamma")
        self.fixed("epsilon", 0.1)
        return params

    def liblinear_svr(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        self.numeric(params, "C", "C", "linear_svm")
        self.fixed("loss", "epsilon_insensitive")
        self.fixed("epsilon", 0.0)
        self.fixed("fit_intercept", True)
        self.fixed("intercept_scaling", 1.0)
        return params

    def adaboost(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        self.numeric(params, "learning_rate", "learning_rate", "adaboost")
        n = self.get("n_estimators")
        if n is not None:
            params["n_estimators"] = int(n)
        self.fixed("loss", "linear")
        # Our AdaBoostRegressor boosts sklearn's default base tree, of depth 3.
        self.fixed("max_depth", 3.0)
        return params

    def mlp(self) -> dict[str, Any]:
        params: dict[str, Any] = {"solver": "adam"}
        if self.get("solver") not in (None, "adam"):
            self.out.skip_reason = f"{self.regressor}:solver={self.get('solver')}"
        self.numeric(params, "learning_rate_init", "learning_rate_init", "mlp")
        self.numeric(params, "alpha", "alpha", "mlp")
        # Ours: one hidden layer of 100 relu units, no early stopping (sklearn's defaults).
        if self.get("hidden_layer_depth") not in (None, 1.0) or self.get(
            "num_nodes_per_layer"
        ) not in (None, 100.0):
            self.out.dropped.append(f"{self.regressor}:hidden_layers")
        self.fixed("activation", "relu")
        if self.get("early_stopping") == "valid":
            self.out.dropped.append(f"{self.regressor}:early_stopping")
        return params


def _preprocessing(
    row: Mapping[str, Any], learner: str, has_categorical: bool, has_missing: bool
) -> list[str]:
    """auto-sklearn's preprocessing choices that our pipeline does not reproduce for ``learner``.

    Ours: median imputation; ordinal codes for trees, one-hot otherwise; standardisation for the
    learners that need it, nothing for trees (which every per-feature monotone rescaling leaves
    unchanged); no feature preprocessing. Encoding choices only count on datasets with categorical
    features, imputation only on datasets with missing values.
    """
    needs = LEARNERS[learner].preprocessing
    out: list[str] = []
    feature = _value(row.get("feature_preprocessor:__choice__"))
    if feature not in (None, "no_preprocessing"):
        out.append(f"feature_preprocessor={feature}")
    rescaling = _value(row.get(f"{_PREFIX}numerical_transformer:rescaling:__choice__"))
    monotone = ("none", "minmax", "standardize", "robust_scaler", "quantile_transformer")
    if (needs.scale and rescaling != "standardize") or (
        not needs.scale and rescaling not in monotone
    ):
        out.append(f"rescaling={rescaling}")
    if has_categorical:
        encoding = _value(
            row.get(f"{_PREFIX}categorical_transformer:categorical_encoding:__choice__")
        )
        if encoding != ("one_hot_encoding" if needs.one_hot else "no_encoding"):
            out.append(f"categorical_encoding={encoding}")
        coalescence = _value(
            row.get(f"{_PREFIX}categorical_transformer:category_coalescence:__choice__")
        )
        if coalescence not in (None, "no_coalescense"):
            out.append(f"category_coalescence={coalescence}")
    if has_missing:
        strategy = _value(row.get(f"{_PREFIX}numerical_transformer:imputation:strategy"))
        if strategy not in (None, "median"):
            out.append(f"imputation={strategy}")
    return out


def translate_configuration(
    row: Mapping[str, Any],
    *,
    n_features: float | None = None,
    has_categorical: bool = False,
    has_missing: bool = False,
) -> Translation:
    """Map one row of ``configurations.csv`` onto a regression point of our space.

    ``n_features`` is the width of the dataset the configuration ran on (translates the forests'
    ``max_features`` fraction); ``has_categorical``/``has_missing`` say which preprocessing choices
    matter there. Never raises for a configuration outside the space: ``skip_reason`` says why.
    """
    translator = _Translator(row, n_features)
    out = translator.out
    regressor = translator.regressor
    learner = AUTOSKLEARN_LEARNERS.get(regressor)
    if learner is None:
        out.skip_reason = f"learner {regressor}"
        return out
    method: Callable[[], dict[str, Any]] = getattr(translator, regressor)
    params = method()
    if out.skip_reason is not None:
        return out
    try:
        out.params = validate_params(learner, params, task_type=REGRESSION)
    except InvalidInputError as e:
        out.skip_reason = f"outside the space: {e}"
        return out
    out.learner = learner
    out.preprocessing = _preprocessing(row, learner, has_categorical, has_missing)
    return out


# -- meta-features -------------------------------------------------------------------------------


def full_size(train_rows: float) -> float:
    """The table's row count ``n`` from the training split's ``n - floor(0.33 n)``.

    Two sizes can share a split size (``n`` and ``n - 1`` when ``0.33 n`` is a whole number, as
    for every multiple of 100); the larger is returned, which is exact for the round sizes
    benchmark datasets favour (``fri_c0_1000_10``: 670 -> 1000) and at most one row off otherwise.
    """
    guess = int(train_rows / (1.0 - TRAIN_FRACTION_TEST))
    for n in range(guess + 3, max(0, guess - 4), -1):
        if n - math.floor(TRAIN_FRACTION_TEST * n) == train_rows:
            return float(n)
    raise SourceError(f"autosklearn: {train_rows} rows is no 67 % training split")


#: auto-sklearn features with an OpenML counterpart (the conversions are in ``_convert_row``).
MAPPED_FEATURES: tuple[str, ...] = (
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
)


def _convert_row(f: Mapping[str, float]) -> dict[str, float]:
    n_train = f["NumberOfInstances"]
    n = full_size(n_train)
    p = f["NumberOfFeatures"]
    numeric = f["NumberOfNumericFeatures"]
    symbolic = f["NumberOfCategoricalFeatures"]
    width = p + 1  # OpenML counts the (numeric) target as a feature
    missing_rate = f["PercentageOfMissingValues"]  # a fraction of the predictor cells
    rows_rate = f["PercentageOfInstancesWithMissingValues"]  # a fraction of the rows
    out = {
        "NumberOfInstances": n,
        "NumberOfFeatures": width,
        "NumberOfNumericFeatures": numeric + 1,
        "NumberOfSymbolicFeatures": symbolic,
        "PercentageOfNumericFeatures": 100.0 * (numeric + 1) / width,
        "PercentageOfSymbolicFeatures": 100.0 * symbolic / width,
        "Dimensionality": width / n,
        "PercentageOfMissingValues": 100.0 * missing_rate * p / width,
        "PercentageOfInstancesWithMissingValues": 100.0 * rows_rate,
        "NumberOfMissingValues": float(round(missing_rate * p * n)),
        "NumberOfInstancesWithMissingValues": float(round(rows_rate * n)),
        "NumberOfFeaturesAfterEncoding": numeric + f["SymbolsSum"] + 1,
        "NumberOfClasses": 0.0,
    }
    if symbolic > 0:
        k = symbolic
        out["MaxNominalAttDistinctValues"] = f["SymbolsMax"]
        out["MinNominalAttDistinctValues"] = f["SymbolsMin"]
        out["MeanNominalAttDistinctValues"] = f["SymbolsMean"]
        # auto-sklearn's standard deviation divides by k, OpenML's by k - 1.
        out["StdvNominalAttDistinctValues"] = (
            f["SymbolsSTD"] * math.sqrt(k / (k - 1)) if k > 1 else 0.0
        )
    return out


def convert_feature_values(features_arff: bytes) -> tuple[pd.DataFrame, list[str]]:
    """auto-sklearn's ``feature_values.arff`` -> (OpenML qualities indexed by name, the
    auto-sklearn features left out because no OpenML quality of ours means the same).

    Raises:
        SourceError: a mapped feature is missing from the file, or a value is not a number.
    """
    table = parse_arff(features_arff)
    if "instance_id" not in table:
        raise SourceError("autosklearn: feature_values.arff has no instance_id")
    missing = [name for name in MAPPED_FEATURES if name not in table]
    if missing:
        raise SourceError(f"autosklearn: feature_values.arff lacks {missing}")
    names = table.pop("instance_id").astype(str)
    values = table.apply(pd.to_numeric, errors="coerce").astype(np.float64)
    if values[list(MAPPED_FEATURES)].isna().any().any():
        raise SourceError("autosklearn: feature_values.arff has non-numeric mapped values")
    rows = [_convert_row(values.iloc[i].to_dict()) for i in range(len(values))]
    frame = pd.DataFrame(rows, index=pd.Index(list(names), name="name")).astype(np.float64)
    left_out = sorted(c for c in values.columns if c not in MAPPED_FEATURES and c != "repetition")
    return frame, left_out


# -- the whole scenario --------------------------------------------------------------------------


@dataclass
class MappingReport:
    """What the conversion kept, and everything it could not carry over, counted."""

    n_runs: int = 0
    n_mapped_runs: int = 0
    n_exact_runs: int = 0
    n_points: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    clipped: Counter[str] = field(default_factory=Counter)
    translated: Counter[str] = field(default_factory=Counter)
    preprocessing: Counter[str] = field(default_factory=Counter)
    metafeatures_mapped: tuple[str, ...] = ()
    metafeatures_left_out: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        return {
            "n_runs": self.n_runs,
            "n_mapped_runs": self.n_mapped_runs,
            "n_exact_runs": self.n_exact_runs,
            "n_points": self.n_points,
            "skipped": dict(self.skipped.most_common()),
            "dropped": dict(self.dropped.most_common()),
            "clipped": dict(self.clipped.most_common()),
            "translated": dict(self.translated.most_common()),
            "preprocessing": dict(self.preprocessing.most_common()),
            "metafeatures_mapped": list(self.metafeatures_mapped),
            "metafeatures_left_out": list(self.metafeatures_left_out),
        }

    def lines(self) -> list[str]:
        """A human report, one count per line."""
        out = [
            f"auto-sklearn runs {self.n_runs}: mapped {self.n_mapped_runs} "
            f"({self.n_exact_runs} exactly) onto {self.n_points} points, "
            f"skipped {sum(self.skipped.values())}"
        ]
        for title, counter in (
            ("skipped", self.skipped),
            ("hyperparameter dropped", self.dropped),
            ("value clipped to our range", self.clipped),
            ("value translated", self.translated),
            ("preprocessing not reproduced", self.preprocessing),
        ):
            out += [f"  {title} {n}: {what}" for what, n in counter.most_common()]
        out.append(
            f"  meta-features: {len(self.metafeatures_mapped)} OpenML qualities; left out "
            f"{len(self.metafeatures_left_out)}: {', '.join(self.metafeatures_left_out)}"
        )
        return out


@dataclass(frozen=True)
class AutosklearnConversion:
    """The converted blocks of a regression knowledge base, and the mapping report."""

    performance: pd.DataFrame
    metafeatures: pd.DataFrame
    configs: dict[str, dict[str, Any]]
    datasets: pd.DataFrame
    report: MappingReport


def _check_description(description: bytes) -> None:
    fields: dict[str, str] = {}
    for line in description.decode("utf-8").splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    if fields.get("performance_measures") != "r2" or fields.get("maximize") != "false":
        raise SourceError(
            "autosklearn: expected an r2 scenario storing losses (maximize: false), got "
            f"{fields.get('performance_measures')!r} / maximize {fields.get('maximize')!r}"
        )


def convert_autosklearn(
    runs_arff: bytes,
    configurations_csv: bytes,
    features_arff: bytes,
    description: bytes,
    *,
    config_id: Callable[[str, str, Mapping[str, Any]], str],
) -> AutosklearnConversion:
    """The scenario's members -> the blocks of a regression knowledge base (see the module doc).

    ``config_id(source, learner, point)`` names a point (``_build.config_id_for``). Rows are the
    datasets with at least one mapped run; meta-features cover exactly those datasets.

    Raises:
        SourceError: the scenario is not an R2 loss scenario, a file is malformed, a run names an
            unknown configuration, or two datasets' names hash to the same id.
    """
    _check_description(description)
    runs = parse_arff(runs_arff)
    for column in ("instance_id", "algorithm", "r2", "runstatus"):
        if column not in runs:
            raise SourceError(f"autosklearn: algorithm_runs.arff has no {column} column")
    try:
        configurations = pd.read_csv(io.BytesIO(configurations_csv), dtype=str)
        configurations = configurations.set_index(configurations["idx"].astype(int))
    except (ValueError, KeyError) as e:
        raise SourceError(f"autosklearn: unreadable configurations.csv: {e}") from e
    qualities, left_out = convert_feature_values(features_arff)

    report = MappingReport(
        metafeatures_mapped=tuple(qualities.columns), metafeatures_left_out=tuple(left_out)
    )
    scores: dict[tuple[str, str], float] = {}
    configs: dict[str, dict[str, Any]] = {}
    for _, run in runs.iterrows():
        report.n_runs += 1
        name = str(run["instance_id"])
        if run["runstatus"] != "ok":
            report.skipped[f"run status {run['runstatus']}"] += 1
            continue
        try:
            row = configurations.loc[int(run["algorithm"])].to_dict()
            loss = float(run["r2"])
        except (KeyError, ValueError) as e:
            raise SourceError(f"autosklearn: run on {name} names no configuration: {e}") from e
        known = name in qualities.index
        translation = translate_configuration(
            row,
            n_features=float(qualities.at[name, "NumberOfFeatures"]) - 1 if known else None,
            has_categorical=known and qualities.at[name, "NumberOfSymbolicFeatures"] > 0,
            has_missing=known and qualities.at[name, "NumberOfMissingValues"] > 0,
        )
        if translation.params is None or translation.learner is None:
            report.skipped[str(translation.skip_reason)] += 1
            continue
        report.n_mapped_runs += 1
        report.n_exact_runs += int(translation.exact)
        report.dropped.update(translation.dropped)
        report.clipped.update(translation.clipped)
        report.translated.update(translation.translated)
        report.preprocessing.update(translation.preprocessing)
        cid = config_id(SOURCE, translation.learner, translation.params)
        configs[cid] = {"learner": translation.learner, "params": translation.params}
        scores[(name, cid)] = 1.0 - loss
    report.n_points = len(configs)

    names = sorted({name for name, _ in scores})
    ids = {name: local_dataset_id(SOURCE, name) for name in names}
    if len(set(ids.values())) != len(ids):
        raise SourceError("autosklearn: two dataset names hash to the same dataset id")
    order = sorted(names, key=lambda n: ids[n])
    index = pd.Index([ids[n] for n in order], name="dataset_id", dtype="int64")
    columns = pd.Index(sorted(configs), name="config_id", dtype=object)
    performance = pd.DataFrame(np.nan, index=index, columns=columns)
    for (name, cid), score in scores.items():
        performance.at[ids[name], cid] = score
    metafeatures = qualities.reindex(order)
    metafeatures.index = index
    datasets = pd.DataFrame({"name": order, "source": SOURCE}, index=index)
    return AutosklearnConversion(
        performance=performance,
        metafeatures=metafeatures.dropna(axis=1, how="all"),
        configs={cid: configs[cid] for cid in columns},
        datasets=datasets,
        report=report,
    )
