"""Private meta-knowledge from a folder of your own tables (``warmstart kb collect``).

Every table of a folder (CSV or TSV, optionally gzipped, with a ``target`` column) is evaluated
with the same candidate configurations: each learner's sklearn defaults plus ``budget`` points
sampled from its search space (seeded, so every table sees the same columns and the matrix is
dense), each cross-validated with the pipeline of :func:`~metaknowledge.searchspace.build_pipeline`.
The scores (balanced accuracy for classification, R2 for regression: the metrics of the bundled
knowledge bases, so the result merges with them), fit times and each table's meta-features
(:func:`~metaknowledge.extract_metafeatures`, on the whole table) become a
:class:`KnowledgeBase` whose provenance names every table's file and sha256.

Resumable: the state of each table is written after every configuration under ``state_dir``; a run
with the same plan (task type, folds, seed, candidates, row cap) skips what is already measured.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metaknowledge.exceptions import InvalidInputError, MetaknowledgeError
from metaknowledge.knowledge._kb import KnowledgeBase, Provenance, local_dataset_id

__all__ = [
    "COLLECT_METRICS",
    "TARGET_COLUMN",
    "CollectResult",
    "candidate_configs",
    "collect_knowledge_base",
    "find_tables",
]

SOURCE = "collect"
TARGET_COLUMN = "target"
TABLE_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz")
COLLECT_METRICS: Mapping[str, str] = {"classification": "balanced_accuracy", "regression": "r2"}
STATE_SCHEMA = 1

Progress = Callable[[str, int, int], None]


class _RandomSuggester:
    """Uniform (log-uniform where the dimension is log-scaled) draws from a numpy generator."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        return choices[int(self.rng.integers(len(choices)))]

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False) -> float:
        if log:
            return float(
                min(high, max(low, math.exp(self.rng.uniform(math.log(low), math.log(high)))))
            )
        return float(self.rng.uniform(low, high))

    def suggest_int(self, name: str, low: int, high: int, *, log: bool = False) -> int:
        if log:
            value = math.exp(self.rng.uniform(math.log(low), math.log(high + 1)))
            return int(min(high, max(low, math.floor(value))))
        return int(self.rng.integers(low, high + 1))


