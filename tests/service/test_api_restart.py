"""The API restarted during a study: nothing is lost, the status is right after the restart, and
the study ends with exactly ``n_trials`` complete trials.

Real processes on the test database (SQLite file or PostgreSQL): ``warmstart serve`` and
``warmstart worker`` as subprocesses, stopped with SIGTERM or SIGKILL while a study runs, then
``serve`` started again on the same port. Four ways to go down:

- ``api-sigterm`` / ``api-sigkill``: the API alone (``serve --workers 0``); a separate worker
  keeps running trials while it is away.
- ``serve-sigterm``: ``serve`` with its two local workers (the one-command default); they finish
  their current trial and stop with it.
- ``serve-sigkill-group``: ``serve`` and its workers SIGKILLed together (a container killed):
  the trials in flight are found by the heartbeats of the restarted workers and run again.

To keep the suite short, SQLite runs the two SIGKILL variants; PostgreSQL runs all four.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import optuna
import pytest
from service_processes import ServiceProcess, free_port, reap, service_env, start_server
from service_testdata import FAST_LEARNERS, classification_frame, to_csv

from metaknowledge.searchspace import config_key

N_TRIALS = 16
SETTINGS = {
    "cv_folds": 3,
    "trial_timeout_s": 0,
    "worker_poll_s": 0.2,
    "heartbeat_interval_s": 1,
    "stale_grace_s": 3,
    "stale_trial_policy": "retry",
    "log_level": "info",
}


@dataclass(frozen=True)
class Scenario:
    serve_workers: int  # local workers of `serve`; 0 = a separate `warmstart worker` runs
    signum: int
    whole_group: bool  # the signal also hits the workers `serve` started


SCENARIOS = {
    "api-sigterm": Scenario(0, signal.SIGTERM, whole_group=False),
    "api-sigkill": Scenario(0, signal.SIGKILL, whole_group=False),
    "serve-sigterm": Scenario(2, signal.SIGTERM, whole_group=False),
    "serve-sigkill-group": Scenario(2, signal.SIGKILL, whole_group=True),
}


@pytest.fixture
def processes() -> Iterator[list[ServiceProcess]]:
    """Processes a test started; all killed at the end, whatever happened."""
    started: list[ServiceProcess] = []
    yield started
    reap(started)


def _wait_for(
    client: httpx2.Client, study_id: int, done: Callable[[dict[str, Any]], bool], timeout_s: float
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    study: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = client.get(f"/studies/{study_id}")
        assert response.status_code == 200, response.text
        study = response.json()
        if done(study):
            return study
        time.sleep(0.1)
    raise AssertionError(f"study did not get there within {timeout_s} s: {study}")


def _explain(database_url: str, study_id: int, tmp_path: Path) -> str:
    """Trials as stored (ours and Optuna's) and the warnings of the logs, for a failure."""
    view = _database_view(database_url, study_id)
    rows = {n: (t.state, t.worker, t.error) for n, t in view["trials"].items()}
    warnings = [
        line
        for log in sorted(tmp_path.glob("*.log"))
        for line in log.read_text(errors="replace").splitlines()
        if "WARNING" in line or "ERROR" in line
    ]
    return "\n".join([str(view["study"]), str(rows), str(view["optuna"]), *warnings[-40:]])


def _config(trial: dict[str, Any]) -> str:
    return config_key(trial["learner"], trial["params"])


def _database_view(database_url: str, study_id: int) -> dict[str, Any]:
    """The study as stored (our rows and Optuna's), read without the API."""
    from service.db import Database, StudyRepository, TrialRepository

    db = Database(database_url)
    try:
        with db.session() as session:
            study = StudyRepository(session).get(study_id, tenant_id=None)
            assert study is not None
            trials = TrialRepository(session).of_study(study_id)
    finally:
        db.dispose()
    storage = optuna.storages.RDBStorage(database_url)
    try:
        optuna_trials = optuna.load_study(
            study_name=study.optuna_study_name, storage=storage
        ).get_trials(deepcopy=False)
    finally:
        storage.engine.dispose()
    return {
        "study": study,
        "trials": {t.number: t for t in trials},
        "optuna": {t.number: t.state.name for t in optuna_trials},
    }


@pytest.mark.slow
@pytest.mark.parametrize("scenario_name", list(SCENARIOS))
def test_the_api_restarted_during_a_study_loses_nothing_and_reports_the_right_status(
    scenario_name: str,
    database_url: str,
    tmp_path: Path,
    processes: list[ServiceProcess],
    record_property: Callable[[str, object], None],
) -> None:
    scenario = SCENARIOS[scenario_name]
    if scenario.signum == signal.SIGTERM and not database_url.startswith("postgresql"):
        pytest.skip("the SIGTERM variants run on PostgreSQL (CI); the SIGKILL ones on both")
    env = service_env(tmp_path / "home", database_url, **SETTINGS)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    processes.append(
        start_server(env, port, tmp_path / "serve-1.log", workers=scenario.serve_workers)
    )
    if scenario.serve_workers == 0:
        processes.append(ServiceProcess(["worker"], env, tmp_path / "worker.log"))
    api = httpx2.Client(base_url=f"{url}/v1", timeout=60)

    dataset = api.post(
        "/datasets", files={"file": ("restart.csv", to_csv(classification_frame(300, seed=5)))}
    ).json()
    task = api.post("/tasks", json={"dataset_id": dataset["id"], "target": "label"}).json()
    body = {"task_id": task["id"], "n_trials": N_TRIALS, "learners": FAST_LEARNERS, "seed": 7}
    created = api.post("/studies", json=body, headers={"Idempotency-Key": "restart-study"})
    assert created.status_code == 202, created.text
    study_id = created.json()["id"]

    before = _wait_for(api, study_id, lambda s: s["n_complete"] >= 2, timeout_s=120)
    if scenario.whole_group:  # best effort: catch the workers in the middle of trials
        _wait_for(api, study_id, lambda s: s["n_running"] > 0, timeout_s=30)
    listed = api.get(f"/studies/{study_id}/trials").json()["items"]
    complete_before = {t["number"] for t in listed if t["state"] == "complete"}
    killed_at = time.monotonic()
    processes[0].signal(scenario.signum, group=scenario.whole_group)
    code = processes[0].wait(timeout_s=60)
    assert code == (0 if scenario.signum == signal.SIGTERM else -signal.SIGKILL), processes[
        0
    ].tail()
    assert before["status"] == "running" and before["n_complete"] <= N_TRIALS - 4, before
    with pytest.raises(httpx2.TransportError):
        api.get("/health")

    # While the API is away the stored study keeps what it had (and a separate worker goes on).
    down = _database_view(database_url, study_id)
    assert complete_before <= {n for n, t in down["trials"].items() if t.state == "complete"}
    if scenario.serve_workers == 0:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            progressed = _database_view(database_url, study_id)["study"].n_finished
            if progressed > down["study"].n_finished:
                break
            time.sleep(0.2)
        assert progressed > down["study"].n_finished, "the worker stopped with the API"

    processes[0] = start_server(env, port, tmp_path / "serve-2.log", workers=scenario.serve_workers)
    restart_s = time.monotonic() - killed_at

    # Right after the restart: the same study, counts that agree with its trials, nothing lost.
    after = api.get(f"/studies/{study_id}").json()
    trials = api.get(f"/studies/{study_id}/trials").json()["items"]
    assert after["status"] in ("running", "succeeded"), after
    assert after["n_complete"] == sum(t["state"] == "complete" for t in trials)
    assert after["n_complete"] >= before["n_complete"]
    assert complete_before <= {t["number"] for t in trials if t["state"] == "complete"}
    if after["status"] == "succeeded":
        assert after["n_complete"] == N_TRIALS
    replay = api.post("/studies", json=body, headers={"Idempotency-Key": "restart-study"})
    assert replay.status_code == 202 and replay.json()["id"] == study_id
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert api.get("/studies").json()["count"] == 1
    assert api.get(f"/datasets/{dataset['id']}").status_code == 200
    assert api.get(f"/tasks/{task['id']}").status_code == 200

    done = _wait_for(api, study_id, lambda s: s["status"] != "running", timeout_s=180)
    trials = api.get(f"/studies/{study_id}/trials").json()["items"]
    assert done["status"] == "succeeded", (done, processes[0].tail())
    assert done["n_complete"] == N_TRIALS and done["n_running"] == 0, _explain(
        database_url, study_id, tmp_path
    )
    complete = [t for t in trials if t["state"] == "complete"]
    failed = [t for t in trials if t["state"] == "failed"]
    assert len({t["number"] for t in complete}) == len(complete) == N_TRIALS
    assert len(trials) == N_TRIALS + len(failed)
    if scenario.whole_group:  # only trials of the killed workers may fail, as stale
        assert len(failed) <= scenario.serve_workers
        assert all("no heartbeat" in t["error"] for t in failed), failed
    else:  # stopped cleanly or never stopped: no trial was lost
        assert failed == []
    warm = [_config(t) for t in complete if t["source"] == "warm_start"]
    listed = [_config(w) for w in done["warm_start"]]
    explain = "\n".join([json.dumps(done["warm_start"])] + [json.dumps(t) for t in trials])
    assert len(set(warm)) == len(warm), explain  # a stale warm trial is retried once only
    if scenario.whole_group:
        # A worker killed between claiming a warm-start index and enqueueing its configuration
        # leaves that configuration listed without a trial (docs/service.md, Known limits).
        assert set(warm) <= set(listed), explain
        assert len(set(listed) - set(warm)) <= scenario.serve_workers, explain
    else:
        assert sorted(warm) == sorted(listed), explain

    stored = _database_view(database_url, study_id)
    row = stored["study"]
    assert row.n_reserved == row.n_finished == row.n_trials == N_TRIALS
    assert stored["optuna"] == {
        n: {"complete": "COMPLETE", "failed": "FAIL"}[t.state] for n, t in stored["trials"].items()
    }
    record_property("restart_s", round(restart_s, 2))
    record_property("trials_failed_as_stale", len(failed))
    record_property("n_complete_at_kill", before["n_complete"])

    for p in processes:
        p.signal(signal.SIGTERM)
    for p in processes:
        assert p.wait(timeout_s=60) == 0, p.tail()
