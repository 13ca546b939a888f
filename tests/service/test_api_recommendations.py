"""Recommendations, similar problems, /metaknowledge and /health with the real app."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from service_testdata import (
    FAST_LEARNERS,
    classification_frame,
    regression_frame,
    seed_task,
)
from sqlalchemy.engine import make_url

from service.advisor import Advisor
from service.app import create_app
from service.config import Settings
from service.errors import DatabaseNotReadyError
from service.runner import Worker


def test_recommendations_for_a_task(client: TestClient, advisor: Advisor) -> None:
    task_id = seed_task(client, classification_frame(), "label")
    response = client.post(f"/v1/tasks/{task_id}/recommendations", json={"k": 3})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["metamodel_version"] == advisor.version and body["task_id"] == task_id
    assert [item["rank"] for item in body["items"]] == [1, 2, 3]
    assert len({(i["learner"], str(i["params"])) for i in body["items"]}) == 3
    first = body["items"][0]
    assert first["evidence"] and {"dataset_id", "name", "similarity", "score"} <= set(
        first["evidence"][0]
    )
    # Same request, same answer (deterministic meta-model); the default body works too.
    assert client.post(f"/v1/tasks/{task_id}/recommendations", json={"k": 3}).json() == body
    assert len(client.post(f"/v1/tasks/{task_id}/recommendations").json()["items"]) == 5


def test_recommendations_respect_learners_and_reject_unknown_ones(client: TestClient) -> None:
    task_id = seed_task(client, classification_frame(seed=1), "label")
    body = client.post(
        f"/v1/tasks/{task_id}/recommendations", json={"k": 4, "learners": ["knn"]}
    ).json()
    assert body["items"] and {i["learner"] for i in body["items"]} == {"knn"}
    response = client.post(
        f"/v1/tasks/{task_id}/recommendations", json={"k": 2, "learners": ["nope"]}
    )
    assert response.status_code == 422 and "nope" in response.json()["detail"]
    assert client.post(f"/v1/tasks/{task_id}/recommendations", json={"k": 0}).status_code == 422
    assert client.post("/v1/tasks/999/recommendations", json={"k": 1}).status_code == 404


def test_recommendations_learn_from_the_task_history(client: TestClient) -> None:
    task_id = seed_task(client, classification_frame(seed=2), "label")
    before = client.post(f"/v1/tasks/{task_id}/recommendations", json={"k": 8}).json()["items"]
    study = client.post(
        "/v1/studies",
        json={"task_id": task_id, "n_trials": 2, "warm_start": 2, "learners": FAST_LEARNERS},
    ).json()
    Worker(client.app.state.context).run(exit_when_idle=True)  # type: ignore[attr-defined]
    tried = [(w["learner"], w["params"]) for w in study["warm_start"]]
    after = client.post(f"/v1/tasks/{task_id}/recommendations", json={"k": 8}).json()["items"]
    assert all((i["learner"], i["params"]) not in tried for i in after)
    assert len(after) < len(before) or after != before


def test_regression_tasks_get_409_from_a_classification_knowledge_base(
    client: TestClient,
) -> None:
    task_id = seed_task(client, regression_frame(), "price", task_type="regression", metric="r2")
    response = client.post(f"/v1/tasks/{task_id}/recommendations", json={"k": 2})
    assert response.status_code == 409 and "classification" in response.json()["detail"]


def test_similar_ranks_service_tasks_and_knowledge_base_datasets(client: TestClient) -> None:
    first = seed_task(client, classification_frame(seed=3), "label")
    second = seed_task(client, classification_frame(seed=4), "label")
    client.post(
        "/v1/studies",
        json={"task_id": second, "n_trials": 1, "warm_start": 0, "learners": ["gaussian_nb"]},
    )
    Worker(client.app.state.context).run(exit_when_idle=True)  # type: ignore[attr-defined]

    response = client.get(f"/v1/tasks/{first}/similar", params={"k": 4})
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert len(items) == 4
    distances = [i["distance"] for i in items]
    assert distances == sorted(distances)
    service = [i for i in items if i["source"] == "service"]
    assert service and service[0]["task_id"] == second and service[0]["distance"] == 0.0
    assert service[0]["best"]["learner"] == "gaussian_nb"
    kb = [i for i in items if i["source"] == "knowledge_base"]
    assert kb and all(i["name"].startswith("kb-dataset-") and i["best"] for i in kb)
    assert client.get(f"/v1/tasks/{first}/similar", params={"k": 0}).status_code == 422
    assert client.get("/v1/tasks/999/similar").status_code == 404


def test_metaknowledge_describes_the_knowledge_base(client: TestClient, advisor: Advisor) -> None:
    body = client.get("/v1/metaknowledge").json()
    assert body["version"] == "test-kb-1" and body["metamodel_version"] == advisor.version
    assert body["n_datasets"] == 8 and body["n_configs"] == 8 and "sources" in body


def test_health_ok(client: TestClient) -> None:
    response = client.get("/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] is True
    assert body["migrations"]["at_head"] is True and body["metamodel"]["loaded"] is True


def test_without_a_meta_model_health_is_503_and_recommendations_say_why(
    settings: Settings,
) -> None:
    with TestClient(create_app(settings, load_metamodel=False)) as client:
        health = client.get("/v1/health")
        assert health.status_code == 503 and health.json()["status"] == "degraded"
        task_id = seed_task(client, classification_frame(seed=5), "label")
        response = client.post(f"/v1/tasks/{task_id}/recommendations", json={"k": 1})
        assert response.status_code == 503 and "meta-model" in response.json()["detail"]
        assert client.get("/v1/metaknowledge").status_code == 503
        # Cold-start studies still work without a meta-model.
        study = client.post("/v1/studies", json={"task_id": task_id, "n_trials": 1})
        assert study.status_code == 202 and study.json()["warm_start"] == []


def test_server_refuses_an_unmigrated_postgres_and_migrates_embedded_sqlite(
    empty_database_url: str, make_settings: Callable[..., Settings], advisor: Advisor
) -> None:
    app = create_app(make_settings(database_url=empty_database_url), advisor=advisor)
    if make_url(empty_database_url).get_backend_name() == "postgresql":
        with pytest.raises(DatabaseNotReadyError, match="warmstart db upgrade"), TestClient(app):
            pass
    else:
        with TestClient(app) as client:
            assert client.get("/v1/health").json()["migrations"]["at_head"] is True


def test_failed_trials_inform_recommendations_but_lost_workers_do_not(
    client: TestClient,
) -> None:
    """A configuration that failed on the task (the time limit, the learner's own error) is
    not proposed again; one whose worker was lost (stale) is no evidence against it."""
    from service.db import StudyRepository, TrialRepository
    from service.operations.recommendations import observed_on_task
    from service.operations.tasks import get_task_record

    task_id = seed_task(client, classification_frame(seed=5), "label")
    before = client.post(f"/v1/tasks/{task_id}/recommendations", json={"k": 6}).json()["items"]
    timed_out = before[0]
    lost = next(i for i in before if i["learner"] != timed_out["learner"])
    study = client.post(
        "/v1/studies", json={"task_id": task_id, "n_trials": 2, "warm_start": 0}
    ).json()
    ctx = client.app.state.context  # type: ignore[attr-defined]
    errors = [
        (timed_out, "TimeoutError: exceeded the per-trial limit of 1 s"),
        (lost, "StaleTrialError: no heartbeat for over 60 s (w:1 was killed or lost)"),
    ]
    with ctx.db.session() as session:
        tenant_id = StudyRepository(session).get(study["id"], tenant_id=None).tenant_id
        trials = TrialRepository(session)
        for number, (item, error) in enumerate(errors):
            row = trials.start(
                tenant_id=tenant_id,
                study_id=study["id"],
                number=number,
                source="sampler",
                learner=item["learner"],
                params=item["params"],
                worker="w:1",
            )
            trials.finish_running(row.id, state="failed", score=None, duration_s=1.0, error=error)

    observed = observed_on_task(ctx, get_task_record(ctx, tenant_id, task_id))
    assert len(observed) == 1, observed
    ((config, score),) = observed
    assert config == {"learner": timed_out["learner"], "params": timed_out["params"]}
    assert score != score  # NaN: the meta-model's "failed"
    after = client.post(f"/v1/tasks/{task_id}/recommendations", json={"k": 6}).json()["items"]
    configs = [(i["learner"], i["params"]) for i in after]
    assert (timed_out["learner"], timed_out["params"]) not in configs
    assert (lost["learner"], lost["params"]) in configs  # another learner: not ruled out