def candidate_configs(
    task_type: str,
    budget: int,
    seed: int,
    learners: Sequence[str] | None = None,
    extra: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """``config_id -> {"learner", "params"}``: each learner's defaults, then ``budget`` samples,
    then the ``extra`` configurations under their own ids (e.g. a knowledge base's, so that the
    collected runs land in its columns and the two merge into one matrix).

    Deterministic for a given seed; a sample equal to an earlier candidate is not repeated (so a
    learner with a tiny space may get fewer).

    Raises:
        InvalidInputError: ``budget`` < 0, an unknown task type, or an empty ``learners``.
        UnknownLearnerError: a learner that does not serve ``task_type``.
        InvalidConfigError: an ``extra`` configuration outside the space of ``task_type``.
    """
    from metaknowledge.knowledge._build import config_id_for
    from metaknowledge.searchspace import default_config, learners_for, sample, validate_params

    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 0:
        raise InvalidInputError(f"budget must be an integer >= 0, got {budget!r}")
    names = list(learners) if learners is not None else learners_for(task_type)
    if not names:
        raise InvalidInputError("learners is empty: name at least one learner")
    rng = np.random.default_rng(seed)
    suggester = _RandomSuggester(rng)
    out: dict[str, dict[str, Any]] = {}
    for learner in names:
        points = [default_config(learner, task_type=task_type)]
        for _ in range(budget):
            points.append(sample(suggester, [learner], task_type=task_type)[1])
        for point in points:
            out.setdefault(
                config_id_for(SOURCE, learner, point), {"learner": learner, "params": point}
            )
    for cid, config in (extra or {}).items():
        learner = str(config["learner"])
        point = validate_params(learner, config["params"], task_type=task_type)
        out.setdefault(str(cid), {"learner": learner, "params": point})
    return out


def find_tables(data_dir: Path) -> list[Path]:
    """The tables of ``data_dir`` (not recursive), sorted by name.

    Raises:
        InvalidInputError: ``data_dir`` is not a directory or holds no CSV/TSV table.
    """
    if not data_dir.is_dir():
        raise InvalidInputError(f"{data_dir} is not a directory")
    tables = sorted(
        p for p in data_dir.iterdir() if p.is_file() and p.name.lower().endswith(TABLE_SUFFIXES)
    )
    if not tables:
        raise InvalidInputError(
            f"{data_dir} holds no table (expected files ending in {', '.join(TABLE_SUFFIXES)})"
        )
    return tables


def _stem(path: Path) -> str:
    name = path.name
    for suffix in sorted(TABLE_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _read_problem(path: Path, task_type: str, cv: int) -> tuple[pd.DataFrame, pd.Series]:
    """``(X, y)`` of a table; rows without a target are dropped.

    Raises:
        InvalidInputError: unreadable, no ``target`` column, no predictor, a target that does not
            fit the task type, or too few rows for ``cv`` folds.
    """
    sep = "\t" if ".tsv" in path.name.lower() else ","
    try:
        frame = pd.read_csv(path, sep=sep, compression="infer")
    except (OSError, ValueError, UnicodeDecodeError, EOFError) as e:
        raise InvalidInputError(f"unreadable table: {_one_line(e)}") from e
    frame.columns = [str(c) for c in frame.columns]
    if TARGET_COLUMN not in frame.columns:
        raise InvalidInputError(f"no {TARGET_COLUMN!r} column")
    frame = frame[frame[TARGET_COLUMN].notna()]
    y = frame.pop(TARGET_COLUMN)
    if frame.shape[1] == 0:
        raise InvalidInputError("no predictor column besides the target")
    if task_type == "regression":
        if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
            raise InvalidInputError("the target is not numeric (regression)")
        y = y.astype(np.float64)
        if y.nunique() < 2:
            raise InvalidInputError("the target is constant")
    elif y.nunique() < 2:
        raise InvalidInputError("the target has a single class")
    if len(y) < 2 * cv:
        raise InvalidInputError(f"{len(y)} rows with a target: too few for {cv}-fold CV")
    return frame.reset_index(drop=True), y.reset_index(drop=True)


def _subsample(
    X: pd.DataFrame, y: pd.Series, max_rows: int | None, seed: int, task_type: str
) -> tuple[pd.DataFrame, pd.Series]:
    if max_rows is None or len(y) <= max_rows:
        return X, y
    rng = np.random.default_rng(seed)
    if task_type == "classification":
        # Proportional per class, at least one row of each, so stratified folds still work.
        picked: list[int] = []
        for _, rows in y.groupby(y.astype(str), sort=True).indices.items():
            share = max(1, round(max_rows * len(rows) / len(y)))
            picked.extend(rng.choice(rows, size=min(share, len(rows)), replace=False).tolist())
        index = np.sort(np.asarray(picked))
    else:
        index = np.sort(rng.choice(len(y), size=max_rows, replace=False))
    return X.iloc[index].reset_index(drop=True), y.iloc[index].reset_index(drop=True)


def _cross_validate(
    X: pd.DataFrame,
    y: pd.Series,
    config: Mapping[str, Any],
    *,
    task_type: str,
    cv: int,
    seed: int,
) -> tuple[float, float]:
    """Mean CV score (higher is better) and mean fit seconds of one configuration.

    Raises whatever fitting raises; ``ValueError`` for a non-finite score.
    """
    from sklearn.model_selection import KFold, StratifiedKFold, cross_validate
    from threadpoolctl import threadpool_limits

    from metaknowledge.searchspace import build_pipeline

    pipeline = build_pipeline(
        str(config["learner"]), config["params"], X, task_type=task_type, random_state=seed
    )
    splitter: Any
    if task_type == "classification":
        smallest = int(y.astype(str).value_counts().min())
        splitter = StratifiedKFold(
            n_splits=max(2, min(cv, smallest)), shuffle=True, random_state=seed
        )
    else:
        splitter = KFold(n_splits=cv, shuffle=True, random_state=seed)
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = cross_validate(
            pipeline, X, y, cv=splitter, scoring=COLLECT_METRICS[task_type], error_score="raise"
        )
    score = float(np.mean(result["test_score"]))
    if not math.isfinite(score):
        raise ValueError("the cross-validated score is not finite")
    return score, float(np.mean(result["fit_time"]))


@dataclass
class CollectResult:
    """What a collection produced and what it could not use."""

    knowledge_base: KnowledgeBase
    tables: list[str]
    skipped_tables: dict[str, str] = field(default_factory=dict)
    resumed: list[str] = field(default_factory=list)
    n_evaluations: int = 0
    failures: Counter[str] = field(default_factory=Counter)

    def summary_lines(self, top: int = 10) -> list[str]:
        """A human report: counts, skipped tables and the commonest failures."""
        kb = self.knowledge_base
        lines = [
            f"tables {len(self.tables)} (used {len(kb.dataset_ids)}, resumed "
            f"{len(self.resumed)}, skipped {len(self.skipped_tables)}), configurations "
            f"{len(kb.config_ids)}, evaluations run now {self.n_evaluations}, failed runs "
            f"{sum(self.failures.values())}",
            f"{kb.task_type}, metric {kb.metric}, version {kb.version}",
        ]
        lines += [f"  skipped {name}: {why}" for name, why in sorted(self.skipped_tables.items())]
        lines += [f"  failed {n}: {why}" for why, n in self.failures.most_common(top)]
        return lines


def _plan_key(
    task_type: str, cv: int, seed: int, configs: Mapping[str, Any], max_rows: int | None
) -> str:
    plan = {
        "task_type": task_type,
        "metric": COLLECT_METRICS[task_type],
        "cv": cv,
        "seed": seed,
        "max_rows": max_rows,
        "configs": sorted(configs),
    }
    return hashlib.sha256(json.dumps(plan, sort_keys=True).encode()).hexdigest()


def _read_state(path: Path, plan: str, sha256: str) -> dict[str, Any] | None:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if state.get("schema") != STATE_SCHEMA or state.get("plan") != plan:
        return None
    if state.get("sha256") != sha256:
        return None
    return dict(state)


def _write_state(path: Path, state: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state, sort_keys=True, allow_nan=True), encoding="utf-8")
    os.replace(tmp, path)


def _one_line(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0] if text else ''}"[:200]


