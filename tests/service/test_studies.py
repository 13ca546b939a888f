"""Studies end to end: queue through the API, run with real workers on real Optuna, inspect."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from fastapi.testclient import TestClient
from service_testdata import FAST_LEARNERS, classification_frame, regression_frame, seed_task

from service.advisor import Advisor
from service.config import Settings
from service.context import ServiceContext
from service.db import StudyRepository
from service.runner import Worker


def _ctx(client: TestClient) -> ServiceContext:
    ctx: ServiceContext = client.app.state.context  # type: ignore[attr-defined]
    return ctx


def _worker(client: TestClient) -> Worker:
    ctx: ServiceContext = client.app.state.context  # type: ignore[attr-defined]
    return Worker(ctx, name="test-worker")


def _create(client: TestClient, **body: object) -> dict:
    response = client.post("/v1/studies", json={"learners": FAST_LEARNERS, **body})
    assert response.status_code == 202, response.text
    return response.json()


def test_cold_start_study_runs_all_trials(client: TestClient) -> None:
    task_id = seed_task(client, classification_frame(), "label")
    study = _create(client, task_id=task_id, n_trials=4, warm_start=0, seed=1)
    assert study["status"] == "queued" and study["warm_start"] == []

    assert _worker(client).run(exit_when_idle=True) == 4

    done = client.get(f"/v1/studies/{study['id']}").json()
    assert done["status"] == "succeeded"
    assert (done["n_trials"], done["n_complete"], done["n_failed"]) == (4, 4, 0)
    assert done["best"]["learner"] in FAST_LEARNERS and 0 <= done["best"]["score"] <= 1
    trials = client.get(f"/v1/studies/{study['id']}/trials").json()
    assert [t["number"] for t in trials["items"]] == [0, 1, 2, 3]
    assert {t["source"] for t in trials["items"]} == {"sampler"}
    assert all(t["duration_s"] > 0 and t["worker"] == "test-worker" for t in trials["items"])
    best = max(trials["items"], key=lambda t: t["score"])
    assert done["best"]["trial_number"] == best["number"]


def test_warm_start_trials_run_first_and_exactly(client: TestClient) -> None:
    task_id = seed_task(client, classification_frame(seed=5), "label")
    study = _create(client, task_id=task_id, n_trials=5, warm_start=3, seed=0)
    assert len(study["warm_start"]) == 3 and study["metamodel_version"]
    assert [w["rank"] for w in study["warm_start"]] == [1, 2, 3]

    _worker(client).run(exit_when_idle=True)

    trials = client.get(f"/v1/studies/{study['id']}/trials").json()["items"]
    assert [t["source"] for t in trials] == ["warm_start"] * 3 + ["sampler"] * 2
    done = client.get(f"/v1/studies/{study['id']}").json()
    assert done["status"] == "succeeded"
    # The first is the creation's proposal; the study records the steered ones that ran.
    assert done["warm_start"][0] == study["warm_start"][0]
    assert [w["rank"] for w in done["warm_start"]] == [1, 2, 3]
    for trial, recommended in zip(trials[:3], done["warm_start"], strict=True):
        assert trial["learner"] == recommended["learner"]
        assert trial["params"] == recommended["params"]


def test_the_warm_start_is_steered_by_the_results_so_far(
    client: TestClient, advisor: Advisor
) -> None:
    """Each warm-start trial after the first is the meta-model's best proposal given the
    scores measured before it (the end-to-end benchmark's ``warmstart`` strategy)."""
    task_id = seed_task(client, classification_frame(seed=5), "label")
    study = _create(client, task_id=task_id, n_trials=4, warm_start=4, seed=0)
    _worker(client).run(exit_when_idle=True)
    trials = client.get(f"/v1/studies/{study['id']}/trials").json()["items"]
    assert [t["source"] for t in trials] == ["warm_start"] * 4
    metafeatures = client.get(f"/v1/tasks/{task_id}").json()["metafeatures"]
    static = [(w["learner"], w["params"]) for w in study["warm_start"]]
    ran = [(t["learner"], t["params"]) for t in trials]
    for i in range(1, 4):
        observed = [
            ({"learner": t["learner"], "params": t["params"]}, t["score"]) for t in trials[:i]
        ]
        (expected,) = advisor.recommend(
            metafeatures,
            1,
            task_type="classification",
            observed=observed,
            learners=study["learners"],
        )
        assert ran[i] == (expected.learner, expected.params), i
    assert ran != static, "the results changed nothing: this test would not see a static start"


def test_default_warm_start_is_5_when_covered_and_capped_by_n_trials(client: TestClient) -> None:
    task_id = seed_task(client, classification_frame(seed=6), "label")
    assert len(_create(client, task_id=task_id, n_trials=10)["warm_start"]) == 5
    assert len(_create(client, task_id=task_id, n_trials=2)["warm_start"]) == 2


def test_regression_task_runs_cold_and_refuses_an_explicit_warm_start(client: TestClient) -> None:
    task_id = seed_task(client, regression_frame(), "price", task_type="regression", metric="rmse")
    response = client.post("/v1/studies", json={"task_id": task_id, "warm_start": 2})
    assert response.status_code == 409 and "regression" in response.json()["detail"]
    study = _create(client, task_id=task_id, n_trials=2, learners=["decision_tree", "knn"], seed=3)
    assert study["warm_start"] == [] and study["maximize"] is False
    _worker(client).run(exit_when_idle=True)
    done = client.get(f"/v1/studies/{study['id']}").json()
    assert done["status"] == "succeeded" and done["best"]["score"] > 0


def test_cancel_stops_a_study_within_one_trial(client: TestClient) -> None:
    task_id = seed_task(client, classification_frame(seed=7), "label")
    study = _create(client, task_id=task_id, n_trials=50, warm_start=0, seed=2)
    worker = _worker(client)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while client.get(f"/v1/studies/{study['id']}").json()["n_complete"] < 1:
            assert time.monotonic() < deadline, "no trial completed within 60 s"
            time.sleep(0.05)
        cancelled = client.post(f"/v1/studies/{study['id']}/cancel")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        complete_at_cancel = cancelled.json()["n_complete"]
        time.sleep(0.5)
    finally:
        stop.set()
        thread.join(timeout=60)
    final = client.get(f"/v1/studies/{study['id']}").json()
    assert final["status"] == "cancelled"
    assert final["n_complete"] + final["n_failed"] <= complete_at_cancel + 1
    assert final["n_running"] == 0
    assert client.post(f"/v1/studies/{study['id']}/cancel").status_code == 200  # idempotent


def test_cancel_of_a_queued_study_means_no_trial_runs(client: TestClient) -> None:
    task_id = seed_task(client, classification_frame(seed=8), "label")
    study = _create(client, task_id=task_id, n_trials=3, warm_start=0)
    assert client.post(f"/v1/studies/{study['id']}/cancel").json()["status"] == "cancelled"
    assert _worker(client).run(exit_when_idle=True) == 0
    assert client.get(f"/v1/studies/{study['id']}/trials").json()["count"] == 0


def test_cancel_of_a_finished_study_is_409(client: TestClient) -> None:
    task_id = seed_task(client, classification_frame(seed=9), "label")
    study = _create(client, task_id=task_id, n_trials=1, warm_start=0)
    _worker(client).run(exit_when_idle=True)
    response = client.post(f"/v1/studies/{study['id']}/cancel")
    assert response.status_code == 409 and "succeeded" in response.json()["detail"]


def test_study_time_budget_ends_it_early(client: TestClient) -> None:
    task_id = seed_task(client, classification_frame(seed=10), "label")
    study = _create(client, task_id=task_id, n_trials=1000, warm_start=0, timeout_s=0.5)
    ran = _worker(client).run(exit_when_idle=True)
    done = client.get(f"/v1/studies/{study['id']}").json()
    assert done["status"] == "succeeded"
    assert 1 <= ran < 1000 and done["n_complete"] == ran


def test_missing_dataset_file_fails_the_study_with_a_reason(client: TestClient) -> None:
    task_id = seed_task(client, classification_frame(seed=11), "label")
    study = _create(client, task_id=task_id, n_trials=2, warm_start=0)
    ctx: ServiceContext = client.app.state.context  # type: ignore[attr-defined]
    for path in ctx.files.root.iterdir():
        path.unlink()
    _worker(client).run(exit_when_idle=True)
    done = client.get(f"/v1/studies/{study['id']}").json()
    assert done["status"] == "failed" and "missing" in done["error"]


def test_bad_study_requests(client: TestClient) -> None:
    task_id = seed_task(client, classification_frame(seed=12), "label")
    assert client.post("/v1/studies", json={"task_id": 999}).status_code == 404
    response = client.post("/v1/studies", json={"task_id": task_id, "learners": ["nope"]})
    assert response.status_code == 422 and "nope" in response.json()["detail"]
    response = client.post("/v1/studies", json={"task_id": task_id, "learners": ["ridge"]})
    assert response.status_code == 422
    assert client.post("/v1/studies", json={"task_id": task_id, "n_trials": 0}).status_code == 422
    assert client.get("/v1/studies/999").status_code == 404
    assert client.get("/v1/studies/999/trials").status_code == 404
    assert client.post("/v1/studies/999/cancel").status_code == 404


def test_a_worker_without_a_meta_model_leaves_the_warm_start_to_one_that_has_it(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    task_id = seed_task(client, classification_frame(seed=8), "label")
    study = _create(client, task_id=task_id, n_trials=5, warm_start=3, seed=0)
    missing = tmp_path / "no-knowledge-base"
    blind = ServiceContext(
        Settings(
            **{
                **settings.model_dump(),
                "knowledge_base_dir": missing,
                "regression_knowledge_base_dir": missing,
            }
        )
    )
    try:
        # Its knowledge base cannot load: it runs the enqueued first warm trial, then a sampled
        # one, and leaves the warm phase open.
        assert Worker(blind, name="blind").work_on(study["id"], max_trials=2) == 2
    finally:
        blind.close()
    with _ctx(client).db.session() as session:
        record = StudyRepository(session).get(study["id"], tenant_id=None)
    assert record is not None and record.n_warm_enqueued == 1
    _worker(client).run(exit_when_idle=True)
    trials = client.get(f"/v1/studies/{study['id']}/trials").json()["items"]
    sources = ["warm_start", "sampler", "warm_start", "warm_start", "sampler"]
    assert [t["source"] for t in trials] == sources
    done = client.get(f"/v1/studies/{study['id']}").json()
    assert len(done["warm_start"]) == 3
    ran = {(t["learner"], json.dumps(t["params"], sort_keys=True)) for t in trials}
    assert all(
        (w["learner"], json.dumps(w["params"], sort_keys=True)) in ran for w in done["warm_start"]
    )


def test_the_warm_start_index_is_taken_once(client: TestClient) -> None:
    task_id = seed_task(client, classification_frame(seed=9), "label")
    study = _create(client, task_id=task_id, n_trials=4, warm_start=3, seed=0)
    item = study["warm_start"][1]
    with _ctx(client).db.session() as session:
        studies = StudyRepository(session)
        assert studies.join(study["id"]) == 0  # running now
        assert studies.take_warm_start(study["id"], index=1, warm_start=[item, item])
        assert not studies.take_warm_start(study["id"], index=1, warm_start=[item])
        assert studies.take_warm_start(study["id"], index=2, warm_start=[item], last=True)
        record = studies.get(study["id"], tenant_id=None)
    assert record is not None and (record.n_warm_enqueued, len(record.warm_start)) == (3, 1)
