"""POST/GET /v1/tasks with real profiling, bad targets, and the one-shot /v1/recommendations."""

from __future__ import annotations

import gc
import io
from collections.abc import Callable

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from service_testdata import (
    FAST_LEARNERS,
    classification_frame,
    regression_frame,
    to_csv,
    upload,
)

from service.advisor import Advisor
from service.app import create_app
from service.config import Settings
from service.runner import Worker


def _task(client: TestClient, dataset_id: int, target: str, **extra: object):
    return client.post("/v1/tasks", json={"dataset_id": dataset_id, "target": target, **extra})


def test_create_task_infers_classification_and_profiles(client: TestClient) -> None:
    dataset = upload(client, to_csv(classification_frame()))
    response = _task(client, dataset["id"], "label")
    assert response.status_code == 201, response.text
    task = response.json()
    assert (task["task_type"], task["metric"], task["target"]) == (
        "classification",
        "balanced_accuracy",
        "label",
    )
    assert task["metafeatures"]["NumberOfInstances"] == 60
    assert task["metafeatures"]["NumberOfClasses"] == 2
    again = _task(client, dataset["id"], "label")
    assert again.status_code == 200 and again.json()["id"] == task["id"]
    assert client.get(f"/v1/tasks/{task['id']}").json() == task
    listed = client.get("/v1/tasks").json()
    assert listed["count"] == 1 and listed["items"][0]["id"] == task["id"]


def test_regression_is_inferred_and_metrics_are_checked(client: TestClient) -> None:
    dataset = upload(client, to_csv(regression_frame()))
    task = _task(client, dataset["id"], "price").json()
    assert (task["task_type"], task["metric"]) == ("regression", "r2")
    assert _task(client, dataset["id"], "price", metric="rmse").json()["metric"] == "rmse"
    response = _task(client, dataset["id"], "price", metric="accuracy")
    assert response.status_code == 422 and "regression" in response.json()["detail"]
    response = _task(client, dataset["id"], "price", metric="nope")
    assert response.status_code == 422 and "unknown metric" in response.json()["detail"]
    response = _task(client, dataset["id"], "price", task_type="clustering")
    assert response.status_code == 422


def _frame_with(column: str, values: list[object]) -> bytes:
    frame = classification_frame(n_rows=len(values))
    frame[column] = values
    return to_csv(frame)


BAD_TARGETS = [
    pytest.param("missing_column", None, "not in the dataset", id="unknown-target"),
    pytest.param("label", ["same"] * 30, "one class", id="one-class"),
    pytest.param("label", [None] * 30, "only missing", id="all-missing-target"),
    pytest.param("label", ["a"] * 29 + ["b"], "fewer than 2", id="singleton-class"),
]


@pytest.mark.parametrize(("target", "values", "words"), BAD_TARGETS)
def test_bad_targets_are_422(
    client: TestClient, target: str, values: list[object] | None, words: str
) -> None:
    data = (
        to_csv(classification_frame(n_rows=30)) if values is None else _frame_with("label", values)
    )
    dataset = upload(client, data)
    response = _task(client, dataset["id"], target)
    assert response.status_code == 422, response.text
    assert words in response.json()["detail"]
    assert client.get("/v1/tasks").json()["count"] == 0


def test_all_missing_feature_column_is_fine_for_tasks_and_studies(client: TestClient) -> None:
    frame = classification_frame(n_rows=40, seed=3)
    frame.insert(0, "empty", [None] * 40)
    dataset = upload(client, to_csv(frame))
    task = _task(client, dataset["id"], "label")
    assert task.status_code == 201, task.text
    study = client.post(
        "/v1/studies",
        json={
            "task_id": task.json()["id"],
            "n_trials": 3,
            "warm_start": 2,
            "learners": FAST_LEARNERS,
        },
    ).json()
    Worker(client.app.state.context).run(exit_when_idle=True)  # type: ignore[attr-defined]
    done = client.get(f"/v1/studies/{study['id']}").json()
    assert done["status"] == "succeeded" and done["n_complete"] == 3


def test_only_missing_features_is_422(client: TestClient) -> None:
    frame = pd.DataFrame({"a": [None] * 10, "b": [None] * 10, "y": ["x", "z"] * 5})
    dataset = upload(client, to_csv(frame))
    response = _task(client, dataset["id"], "y")
    assert response.status_code == 422 and "feature" in response.json()["detail"]


def test_unknown_dataset_and_task_are_404(client: TestClient) -> None:
    assert _task(client, 999, "y").status_code == 404
    assert client.get("/v1/tasks/999").status_code == 404


def test_one_shot_recommendations_from_an_upload(client: TestClient) -> None:
    data = to_csv(classification_frame(seed=8))
    response = client.post(
        "/v1/recommendations",
        files={"file": ("ci.csv", io.BytesIO(data))},
        data={"target": "label", "k": "3"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["items"]) == 3 and body["task_id"] and body["dataset_id"]
    again = client.post(
        "/v1/recommendations",
        files={"file": ("ci.csv", io.BytesIO(data))},
        data={"target": "label", "k": "3"},
    ).json()
    assert again == body  # same dataset, same task, same answer
    bad = client.post(
        "/v1/recommendations",
        files={"file": ("ci.csv", io.BytesIO(data))},
        data={"target": "nope"},
    )
    assert bad.status_code == 422 and "nope" in bad.json()["detail"]
    empty = client.post(
        "/v1/recommendations", files={"file": ("e.csv", io.BytesIO(b""))}, data={"target": "y"}
    )
    assert empty.status_code == 400


def test_app_freezes_gc_after_start_up_when_asked(
    make_settings: Callable[..., Settings], advisor: Advisor
) -> None:
    gc.unfreeze()
    try:
        with TestClient(create_app(make_settings(freeze_gc=True), advisor=advisor)):
            assert gc.get_freeze_count() > 0
        gc.unfreeze()
        with TestClient(create_app(make_settings(freeze_gc=False), advisor=advisor)):
            assert gc.get_freeze_count() == 0
    finally:
        gc.unfreeze()