def collect_knowledge_base(
    data_dir: Path,
    *,
    task_type: str = "classification",
    budget: int = 5,
    cv: int = 5,
    seed: int = 0,
    learners: Sequence[str] | None = None,
    extra_configs: Mapping[str, Mapping[str, Any]] | None = None,
    max_rows: int | None = None,
    state_dir: Path | None = None,
    progress: Progress | None = None,
) -> CollectResult:
    """Evaluate the candidate configurations on every table of ``data_dir`` (see the module doc).

    The candidates are :func:`candidate_configs` of ``task_type``, ``budget``, ``seed``,
    ``learners`` and ``extra_configs``.

    ``max_rows`` caps the rows used for cross-validation (a seeded sample, stratified for
    classification); meta-features always describe the whole table. ``state_dir`` (default:
    none, no resuming) keeps per-table progress. ``progress(message, done, total)`` is called
    after every evaluation.

    A table that cannot be used (unreadable, no ``target`` column, a target unfit for the task,
    too few rows) is skipped with its reason; a configuration that fails on a table scores NaN
    and its reason is counted.

    Raises:
        InvalidInputError: bad arguments, ``data_dir`` is not a folder of tables, or no table is
            usable (the reasons are in the message).
    """
    from metaknowledge.metafeatures import extract_metafeatures

    if task_type not in COLLECT_METRICS:
        raise InvalidInputError(
            f"unknown task type {task_type!r}; expected one of {sorted(COLLECT_METRICS)}"
        )
    if isinstance(cv, bool) or not isinstance(cv, int) or cv < 2:
        raise InvalidInputError(f"cv must be an integer >= 2, got {cv!r}")
    if max_rows is not None and (isinstance(max_rows, bool) or max_rows < 2 * cv):
        raise InvalidInputError(f"max_rows must be at least 2 * cv = {2 * cv}, got {max_rows!r}")
    tables = find_tables(data_dir)
    configs = candidate_configs(task_type, budget, seed, learners, extra_configs)
    plan = _plan_key(task_type, cv, seed, configs, max_rows)
    total = len(tables) * len(configs)
    done = 0
    result_rows: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    resumed: list[str] = []
    failures: Counter[str] = Counter()
    n_evaluations = 0
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    for path in tables:
        name = _stem(path)
        sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
        dataset_id = local_dataset_id(SOURCE, sha256)
        state_path = state_dir / f"{sha256[:16]}.json" if state_dir is not None else None
        state = _read_state(state_path, plan, sha256) if state_path is not None else None
        if state is not None:
            resumed.append(name)
        try:
            X, y = _read_problem(path, task_type, cv)
            if state is None:
                state = {
                    "schema": STATE_SCHEMA,
                    "plan": plan,
                    "sha256": sha256,
                    "name": name,
                    "file": path.name,
                    "metafeatures": extract_metafeatures(
                        X, y, task_type=task_type, random_state=seed
                    ),
                    "scores": {},
                    "fit_seconds": {},
                    "errors": {},
                }
        except MetaknowledgeError as e:
            skipped[name] = str(e)
            done += len(configs)
            if progress is not None:
                progress(f"{name}: skipped", done, total)
            continue
        X_cv, y_cv = _subsample(X, y, max_rows, seed, task_type)
        for cid, config in configs.items():
            if cid not in state["scores"]:
                try:
                    score, seconds = _cross_validate(
                        X_cv, y_cv, config, task_type=task_type, cv=cv, seed=seed
                    )
                    state["scores"][cid], state["fit_seconds"][cid] = score, seconds
                except Exception as e:  # any estimator failure is a failed run, not a crash
                    state["scores"][cid], state["fit_seconds"][cid] = None, None
                    state["errors"][cid] = _one_line(e)
                n_evaluations += 1
                if state_path is not None:
                    _write_state(state_path, state)
            done += 1
            if progress is not None:
                progress(f"{name}: {config['learner']}", done, total)
        failures.update(state["errors"].values())
        result_rows.append({**state, "dataset_id": dataset_id})

    if not result_rows:
        reasons = "; ".join(f"{n}: {why}" for n, why in sorted(skipped.items()))
        raise InvalidInputError(f"no usable table in {data_dir} ({reasons})")
    n_extra = len(configs) - len(candidate_configs(task_type, budget, seed, learners))
    kb = _assemble(result_rows, configs, task_type, cv, seed, (budget, n_extra), plan, stamp)
    return CollectResult(
        knowledge_base=kb,
        tables=[_stem(p) for p in tables],
        skipped_tables=skipped,
        resumed=resumed,
        n_evaluations=n_evaluations,
        failures=failures,
    )


