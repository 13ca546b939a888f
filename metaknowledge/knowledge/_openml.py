"""Live ingestion of OpenML run histories (the project's only ``import openml``).

What is fetched, with the real ``openml`` client (0.15.x):

1. the task ids of the suites (``openml.study.get_suite``) plus any task ids given;
2. per task, the evaluations of ``metric`` with their setups
   (``openml.evaluations.list_evaluations_setups``), page by page (``page_size`` rows a page, at
   most ``max_runs`` rows per task), optionally only of some flows;
3. the qualities of every dataset that got a mapped run
   (``openml.datasets.get_dataset(..., download_qualities=True)``), used as meta-features.

Each evaluation's setup is mapped onto the search space (:data:`FLOW_MAPPINGS`): the estimator is
the flow itself or, for a pipeline, its last step; its parameters are decoded (sklearn flows store
JSON values) and checked by :func:`~metaknowledge.searchspace.validate_params`. Parameters that have
no counterpart in the space are counted per ``(flow, parameter)``; a run whose values lie outside
the space (or that fixes a parameter the space keeps fixed, e.g. 10 trees instead of 100) is skipped
and counted by reason. Identical points are one configuration; repeated runs of a point on a
dataset are averaged.

Progress is kept per task in ``state_dir`` (one JSON file a task, written atomically once the task
is complete), so an interrupted ingestion resumes with the tasks still missing and never counts a
row twice. The files are keyed by the query (server, metric, flows, page size, run cap): a state
directory written for another query is not reused.

OpenML signals errors with HTTP 412 and an ``oml:error`` code; "no results" codes (542 for
evaluations, 674 for setups, ...) are an empty answer, every other code becomes a
:class:`~metaknowledge.exceptions.SourceError` naming the code and the server's message.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import openml
import pandas as pd
import requests

from metaknowledge.exceptions import InvalidConfigError, InvalidInputError, SourceError
from metaknowledge.knowledge._kb import KnowledgeBase, Provenance
from metaknowledge.searchspace import CLASSIFICATION, validate_params

__all__ = [
    "DEFAULT_METRIC",
    "DEFAULT_SERVER",
    "FLOW_MAPPINGS",
    "KB_METRICS",
    "FlowMapping",
    "IngestionResult",
    "ingest_openml",
    "map_setup",
]

DEFAULT_SERVER = "https://www.openml.org/api/v1/xml"
DEFAULT_METRIC = "unweighted_recall"
"""OpenML's mean per-class recall, i.e. balanced accuracy (the bundled snapshot's metric)."""
DEFAULT_SUITES = (99,)
"""OpenML-CC18."""
STATE_SCHEMA = 1
KB_METRICS: Mapping[str, str] = {
    "unweighted_recall": "balanced_accuracy",
    "predictive_accuracy": "accuracy",
}
"""OpenML measure -> the knowledge base's metric name (others keep OpenML's name)."""
ProgressCallback = Callable[[str, int, int], None]
"""``progress(message, done, total)``: called after each task and each dataset's qualities."""

_SOURCE = "openml"
_VERSION_SUFFIX = re.compile(r"\(\d+\)$")
_FULL_NAME = re.compile(r"^(?P<flow>.*\(\d+\))_(?P<param>[^()]+)$")


# -- mapping flows onto the search space --------------------------------------------------------


@dataclass(frozen=True)
class FlowMapping:
    """How one scikit-learn estimator class becomes a learner of the space.

    ``params``: the estimator's parameters that are parameters of the learner (same names).
    ``fixed``: parameters the space holds fixed, with the values that mean the space's setting; a
    run with another value is outside the space. ``aliases``: ``(param, value) -> value`` for old
    sklearn spellings (``max_features="auto"`` was ``"sqrt"`` for classifiers). ``ignore``: this
    estimator's parameters that do not change its predictions (kNN's search ``algorithm``).
    Every other parameter (unless in :data:`NO_EFFECT` or ``ignore``) is reported as unmapped.
    """

    learner: str
    params: frozenset[str]
    fixed: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    aliases: Mapping[tuple[str, Any], Any] = field(default_factory=dict)
    ignore: frozenset[str] = frozenset()


