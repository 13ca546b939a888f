"""Regression tasks served by the bundled regression knowledge base: recommendations, similar
datasets and warm-started studies (real app, real workers, real Optuna)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from service_testdata import regression_frame, seed_task

from metaknowledge import load_knowledge_base, validate_params
from metaknowledge.metamodel import MetaModel
from service.advisor import Advisor
from service.config import Settings
from service.context import ServiceContext
from service.runner import Worker

REGRESSION_LEARNERS = ["decision_tree", "knn", "ridge"]


@pytest.fixture(scope="module")
def regression_advisor() -> Advisor:
    kb = load_knowledge_base(task_type="regression")
    return Advisor(kb, MetaModel(random_state=0).fit(kb))


@pytest.fixture
def regression_client(client: TestClient, regression_advisor: Advisor) -> TestClient:
    """The app serving the tiny classification model and the bundled regression one."""
    client.app.state.context.set_advisor(regression_advisor)  # type: ignore[attr-defined]
    return client


def test_regression_tasks_get_regression_recommendations(
    regression_client: TestClient, regression_advisor: Advisor
) -> None:
    task_id = seed_task(
        regression_client, regression_frame(), "price", task_type="regression", metric="r2"
    )
    response = regression_client.post(f"/v1/tasks/{task_id}/recommendations", json={"k": 4})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["metamodel_version"] == regression_advisor.version
    assert body["metamodel_version"].startswith("regression-")
    assert len(body["items"]) == 4
    for item in body["items"]:
        point = validate_params(item["learner"], item["params"], task_type="regression")
        assert point == item["params"] and item["config_id"].startswith("autosklearn:")
        assert item["evidence"] and all(e["dataset_id"] < 0 for e in item["evidence"])
    similar = regression_client.get(f"/v1/tasks/{task_id}/similar", params={"k": 3})
    assert similar.status_code == 200, similar.text
    kb_items = [i for i in similar.json()["items"] if i["source"] == "knowledge_base"]
    assert kb_items and all(i["best"]["learner"] for i in kb_items)


def test_a_regression_study_is_warm_started_from_the_regression_knowledge(
    regression_client: TestClient,
) -> None:
    task_id = seed_task(
        regression_client, regression_frame(seed=2), "price", task_type="regression", metric="r2"
    )
    response = regression_client.post(
        "/v1/studies",
        json={"task_id": task_id, "n_trials": 3, "learners": REGRESSION_LEARNERS, "seed": 1},
    )
    assert response.status_code == 202, response.text
    study = response.json()
    assert len(study["warm_start"]) == 3 and study["metamodel_version"].startswith("regression-")
    assert {w["learner"] for w in study["warm_start"]} <= set(REGRESSION_LEARNERS)
    ctx: ServiceContext = regression_client.app.state.context  # type: ignore[attr-defined]
    Worker(ctx, name="test-worker").run(exit_when_idle=True)
    done = regression_client.get(f"/v1/studies/{study['id']}").json()
    assert done["status"] == "succeeded" and done["n_complete"] == 3
    trials = regression_client.get(f"/v1/studies/{study['id']}/trials").json()["items"]
    assert [t["source"] for t in trials] == ["warm_start"] * 3
    for trial, recommended in zip(trials, study["warm_start"], strict=True):
        assert (trial["learner"], trial["params"]) == (
            recommended["learner"],
            recommended["params"],
        )
    # The measured trials now steer the next recommendations (same metric as the knowledge base).
    after = regression_client.post(f"/v1/tasks/{task_id}/recommendations", json={"k": 3})
    tried = {(w["learner"], str(w["params"])) for w in study["warm_start"]}
    assert all((i["learner"], str(i["params"])) not in tried for i in after.json()["items"])


def test_the_service_loads_both_bundled_knowledge_bases(settings: Settings) -> None:
    ctx = ServiceContext(settings)
    try:
        ctx.load_advisor()
        tenant = ctx.local_tenant_id
        regression = ctx.advisor_for(tenant, "regression")
        classification = ctx.advisor_for(tenant, "classification")
        assert regression.covers("regression") and regression.kb.metric == "r2"
        assert classification.covers("classification") and ctx.advisor is classification
    finally:
        ctx.close()