def _assemble(
    rows: list[dict[str, Any]],
    configs: Mapping[str, Mapping[str, Any]],
    task_type: str,
    cv: int,
    seed: int,
    budgets: tuple[int, int],
    plan: str,
    stamp: str,
) -> KnowledgeBase:
    budget, n_extra = budgets
    rows = sorted(rows, key=lambda r: int(r["dataset_id"]))
    ids = [int(r["dataset_id"]) for r in rows]
    if len(set(ids)) != len(ids):
        duplicates = Counter(r["name"] for r in rows)
        raise InvalidInputError(
            f"two tables hold identical data: {[n for n, c in duplicates.items() if c > 1]}"
        )
    index = pd.Index(ids, name="dataset_id", dtype="int64")
    columns = pd.Index(list(configs), name="config_id", dtype=object)

    def matrix(key: str) -> pd.DataFrame:
        values = [[r[key].get(c) for c in columns] for r in rows]
        return pd.DataFrame(values, index=index, columns=columns, dtype=np.float64)

    metafeatures = pd.DataFrame(
        [
            {k: (np.nan if v is None else float(v)) for k, v in r["metafeatures"].items()}
            for r in rows
        ],
        index=index,
    ).astype(np.float64)
    content = hashlib.sha256(
        json.dumps([plan, sorted(r["sha256"] for r in rows)]).encode()
    ).hexdigest()
    metric = COLLECT_METRICS[task_type]
    provenance = tuple(
        Provenance(
            source=SOURCE,
            package="warmstart",
            version=_package_version(),
            file=str(r["file"]),
            sha256=str(r["sha256"]),
            licence="the data owner's",
            description=(
                f"{cv}-fold CV {metric} of {len(configs)} configurations (each learner's defaults "
                f"+ {budget} sampled, seed {seed}, + {n_extra} given), collected {stamp}"
            ),
        )
        for r in rows
    )
    return KnowledgeBase(
        performance=matrix("scores"),
        metafeatures=metafeatures.dropna(axis=1, how="all"),
        configs={
            c: {"learner": configs[c]["learner"], "params": dict(configs[c]["params"])}
            for c in columns
        },
        runtime=matrix("fit_seconds"),
        datasets=pd.DataFrame(
            {"name": [str(r["name"]) for r in rows], "source": SOURCE}, index=index
        ),
        version=f"collect.{content[:12]}",
        metric=metric,
        task_type=task_type,
        provenance=provenance,
    )


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("warmstart")
    except PackageNotFoundError:
        return "unknown"