NO_EFFECT = frozenset(
    {"n_jobs", "verbose", "random_state", "warm_start", "copy_X", "cache_size", "memory"}
)
"""Parameters that do not change what a fitted model predicts: neither mapped nor reported."""

_TREE_FIXED: dict[str, tuple[Any, ...]] = {
    "max_depth": (None,),
    "max_leaf_nodes": (None,),
    "min_weight_fraction_leaf": (0, 0.0),
    "min_impurity_decrease": (0, 0.0),
    "min_impurity_split": (None,),
    "class_weight": (None,),
    "ccp_alpha": (0, 0.0),
    "splitter": ("best",),
    "monotonic_cst": (None,),
}
_FOREST_FIXED: dict[str, tuple[Any, ...]] = {
    **{k: v for k, v in _TREE_FIXED.items() if k != "splitter"},
    "n_estimators": (100,),
    "max_samples": (None,),
    "oob_score": (False,),
}
_MAX_FEATURES_ALIASES: dict[tuple[str, Any], Any] = {
    ("max_features", "auto"): "sqrt",
    ("max_features", 1.0): None,
}
_TREE_PARAMS = frozenset({"criterion", "min_samples_split", "min_samples_leaf"})

FLOW_MAPPINGS: Mapping[str, FlowMapping] = {
    "KNeighborsClassifier": FlowMapping(
        "knn",
        frozenset({"n_neighbors", "p", "weights"}),
        fixed={"metric": ("minkowski",), "metric_params": (None,)},
        ignore=frozenset({"algorithm", "leaf_size"}),
    ),
    "DecisionTreeClassifier": FlowMapping(
        "decision_tree",
        _TREE_PARAMS,
        fixed={**_TREE_FIXED, "max_features": (None,)},
    ),
    "RandomForestClassifier": FlowMapping(
        "random_forest",
        _TREE_PARAMS | {"max_features"},
        fixed={**_FOREST_FIXED, "bootstrap": (True,)},
        aliases=_MAX_FEATURES_ALIASES,
    ),
    "ExtraTreesClassifier": FlowMapping(
        "extra_trees",
        _TREE_PARAMS | {"max_features"},
        fixed={**_FOREST_FIXED, "bootstrap": (False,)},
        aliases=_MAX_FEATURES_ALIASES,
    ),
    "GradientBoostingClassifier": FlowMapping(
        "gradient_boosting",
        frozenset({"learning_rate", "max_depth", "max_features", "subsample"}),
        fixed={
            "n_estimators": (100,),
            "loss": ("log_loss", "deviance"),
            "criterion": ("friedman_mse",),
            "min_samples_split": (2,),
            "min_samples_leaf": (1,),
            "init": (None,),
            "max_leaf_nodes": (None,),
            "n_iter_no_change": (None,),
        },
    ),
    "HistGradientBoostingClassifier": FlowMapping(
        "hist_gradient_boosting",
        frozenset({"learning_rate", "max_leaf_nodes", "min_samples_leaf", "max_features"}),
        fixed={"max_depth": (None,), "l2_regularization": (0, 0.0), "max_iter": (100,)},
    ),
    "AdaBoostClassifier": FlowMapping(
        "adaboost",
        frozenset({"n_estimators", "learning_rate"}),
        fixed={"base_estimator": (None,), "estimator": (None,)},
    ),
    "LinearSVC": FlowMapping(
        "linear_svm",
        frozenset({"C"}),
        fixed={"penalty": ("l2",), "loss": ("squared_hinge",), "class_weight": (None,)},
    ),
    "SVC": FlowMapping(
        "kernel_svm",
        frozenset({"C", "kernel", "coef0", "degree"}),
        fixed={"gamma": ("scale",), "class_weight": (None,)},
    ),
    "LogisticRegression": FlowMapping(
        "logistic_regression",
        frozenset({"C", "solver", "penalty"}),
        fixed={"class_weight": (None,), "fit_intercept": (True,)},
    ),
    "Perceptron": FlowMapping(
        "perceptron",
        frozenset({"penalty", "alpha"}),
        fixed={"class_weight": (None,), "fit_intercept": (True,)},
    ),
    "GaussianNB": FlowMapping(
        "gaussian_nb", frozenset({"var_smoothing"}), fixed={"priors": (None,)}
    ),
    "MLPClassifier": FlowMapping(
        "mlp",
        frozenset({"solver", "learning_rate_init", "learning_rate", "alpha"}),
        fixed={"hidden_layer_sizes": ([100], (100,)), "activation": ("relu",)},
    ),
}
"""sklearn classifier class name -> how it maps onto the search space."""


