"""Workers: per-trial time limit in a child process, and several worker processes on one study."""

from __future__ import annotations

import multiprocessing
from typing import Any

import optuna
import pytest
from fastapi.testclient import TestClient
from service_testdata import FAST_LEARNERS, classification_frame, seed_task

from service.config import Settings
from service.context import ServiceContext
from service.runner import ChildExecutor, Worker


def _create(client: TestClient, **body: object) -> dict:
    response = client.post("/v1/studies", json={"learners": FAST_LEARNERS, **body})
    assert response.status_code == 202, response.text
    return response.json()


def test_trials_run_in_a_child_process_and_are_failed_at_the_time_limit(
    client: TestClient,
) -> None:
    ctx: ServiceContext = client.app.state.context  # type: ignore[attr-defined]
    task_id = seed_task(client, classification_frame(seed=20), "label")

    fine = _create(client, task_id=task_id, n_trials=2, warm_start=0, seed=1)
    assert Worker(ctx, executor=ChildExecutor(120.0)).run(exit_when_idle=True) == 2
    assert client.get(f"/v1/studies/{fine['id']}").json()["n_complete"] == 2

    slow = _create(client, task_id=task_id, n_trials=2, warm_start=0, seed=1)
    Worker(ctx, executor=ChildExecutor(0.001)).run(exit_when_idle=True)
    done = client.get(f"/v1/studies/{slow['id']}").json()
    assert done["status"] == "failed" and done["n_failed"] == 2
    trials = client.get(f"/v1/studies/{slow['id']}/trials").json()["items"]
    assert all("per-trial limit" in t["error"] for t in trials)
    optuna_study = optuna.load_study(
        study_name=f"{_optuna_name(ctx, slow['id'])}", storage=ctx.optuna_storage
    )
    assert [t.state for t in optuna_study.trials] == [optuna.trial.TrialState.FAIL] * 2


def _optuna_name(ctx: ServiceContext, study_id: int) -> str:
    from service.operations.studies import get_study_record

    return get_study_record(ctx, ctx.local_tenant_id, study_id).optuna_study_name


def _work(settings: dict[str, Any], barrier: Any, results: Any) -> None:
    ctx = ServiceContext(Settings(**settings))
    try:
        worker = Worker(ctx)
        barrier.wait(timeout=120)
        results.put((worker.name, worker.run(exit_when_idle=True)))
    finally:
        ctx.close()


@pytest.mark.postgres
@pytest.mark.slow
def test_two_worker_processes_share_one_study_without_duplicate_trials(
    client: TestClient, settings: Settings
) -> None:
    task_id = seed_task(client, classification_frame(seed=21), "label")
    n_trials = 16
    study = _create(client, task_id=task_id, n_trials=n_trials, warm_start=4, seed=7)

    mp = multiprocessing.get_context("spawn")
    barrier = mp.Barrier(2)
    results = mp.Queue()
    processes = [
        mp.Process(target=_work, args=(settings.model_dump(), barrier, results)) for _ in range(2)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=300)
        assert process.exitcode == 0
    ran = dict(results.get(timeout=5) for _ in processes)

    assert sum(ran.values()) == n_trials and all(n > 0 for n in ran.values()), ran
    done = client.get(f"/v1/studies/{study['id']}").json()
    assert done["status"] == "succeeded" and done["n_complete"] + done["n_failed"] == n_trials
    trials = client.get(f"/v1/studies/{study['id']}/trials").json()["items"]
    assert sorted(t["number"] for t in trials) == list(range(n_trials))
    assert {t["worker"] for t in trials} == set(ran)
    warm = [t for t in trials if t["source"] == "warm_start"]
    assert [(t["learner"], t["params"]) for t in warm] == [
        (w["learner"], w["params"]) for w in done["warm_start"]
    ]
    ctx: ServiceContext = client.app.state.context  # type: ignore[attr-defined]
    optuna_trials = optuna.load_study(
        study_name=_optuna_name(ctx, study["id"]), storage=ctx.optuna_storage
    ).trials
    assert len(optuna_trials) == n_trials
    assert all(t.state.is_finished() for t in optuna_trials)


def test_a_trial_another_worker_already_recorded_is_left_to_it_and_the_slot_given_back(
    client: TestClient,
) -> None:
    """On SQLite Optuna's ``ask`` can hand one enqueued trial to two workers; the second one
    finds the trial number recorded (the unique key of our trials) and must not run it."""
    from service.db import StudyRepository, TrialRepository
    from service.operations.studies import get_study_record

    ctx: ServiceContext = client.app.state.context  # type: ignore[attr-defined]
    task_id = seed_task(client, classification_frame(seed=21), "label")
    created = _create(client, task_id=task_id, n_trials=3, warm_start=1, seed=1)
    record = get_study_record(ctx, ctx.local_tenant_id, created["id"])
    # The other worker: it joined, reserved a slot, popped the enqueued trial 0 and recorded it.
    optuna_study = optuna.load_study(
        study_name=record.optuna_study_name, storage=ctx.optuna_storage
    )
    with ctx.db.session() as session:
        studies = StudyRepository(session)
        assert studies.join(record.id) is not None and studies.reserve_trial(record.id)
    with ctx.db.session() as session:
        TrialRepository(session).start(
            tenant_id=record.tenant_id,
            study_id=record.id,
            number=0,
            source="warm_start",
            learner=None,
            params={},
            worker="other",
        )
    # ... but Optuna has it WAITING still (its pop is not atomic on SQLite): this worker asks.
    assert optuna_study.trials[0].state == optuna.trial.TrialState.WAITING

    ran = Worker(ctx).work_on(record.id)

    assert ran == 2  # trials 1 and 2; trial 0 stays the other worker's
    trials = client.get(f"/v1/studies/{record.id}/trials").json()["items"]
    assert sorted(t["number"] for t in trials) == [0, 1, 2]
    assert [t["worker"] for t in trials if t["number"] == 0] == ["other"]
    assert optuna_study.trials[0].state == optuna.trial.TrialState.RUNNING  # not told by us
    with ctx.db.session() as session:
        study = StudyRepository(session).get(record.id, tenant_id=None)
    assert study is not None and (study.n_reserved, study.n_finished) == (3, 2)
