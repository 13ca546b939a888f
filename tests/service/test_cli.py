"""The ``warmstart`` command: db upgrade, and recommend/tune/similar locally and with --server.

Commands run as real subprocesses (``python -m service``), so exit codes and the one-line error
translation of ``service.cli.main`` are what a CI pipeline would see.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from service_testdata import FAST_LEARNERS, classification_frame
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from benchmarks.load._server import free_port
from metaknowledge import KnowledgeBase
from metaknowledge.knowledge import write_snapshot
from service.advisor import Advisor
from service.app import create_app
from service.cli import app as cli_app
from service.config import Settings
from service.db import head_revision
from service.runner import Worker
from service.runner.executor import INTERRUPTED_ERROR

REPO_ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=env.get("WARMSTART_HOME", str(REPO_ROOT)),
    )


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "train.csv"
    classification_frame(n_rows=80, seed=30).to_csv(path, index=False)
    return path


@pytest.fixture
def cli_env(tmp_path: Path, database_url: str, tiny_kb: KnowledgeBase) -> dict[str, str]:
    snapshot = tmp_path / "kb"
    write_snapshot(tiny_kb, snapshot)
    home = tmp_path / "home"
    home.mkdir()
    return {
        "WARMSTART_HOME": str(home),
        "WARMSTART_DATABASE_URL": database_url,
        "WARMSTART_KNOWLEDGE_BASE_DIR": str(snapshot),
        "WARMSTART_TRIAL_TIMEOUT_S": "0",
        "WARMSTART_CV_FOLDS": "3",
    }


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(cli_app, ["--help"])
    assert result.exit_code == 0
    for command in ("serve", "worker", "db", "recommend", "tune", "similar"):
        assert command in result.output


def test_db_upgrade_and_current(empty_database_url: str) -> None:
    env = {"WARMSTART_DATABASE_URL": empty_database_url}
    assert _run(["db", "current"], env).returncode == 1
    upgraded = _run(["db", "upgrade"], env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"revision {head_revision()}" in upgraded.stdout
    assert _run(["db", "current"], env).returncode == 0


def test_local_recommend_similar_and_tune(cli_env: dict[str, str], data_file: Path) -> None:
    learners = [arg for name in FAST_LEARNERS for arg in ("--learner", name)]
    result = _run(["recommend", str(data_file), "--target", "label", "-k", "2", "--json"], cli_env)
    assert result.returncode == 0, result.stderr
    recommended = json.loads(result.stdout)
    assert len(recommended["items"]) == 2 and recommended["metamodel_version"]

    table = _run(["recommend", str(data_file), "--target", "label", "-k", "2"], cli_env)
    assert table.returncode == 0 and "learner" in table.stdout

    similar = _run(["similar", str(data_file), "-t", "label", "-k", "3", "--json"], cli_env)
    assert similar.returncode == 0, similar.stderr
    assert len(json.loads(similar.stdout)["items"]) == 3

    tuned = _run(
        [
            "tune",
            str(data_file),
            "-t",
            "label",
            "--trials",
            "3",
            "--warm-start",
            "2",
            "--seed",
            "1",
            "--json",
            *learners,
        ],
        cli_env,
    )
    assert tuned.returncode == 0, tuned.stderr
    body = json.loads(tuned.stdout)
    assert body["study"]["status"] == "succeeded"
    assert [t["source"] for t in body["trials"]] == ["warm_start", "warm_start", "sampler"]


def test_failures_exit_1_with_one_line(
    cli_env: dict[str, str], data_file: Path, tmp_path: Path
) -> None:
    result = _run(["recommend", str(data_file), "--target", "nope"], cli_env)
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: target column 'nope'")
    assert len(result.stderr.strip().splitlines()) == 1

    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    result = _run(["tune", str(empty), "--target", "y"], cli_env)
    assert result.returncode == 1 and "empty" in result.stderr

    result = _run(
        ["recommend", str(data_file), "-t", "label", "--server", "http://127.0.0.1:9"], cli_env
    )
    assert result.returncode == 1 and "cannot reach" in result.stderr


@pytest.fixture
def live_server(settings: Settings, advisor: Advisor) -> Iterator[str]:
    """The real app served by uvicorn on a free loopback port, plus one worker thread."""
    app = create_app(settings, advisor=advisor)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    stop = threading.Event()
    worker = threading.Thread(
        target=Worker(app.state.context, name="live").run, args=(stop,), daemon=True
    )
    worker.start()
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        stop.set()
        worker.join(timeout=60)
        server.should_exit = True
        thread.join(timeout=30)


def test_remote_mode_against_a_running_server(
    live_server: str, data_file: Path, tmp_path: Path
) -> None:
    env = {"WARMSTART_HOME": str(tmp_path)}  # no database or meta-model needed on this side
    result = _run(
        ["recommend", str(data_file), "-t", "label", "-k", "3", "--json", "--server", live_server],
        env,
    )
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["items"]) == 3

    tuned = _run(
        [
            "tune",
            str(data_file),
            "-t",
            "label",
            "--trials",
            "2",
            "--warm-start",
            "1",
            "--learner",
            "knn",
            "--learner",
            "gaussian_nb",
            "--json",
            "--server",
            live_server,
        ],
        env,
    )
    assert tuned.returncode == 0, tuned.stderr
    body = json.loads(tuned.stdout)
    assert body["study"]["status"] == "succeeded" and len(body["trials"]) == 2
    assert {t["worker"] for t in body["trials"]} == {"live"}

    bad = _run(["recommend", str(data_file), "-t", "nope", "--server", live_server], env)
    assert bad.returncode == 1 and "(HTTP 422)" in bad.stderr


def test_ctrl_c_stops_a_local_tune_at_once_and_cancels_its_study(
    cli_env: dict[str, str], tmp_path: Path, database_url: str
) -> None:
    big = tmp_path / "big.csv"  # random forest trials of seconds, in the child process
    classification_frame(n_rows=20_000, seed=31).to_csv(big, index=False)
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        **cli_env,
        "WARMSTART_TRIAL_TIMEOUT_S": "600",
    }
    args = ["tune", str(big), "-t", "label", "--trials", "20", "--warm-start", "0"]
    process = subprocess.Popen(
        [sys.executable, "-m", "service", *args, "--learner", "random_forest"],
        env=env,
        cwd=cli_env["WARMSTART_HOME"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    engine = create_engine(database_url)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            with engine.connect() as connection:
                running = connection.scalar(
                    text("SELECT count(*) FROM ws_trials WHERE state = 'running'")
                )
            if running:
                break
            time.sleep(0.2)
        assert running, "no trial started"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
        assert process.returncode == 130, (out, err)
        assert "Traceback" not in err
        assert err.strip().splitlines()[-1].startswith("interrupted: study"), err
        with engine.connect() as connection:
            (status,) = connection.execute(text("SELECT status FROM ws_studies")).one()
            trials = connection.execute(text("SELECT state, error FROM ws_trials")).all()
        assert status == "cancelled"
        assert [t.state for t in trials].count("running") == 0, trials
        assert ("failed", INTERRUPTED_ERROR) in [(t.state, t.error) for t in trials], trials
    finally:
        process.kill()
        engine.dispose()