def _strip_version(name: str) -> str:
    return _VERSION_SUFFIX.sub("", name.strip())


def _class_name(flow_name: str) -> str:
    """``sklearn.ensemble._forest.RandomForestClassifier(1)`` -> ``RandomForestClassifier``."""
    return _strip_version(flow_name).split("(", 1)[0].rsplit(".", 1)[-1]


def _estimator_path(flow_name: str) -> str:
    """The estimator of a flow: itself, or the last step of a pipeline.

    ``sklearn.pipeline.Pipeline(imputer=...SimpleImputer,estimator=...SVC)(1)`` -> ``...SVC``.
    """
    name = _strip_version(flow_name)
    head, sep, inner = name.partition("(")
    if not sep or not inner.endswith(")"):
        return head
    depth, steps, start = 0, [], 0
    inner = inner[:-1]
    for i, ch in enumerate(inner):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            steps.append(inner[start:i])
            start = i + 1
    steps.append(inner[start:])
    last = steps[-1].split("=", 1)[-1]
    return _estimator_path(last) if "(" in last else last


def _decode(value: Any) -> Any:
    """An OpenML parameter value as Python: sklearn flows store JSON (``'"gini"'``, ``null``)."""
    if value is None or not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a is b or (isinstance(a, bool) and isinstance(b, bool) and a == b)
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@dataclass(frozen=True)
class MappedSetup:
    """The outcome of mapping one setup: a point, or the reason it is not one."""

    learner: str | None
    params: dict[str, Any] | None
    skip_reason: str | None
    unmapped: tuple[str, ...] = ()


