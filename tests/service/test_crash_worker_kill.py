"""A worker SIGKILLed mid-trial: heartbeats find its trial; it is failed, then retried or skipped.

Real processes on PostgreSQL: worker A starts a trial that never ends (its executor hangs, its
heartbeat thread beats), the test kills it with SIGKILL, then worker B runs the study to its end.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import threading
import time
from typing import Any

import optuna
import pytest
from fastapi.testclient import TestClient
from service_testdata import FAST_LEARNERS, classification_frame, seed_task

from service.config import Settings
from service.context import ServiceContext
from service.runner import Worker
from service.runner.objective import TrialJob, TrialOutcome

HEARTBEAT = {"heartbeat_interval_s": 1, "stale_grace_s": 3}


class _HangingExecutor:
    """Runs no trial: blocks until the process is killed (a trial stuck in a doomed worker)."""

    def run(self, job: TrialJob) -> TrialOutcome:
        while True:
            time.sleep(60)

    def interrupt(self) -> None:
        """Nothing: only a kill ends it."""

    def close(self) -> None:
        """Nothing to release."""


def _hang(settings: dict[str, Any]) -> None:
    ctx = ServiceContext(Settings(**settings))
    Worker(ctx, executor=_HangingExecutor()).run()


def _work_until_study_ends(settings: dict[str, Any], study_id: int, results: Any) -> None:
    ctx = ServiceContext(Settings(**settings))
    stop = threading.Event()

    def watch() -> None:
        from service.db import StudyRepository

        while not stop.is_set():
            with ctx.db.session() as session:
                study = StudyRepository(session).get(study_id, tenant_id=None)
            if study is None or study.status not in ("queued", "running"):
                stop.set()
            stop.wait(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        worker = Worker(ctx)
        results.put((worker.name, worker.run(stop)))
    finally:
        stop.set()
        watcher.join()
        ctx.close()


def _wait_for_running_trial(client: TestClient, study_id: int, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        trials = client.get(f"/v1/studies/{study_id}/trials").json()["items"]
        running = [t for t in trials if t["state"] == "running"]
        if running:
            return running[0]
        time.sleep(0.1)
    raise AssertionError("no trial started within the time limit")


def _canonical(config: tuple[str, dict]) -> str:
    """A configuration as text, whatever the order of its parameters."""
    return json.dumps(config, sort_keys=True)


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.parametrize("policy", ["retry", "skip"])
def test_a_worker_killed_mid_trial_is_detected_by_heartbeats_and_the_study_finishes(
    client: TestClient, settings: Settings, policy: str
) -> None:
    ctx: ServiceContext = client.app.state.context  # type: ignore[attr-defined]
    task_id = seed_task(client, classification_frame(seed=31), "label")
    n_trials = 4
    created = client.post(
        "/v1/studies",
        json={
            "learners": FAST_LEARNERS,
            "task_id": task_id,
            "n_trials": n_trials,
            "warm_start": 2,
            "seed": 3,
        },
    )
    assert created.status_code == 202, created.text
    study_id = created.json()["id"]
    worker_settings = {**settings.model_dump(), **HEARTBEAT, "stale_trial_policy": policy}

    mp = multiprocessing.get_context("spawn")
    doomed = mp.Process(target=_hang, args=(worker_settings,))
    doomed.start()
    try:
        killed = _wait_for_running_trial(client, study_id, timeout_s=120)
    finally:
        assert doomed.pid is not None
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.join(timeout=30)
    assert doomed.exitcode == -signal.SIGKILL
    assert killed["worker"].endswith(f":{doomed.pid}")

    results = mp.Queue()
    started = time.monotonic()
    survivor = mp.Process(target=_work_until_study_ends, args=(worker_settings, study_id, results))
    survivor.start()
    survivor.join(timeout=300)
    assert survivor.exitcode == 0
    survivor_name, ran = results.get(timeout=5)
    assert time.monotonic() - started < 120

    done = client.get(f"/v1/studies/{study_id}").json()
    trials = client.get(f"/v1/studies/{study_id}/trials").json()["items"]
    by_number = {t["number"]: t for t in trials}
    dead = by_number[killed["number"]]
    assert dead["state"] == "failed" and dead["worker"] == killed["worker"]
    assert "no heartbeat" in dead["error"] and f"stale_trial_policy={policy}" in dead["error"]
    assert done["status"] == "succeeded"
    others = [t for t in trials if t["number"] != killed["number"]]
    assert all(t["worker"] == survivor_name for t in others)
    assert all(t["state"] == "complete" for t in others), others
    if policy == "retry":  # the slot was released: still n_trials complete, plus the dead one
        assert done["n_complete"] == n_trials and done["n_failed"] == 1
        assert len(trials) == n_trials + 1 and ran == n_trials
        retried = [
            t for t in others if (t["learner"], t["params"]) == (dead["learner"], dead["params"])
        ]
        assert len(retried) == 1 and retried[0]["source"] == dead["source"] == "warm_start"
    else:  # the slot is used up
        assert done["n_complete"] == n_trials - 1 and done["n_failed"] == 1
        assert len(trials) == n_trials and ran == n_trials - 1
    # every warm-start configuration completed exactly once: nothing ran twice
    complete_warm = [
        (t["learner"], t["params"])
        for t in trials
        if t["source"] == "warm_start" and t["state"] == "complete"
    ]
    expected_warm = [(w["learner"], w["params"]) for w in done["warm_start"]]
    if policy == "retry":
        assert sorted(map(_canonical, complete_warm)) == sorted(map(_canonical, expected_warm))
    assert len(set(map(_canonical, complete_warm))) == len(complete_warm)

    # Optuna agrees with our rows, trial by trial, and nothing is left running or waiting
    from service.db import StudyRepository
    from service.operations.studies import get_study_record

    name = get_study_record(ctx, ctx.local_tenant_id, study_id).optuna_study_name
    optuna_trials = optuna.load_study(study_name=name, storage=ctx.optuna_storage).trials
    states = {"complete": optuna.trial.TrialState.COMPLETE, "failed": optuna.trial.TrialState.FAIL}
    assert {t.number: t.state for t in optuna_trials} == {
        n: states[t["state"]] for n, t in by_number.items()
    }
    with ctx.db.session() as session:
        row = StudyRepository(session).get(study_id, tenant_id=None)
    assert row is not None and row.n_reserved == row.n_finished == row.n_trials == n_trials
