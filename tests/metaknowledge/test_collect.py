"""``kb collect``: private meta-knowledge from a folder of tiny generated tables."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metaknowledge import InvalidConfigError, InvalidInputError, MetaModel, validate_params
from metaknowledge.evaluation import evaluable_dataset_ids
from metaknowledge.knowledge import (
    collect_knowledge_base,
    load_knowledge_base,
    local_dataset_id,
    merge_knowledge_bases,
    read_snapshot,
    write_snapshot,
)
from metaknowledge.knowledge._collect import candidate_configs

FAST = ["knn", "ridge", "decision_tree"]


def _regression_table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["colour"] = rng.choice(["red", "blue"], n)
    frame["target"] = 2 * X[:, 0] + np.where(frame["colour"] == "red", 1.0, -1.0)
    frame["target"] += rng.normal(0, 0.1, n)
    return frame


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    _regression_table(40, 0).to_csv(data / "alpha.csv", index=False)
    _regression_table(60, 1).to_csv(data / "beta.tsv.gz", sep="\t", index=False)
    (data / "notes.txt").write_text("not a table")
    return data


def test_candidates_are_defaults_plus_a_seeded_budget() -> None:
    configs = candidate_configs("regression", 2, seed=3, learners=["knn", "ridge"])
    assert configs == candidate_configs("regression", 2, seed=3, learners=["knn", "ridge"])
    assert configs != candidate_configs("regression", 2, seed=4, learners=["knn", "ridge"])
    assert (
        len(configs) == 6 and next(iter(configs)) == "collect:knn:n_neighbors=5,p=2,weights=uniform"
    )
    for config in configs.values():
        assert validate_params(config["learner"], config["params"], task_type="regression")
    extra = {"x:1": {"learner": "ridge", "params": {"alpha": 3.0}}}
    assert candidate_configs("regression", 0, 0, ["knn"], extra)["x:1"]["params"] == {"alpha": 3.0}
    with pytest.raises(InvalidConfigError):
        candidate_configs(
            "regression", 0, 0, ["knn"], {"x": {"learner": "knn", "params": {"p": 7}}}
        )
    with pytest.raises(InvalidInputError, match="budget"):
        candidate_configs("regression", -1, 0)


def test_collect_builds_a_dense_mergeable_knowledge_base(folder: Path, tmp_path: Path) -> None:
    ticks: list[tuple[int, int]] = []
    result = collect_knowledge_base(
        folder,
        task_type="regression",
        budget=1,
        cv=3,
        learners=FAST,
        progress=lambda message, done, total: ticks.append((done, total)),
    )
    kb = result.knowledge_base
    assert (kb.task_type, kb.metric) == ("regression", "r2")
    assert sorted(kb.datasets["name"]) == ["alpha", "beta"] and result.tables == ["alpha", "beta"]
    assert kb.performance.shape == (2, 6) and np.isfinite(kb.performance.to_numpy()).all()
    assert (kb.runtime.to_numpy() > 0).all()
    assert ticks[-1] == (12, 12)
    sizes = dict(zip(kb.datasets["name"], kb.metafeatures["NumberOfInstances"], strict=True))
    assert sizes == {"alpha": 40, "beta": 60}
    digests = {p.file: p.sha256 for p in kb.provenance}
    assert set(digests) == {"alpha.csv", "beta.tsv.gz"}
    assert local_dataset_id("collect", digests["alpha.csv"]) in kb.dataset_ids
    assert all(p.source == "collect" for p in kb.provenance)
    # The ridge default explains these linear tables well.
    ridge = "collect:ridge:alpha=1.0"
    assert (kb.performance[ridge] > 0.9).all()

    write_snapshot(kb, tmp_path / "snap")
    again = read_snapshot(tmp_path / "snap")
    pd.testing.assert_frame_equal(again.performance, kb.performance)
    merged = merge_knowledge_bases(load_knowledge_base(task_type="regression"), again)
    assert evaluable_dataset_ids(merged) == sorted(kb.dataset_ids)
    recs = (
        MetaModel().fit(merged).recommend({"NumberOfInstances": 50.0, "NumberOfFeatures": 5.0}, 3)
    )
    assert len(recs) == 3


def test_collect_resumes_without_repeating_work(folder: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    calls = 0

    def interrupt(message: str, done: int, total: int) -> None:
        nonlocal calls
        calls += 1
        if calls == 4:
            raise KeyboardInterrupt

    kwargs = {"task_type": "regression", "budget": 0, "cv": 3, "learners": FAST}
    with pytest.raises(KeyboardInterrupt):
        collect_knowledge_base(folder, state_dir=state, progress=interrupt, **kwargs)  # type: ignore[arg-type]
    resumed = collect_knowledge_base(folder, state_dir=state, **kwargs)  # type: ignore[arg-type]
    assert resumed.n_evaluations == 6 - 4 and resumed.resumed == ["alpha", "beta"]
    fresh = collect_knowledge_base(folder, **kwargs)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(
        resumed.knowledge_base.performance, fresh.knowledge_base.performance
    )
    # Another plan (other folds) does not reuse the state.
    other = collect_knowledge_base(folder, state_dir=state, **{**kwargs, "cv": 2})  # type: ignore[arg-type]
    assert other.n_evaluations == 6


def test_unusable_tables_are_skipped_with_a_reason(tmp_path: Path) -> None:
    data = tmp_path / "mixed"
    data.mkdir()
    _regression_table(40, 0).to_csv(data / "good.csv", index=False)
    pd.DataFrame({"a": [1, 2], "b": [3, 4]}).to_csv(data / "no_target.csv", index=False)
    frame = _regression_table(40, 2)
    frame["target"] = np.where(frame["target"] > 0, "yes", "no")
    frame.to_csv(data / "labels.csv", index=False)
    (data / "broken.csv.gz").write_bytes(b"not gzip at all")
    result = collect_knowledge_base(
        data, task_type="regression", budget=0, cv=2, learners=["ridge", "knn"]
    )
    assert list(result.knowledge_base.datasets["name"]) == ["good"]
    assert result.skipped_tables["no_target"] == "no 'target' column"
    assert "not numeric" in result.skipped_tables["labels"]
    assert result.skipped_tables["broken"].startswith("unreadable table")
    assert any("skipped labels" in line for line in result.summary_lines())


def test_failing_runs_score_nan_and_are_counted(tmp_path: Path) -> None:
    frame = _regression_table(40, 0)
    frame.loc[3, "target"] = np.inf  # every estimator refuses an infinite target
    frame.to_csv(tmp_path / "t.csv", index=False)
    result = collect_knowledge_base(
        tmp_path, task_type="regression", budget=0, cv=2, learners=["ridge", "knn"]
    )
    assert result.knowledge_base.performance.isna().all().all()
    assert sum(result.failures.values()) == 2
    assert "failed 2: ValueError" in "\n".join(result.summary_lines())


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing", "is not a directory"),
        (lambda p: p, "holds no table"),
    ],
)
def test_a_bad_folder_is_an_error(tmp_path: Path, make: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        collect_knowledge_base(make(tmp_path), task_type="regression")  # type: ignore[operator]


def test_no_usable_table_is_an_error(tmp_path: Path) -> None:
    pd.DataFrame({"a": [1.0, 2.0], "target": [1.0, 2.0]}).to_csv(tmp_path / "tiny.csv", index=False)
    with pytest.raises(InvalidInputError, match=r"no usable table.*tiny: 2 rows"):
        collect_knowledge_base(tmp_path, task_type="regression", cv=3)


def test_classification_tables_give_balanced_accuracy(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["target"] = np.where(X[:, 0] > 0, "up", "down")
    frame.to_csv(tmp_path / "cls.csv", index=False)
    result = collect_knowledge_base(
        tmp_path,
        task_type="classification",
        budget=0,
        cv=3,
        learners=["knn", "gaussian_nb"],
        max_rows=30,
    )
    kb = result.knowledge_base
    assert (kb.metric, kb.task_type) == ("balanced_accuracy", "classification")
    assert kb.metafeatures.loc[kb.dataset_ids[0], "NumberOfInstances"] == 60  # the whole table
    assert (kb.performance.to_numpy() > 0.7).all()
    merged = merge_knowledge_bases(load_knowledge_base(), kb)
    assert len(merged.dataset_ids) == 419


def _warmstart(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("warmstart")
    cmd = [exe] if exe else [sys.executable, "-c", "from service.cli import main; main()"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=300, check=False)


def test_cli_collect_then_evaluate_regression(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "collected"
    args = ["kb", "collect", str(folder), "--task", "regression", "--budget", "0", "--cv", "2"]
    args += ["--learner", "knn", "--learner", "ridge", "--out", str(out)]
    result = _warmstart(*args)
    assert result.returncode == 0, result.stderr
    assert "tables 2 (used 2, resumed 0, skipped 0)" in result.stdout
    assert read_snapshot(out).task_type == "regression"
    again = _warmstart(*args)
    assert "resumed 2" in again.stdout and "evaluations run now 0" in again.stdout

    report = tmp_path / "eval.json"
    evaluated = _warmstart(
        "kb", "evaluate", "--task", "regression", "--merge", str(out), "--out", str(report)
    )
    assert evaluated.returncode == 0, evaluated.stderr
    assert "| metamodel | static |" in evaluated.stdout
    payload = json.loads(report.read_text())
    assert (payload["task_type"], payload["metric"], payload["n_evaluable"]) == (
        "regression",
        "r2",
        2,
    )
    assert payload["n_datasets"] == 62


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("kb", "collect", "/nonexistent/folder"), "error: /nonexistent/folder is not a directory"),
        (("kb", "evaluate", "--task", "regression"), "error: no dataset of knowledge base"),
    ],
)
def test_cli_errors_are_one_line_reasons(args: tuple[str, ...], message: str) -> None:
    result = _warmstart(*args)
    assert result.returncode != 0 and message in result.stderr
    assert "Traceback" not in result.stderr