def map_setup(flow_name: str, parameters: Mapping[str, Any]) -> MappedSetup:
    """Map an OpenML setup (``{full_name: value}``, as ``list_evaluations_setups`` returns it).

    ``full_name`` is ``<component flow full name>_<parameter>``; only the parameters of the
    estimator component are considered (preprocessing steps are our pipeline's business).

    Returns a :class:`MappedSetup`: ``learner``/``params`` (a canonical point) when the setup is a
    point of the space, otherwise ``skip_reason``; ``unmapped`` names the parameters with no
    counterpart in the space (the point is kept).
    """
    estimator = _estimator_path(flow_name)
    mapping = FLOW_MAPPINGS.get(_class_name(estimator))
    if mapping is None or not estimator.startswith("sklearn."):
        return MappedSetup(None, None, f"flow not in the space: {_class_name(estimator)}")
    params: dict[str, Any] = {}
    unmapped: list[str] = []
    for full_name, raw in parameters.items():
        match = _FULL_NAME.match(str(full_name))
        if match is None or _strip_version(match["flow"]) != estimator:
            continue
        name, value = match["param"], _decode(raw)
        value = mapping.aliases.get((name, value), value) if _hashable(value) else value
        if name in mapping.params:
            params[name] = value
        elif name in mapping.fixed:
            if not any(_same(value, ok) for ok in mapping.fixed[name]):
                return MappedSetup(mapping.learner, None, f"fixed parameter {name}={value!r}")
        elif name not in NO_EFFECT and name not in mapping.ignore:
            unmapped.append(name)
    if mapping.learner == "logistic_regression" and params.get("solver") == "lbfgs":
        params.pop("penalty", None)  # lbfgs only knows l2: the space has no penalty for it
    if mapping.learner == "perceptron" and params.get("penalty") is None:
        params.pop("alpha", None)
    if mapping.learner == "kernel_svm" and params.get("kernel") != "poly":
        params.pop("degree", None)
    try:
        point = validate_params(mapping.learner, params, task_type=CLASSIFICATION)
    except InvalidConfigError as e:
        return MappedSetup(mapping.learner, None, f"outside the space: {e}", tuple(unmapped))
    return MappedSetup(mapping.learner, point, None, tuple(unmapped))


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def config_id(learner: str, params: Mapping[str, Any]) -> str:
    """``openml:<learner>:<k=v,...>`` (keys sorted): one id per point of the space."""

    def fmt(v: Any) -> str:
        return repr(v) if isinstance(v, float) else str(v)

    return f"openml:{learner}:" + ",".join(f"{k}={fmt(params[k])}" for k in sorted(params))


# -- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class IngestionResult:
    """What an ingestion produced and what it could not use.

    ``n_runs`` evaluations were read, ``n_mapped`` of them became rows of ``knowledge_base``;
    ``skipped`` counts the others by reason; ``unmapped_params`` counts, per
    ``(flow name, parameter)``, the mapped runs whose setup set a parameter the space does not
    have. ``resumed_tasks`` were taken from the state directory instead of the server.
    """

    knowledge_base: KnowledgeBase
    task_ids: tuple[int, ...]
    n_runs: int
    n_mapped: int
    skipped: Mapping[str, int]
    unmapped_params: Mapping[tuple[str, str], int]
    resumed_tasks: tuple[int, ...] = ()

    @property
    def n_skipped(self) -> int:
        """Runs not in the knowledge base."""
        return sum(self.skipped.values())

    def summary_lines(self, top: int = 10) -> list[str]:
        """A human report: counts, the most common skip reasons and unmapped parameters."""
        kb = self.knowledge_base
        lines = [
            f"tasks {len(self.task_ids)} (resumed {len(self.resumed_tasks)}), runs {self.n_runs}, "
            f"mapped {self.n_mapped}, skipped {self.n_skipped}, "
            f"unmapped params {sum(self.unmapped_params.values())}",
            f"datasets {len(kb.dataset_ids)}, configurations {len(kb.config_ids)}, "
            f"meta-features {kb.metafeatures.shape[1]}",
        ]
        for reason, n in Counter(self.skipped).most_common(top):
            lines.append(f"  skipped {n}: {reason}")
        for (flow, param), n in Counter(self.unmapped_params).most_common(top):
            lines.append(f"  unmapped {n}: {param} of {flow}")
        return lines


# -- the openml client, configured and translated -----------------------------------------------


@contextmanager
def _openml_config(server: str, cache_dir: Path, n_retries: int) -> Iterator[None]:
    """Point the (module-global) openml configuration at ``server``/``cache_dir``; restore after."""
    config = openml.config
    saved = (
        config.server,
        config._root_cache_directory,
        config.retry_policy,
        config.connection_n_retries,
    )
    try:
        config.server = server
        config.set_root_cache_directory(cache_dir)
        config.set_retry_policy("robot", n_retries)
        yield
    finally:
        config.server, root, policy, retries = saved
        config.set_root_cache_directory(root)
        config.set_retry_policy(policy, retries)


def _source_error(e: Exception, what: str) -> SourceError:
    if isinstance(e, openml.exceptions.OpenMLServerException):
        return SourceError(f"OpenML error {e.code} while {what}: {e.message} ({e.url})")
    return SourceError(f"OpenML unavailable while {what}: {type(e).__name__}: {e}")


_CLIENT_ERRORS = (
    openml.exceptions.PyOpenMLError,
    requests.exceptions.RequestException,
    OSError,
    ValueError,
)


def _suite_tasks(suite: int | str) -> list[int]:
    try:
        tasks = openml.study.get_suite(suite).tasks
    except _CLIENT_ERRORS as e:
        raise _source_error(e, f"reading suite {suite}") from e
    return [int(t) for t in tasks or []]


def _evaluations_page(
    metric: str, task_id: int, flows: Sequence[int] | None, offset: int, size: int
) -> pd.DataFrame:
    try:
        frame = openml.evaluations.list_evaluations_setups(
            metric,
            tasks=[task_id],
            flows=list(flows) if flows else None,
            offset=offset,
            size=size,
            output_format="dataframe",
        )
    except openml.exceptions.OpenMLServerNoResult:
        return pd.DataFrame()
    except _CLIENT_ERRORS as e:
        raise _source_error(e, f"listing {metric} evaluations of task {task_id}") from e
    assert isinstance(frame, pd.DataFrame)
    return frame


def _qualities(data_id: int) -> dict[str, float]:
    try:
        dataset = openml.datasets.get_dataset(
            data_id,
            download_data=False,
            download_qualities=True,
            download_features_meta_data=False,
        )
    except openml.exceptions.OpenMLServerException as e:
        if e.code == 362:  # "No qualities found": the client only recognises it half the time
            return {}
        raise _source_error(e, f"reading the qualities of dataset {data_id}") from e
    except _CLIENT_ERRORS as e:
        raise _source_error(e, f"reading the qualities of dataset {data_id}") from e
    return {str(k): float(v) for k, v in (dataset.qualities or {}).items()}


# -- state -------------------------------------------------------------------------------------


def _atomic_write_json(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def _read_state(path: Path, query_key: str) -> dict[str, Any] | None:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if state.get("schema") != STATE_SCHEMA or state.get("query") != query_key:
        return None
    return dict(state)


def _ingest_task(
    task_id: int, metric: str, flows: Sequence[int] | None, max_runs: int, page_size: int
) -> dict[str, Any]:
    """Fetch and map one task's evaluations; the JSON-ready per-task state."""
    rows: list[list[Any]] = []
    names: dict[str, str] = {}
    skipped: Counter[str] = Counter()
    unmapped: Counter[str] = Counter()
    n_runs = 0
    seen_runs: set[int] = set()
    offset = 0
    while offset < max_runs:
        size = min(page_size, max_runs - offset)
        page = _evaluations_page(metric, task_id, flows, offset, size)
        for record in page.to_dict("records"):
            run_id = int(record["run_id"])
            if run_id in seen_runs:  # a page boundary that moved under us
                continue
            seen_runs.add(run_id)
            n_runs += 1
            value = record.get("value")
            if value is None or not math.isfinite(float(value)):
                skipped["no value"] += 1
                continue
            flow_name = str(record["flow_name"])
            params = record.get("parameters")
            if not isinstance(params, Mapping):  # the setup listing did not know this setup
                skipped["setup not found"] += 1
                continue
            mapped = map_setup(flow_name, params)
            if mapped.params is None or mapped.learner is None:
                skipped[str(mapped.skip_reason)] += 1
                continue
            for name in mapped.unmapped:
                unmapped[json.dumps([_strip_version(flow_name), name])] += 1
            data_id = int(record["data_id"])
            names[str(data_id)] = str(record["data_name"])
            rows.append([data_id, mapped.learner, mapped.params, float(value), run_id])
        if len(page) < size:
            break
        offset += size
    return {
        "task_id": task_id,
        "rows": rows,
        "names": names,
        "n_runs": n_runs,
        "skipped": dict(skipped),
        "unmapped": dict(unmapped),
    }


# -- the entry point ---------------------------------------------------------------------------


def ingest_openml(
    *,
    suites: Iterable[int | str] = DEFAULT_SUITES,
    task_ids: Iterable[int] | None = None,
    flows: Iterable[int] | None = None,
    metric: str = DEFAULT_METRIC,
    max_runs: int = 10_000,
    page_size: int = 10_000,
    cache_dir: str | os.PathLike[str],
    state_dir: str | os.PathLike[str] | None = None,
    server: str | None = None,
    n_retries: int = 3,
    progress: ProgressCallback | None = None,
) -> IngestionResult:
    """Ingest OpenML run histories into a knowledge base (``datasets.source == "openml"``).

    Args:
        suites: benchmark suites whose tasks are read (default OpenML-CC18, study 99).
        task_ids: further tasks (read after the suites' tasks; duplicates are read once).
        flows: only evaluations of these flow ids (default: every flow; runs of flows outside
            :data:`FLOW_MAPPINGS` are skipped and counted).
        metric: the OpenML evaluation measure (higher must be better).
        max_runs: at most this many evaluations per task (in the server's order).
        page_size: evaluations per request (the server refuses more than 10000).
        cache_dir: openml's cache (dataset descriptions and qualities).
        state_dir: per-task progress for resuming (default ``cache_dir/ingest-state``).
        server: the API root (default OpenML's, ``.../api/v1/xml``).
        n_retries: openml's connection retries (robot policy: back-off of about 2 s and up).
        progress: called as ``progress(message, done, total)``.

    Raises:
        InvalidInputError: no task to read, or a non-positive ``max_runs``/``page_size``/
            ``n_retries``.
        SourceError: the server is unreachable or answered with an OpenML error other than "no
            results" (the code and message are in the text). Tasks finished before the failure stay
            in ``state_dir``; calling again with the same arguments resumes.
    """
    if max_runs < 1 or page_size < 1 or n_retries < 1:
        raise InvalidInputError("max_runs, page_size and n_retries must be positive")
    server_url = (server or DEFAULT_SERVER).rstrip("/")
    cache = Path(cache_dir)
    state = Path(state_dir) if state_dir is not None else cache / "ingest-state"
    flow_ids = sorted({int(f) for f in flows}) if flows is not None else None
    started = datetime.now(UTC)
    query_key = hashlib.sha256(
        json.dumps([server_url, metric, flow_ids, max_runs, page_size]).encode()
    ).hexdigest()[:16]

    with _openml_config(server_url, cache, n_retries):
        tasks: list[int] = []
        for suite in suites:
            tasks += _suite_tasks(suite)
        tasks += [int(t) for t in task_ids or ()]
        tasks = list(dict.fromkeys(tasks))
        if not tasks:
            raise InvalidInputError("no OpenML task to ingest: give suites or task ids")

        per_task: list[dict[str, Any]] = []
        resumed: list[int] = []
        for done, task_id in enumerate(tasks, start=1):
            path = state / f"task-{task_id}.json"
            task_state = _read_state(path, query_key)
            if task_state is None:
                task_state = _ingest_task(task_id, metric, flow_ids, max_runs, page_size)
                task_state.update(schema=STATE_SCHEMA, query=query_key)
                _atomic_write_json(path, task_state)
            else:
                resumed.append(task_id)
            per_task.append(task_state)
            if progress is not None:
                progress(f"task {task_id}", done, len(tasks))

        data_ids = sorted({int(r[0]) for t in per_task for r in t["rows"]})
        qualities: dict[int, dict[str, float]] = {}
        for done, data_id in enumerate(data_ids, start=1):
            qualities[data_id] = _qualities(data_id)
            if progress is not None:
                progress(f"qualities of dataset {data_id}", done, len(data_ids))

    return _assemble(
        per_task, qualities, tasks, resumed, metric, server_url, started, flow_ids, max_runs
    )


def _assemble(
    per_task: list[dict[str, Any]],
    qualities: Mapping[int, Mapping[str, float]],
    tasks: list[int],
    resumed: list[int],
    metric: str,
    server_url: str,
    started: datetime,
    flow_ids: list[int] | None,
    max_runs: int,
) -> IngestionResult:
    configs: dict[str, dict[str, Any]] = {}
    scores: dict[tuple[int, str], list[float]] = {}
    names: dict[int, str] = {}
    skipped: Counter[str] = Counter()
    unmapped: Counter[tuple[str, str]] = Counter()
    n_runs = n_mapped = 0
    seen_runs: set[int] = set()
    for task in per_task:
        n_runs += int(task["n_runs"])
        skipped.update(task["skipped"])
        for key, n in task["unmapped"].items():
            flow, param = json.loads(key)
            unmapped[(str(flow), str(param))] += int(n)
        names.update({int(k): str(v) for k, v in task["names"].items()})
        for data_id, learner, params, value, run_id in task["rows"]:
            if int(run_id) in seen_runs:  # a task listed twice under different ids
                continue
            seen_runs.add(int(run_id))
            n_mapped += 1
            cid = config_id(learner, params)
            configs.setdefault(cid, {"learner": learner, "params": dict(params)})
            scores.setdefault((int(data_id), cid), []).append(float(value))

    dataset_ids = sorted({d for d, _ in scores})
    config_ids = sorted(configs)
    index = pd.Index(dataset_ids, name="dataset_id", dtype="int64")
    columns = pd.Index(config_ids, name="config_id", dtype=object)
    performance = pd.DataFrame(np.nan, index=index, columns=columns)
    for (data_id, cid), values in scores.items():
        performance.loc[data_id, cid] = float(np.mean(values))
    quality_names = sorted({q for d in dataset_ids for q in qualities.get(d, {})})
    metafeatures = pd.DataFrame(
        [[qualities.get(d, {}).get(q, np.nan) for q in quality_names] for d in dataset_ids],
        index=index,
        columns=pd.Index(quality_names, dtype=object),
        dtype=float,
    )
    digest = hashlib.sha256(
        json.dumps(
            sorted([d, c, v] for (d, c), vs in scores.items() for v in vs), default=str
        ).encode()
    ).hexdigest()
    stamp = started.strftime("%Y-%m-%dT%H:%M:%SZ")
    provenance = Provenance(
        source=_SOURCE,
        package="openml",
        version=str(openml.__version__),
        file=server_url,
        sha256=digest,
        licence="CC-BY-4.0 (OpenML data)",
        description=(
            f"{metric} of {n_mapped} runs on {len(tasks)} tasks "
            f"(flows {flow_ids if flow_ids else 'all'}, at most {max_runs} runs a task), "
            f"fetched {stamp} from {server_url} with openml-python {openml.__version__}"
        ),
    )
    kb = KnowledgeBase(
        performance=performance,
        metafeatures=metafeatures,
        configs=configs,
        runtime=pd.DataFrame(np.nan, index=index, columns=columns),
        datasets=pd.DataFrame(
            {"name": [names.get(d, "") for d in dataset_ids], "source": _SOURCE}, index=index
        ),
        version=f"openml-{started.strftime('%Y%m%dT%H%M%SZ')}",
        metric=KB_METRICS.get(metric, metric),
        task_type=CLASSIFICATION,
        provenance=(provenance,),
    )
    return IngestionResult(
        knowledge_base=kb,
        task_ids=tuple(tasks),
        n_runs=n_runs,
        n_mapped=n_mapped,
        skipped=dict(skipped),
        unmapped_params=dict(unmapped),
        resumed_tasks=tuple(resumed),
    )
