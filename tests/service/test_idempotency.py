"""``Idempotency-Key`` on create requests: a retry gets the first response, nothing twice."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from fastapi.testclient import TestClient
from service_testdata import classification_frame, to_csv
from sqlalchemy import create_engine, func, select

from service.advisor import Advisor
from service.api.idempotency import REPLAYED_HEADER
from service.app import create_app
from service.config import Settings
from service.db.models import DatasetRow, IdempotencyKeyRow, StudyRow, TaskRow
from service.operations import idempotency
from service.operations.access import create_key


def _count(url: str, row: type) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(row)) or 0)
    finally:
        engine.dispose()


def _key(name: str) -> dict[str, str]:
    return {"Idempotency-Key": name}


def _task(client: TestClient, seed: int = 0) -> int:
    data = to_csv(classification_frame(seed=seed))
    dataset = client.post("/v1/datasets", files={"file": ("a.csv", data)}).json()
    task = client.post("/v1/tasks", json={"dataset_id": dataset["id"], "target": "label"})
    return int(task.json()["id"])


def test_retried_study_creation_creates_one_study(client: TestClient, database_url: str) -> None:
    body = {"task_id": _task(client), "n_trials": 2, "warm_start": 0}
    first = client.post("/v1/studies", json=body, headers=_key("study-1"))
    retry = client.post("/v1/studies", json=dict(reversed(body.items())), headers=_key("study-1"))
    assert (first.status_code, retry.status_code) == (202, 202)
    assert retry.json() == first.json() and retry.headers[REPLAYED_HEADER] == "true"
    assert REPLAYED_HEADER not in first.headers
    assert _count(database_url, StudyRow) == 1
    other = client.post("/v1/studies", json=body, headers=_key("study-2"))
    assert other.json()["id"] != first.json()["id"]  # a new key is a new request
    assert client.post("/v1/studies", json=body).json()["id"] not in (first.json()["id"],)


def test_same_key_with_another_body_is_refused(client: TestClient, database_url: str) -> None:
    task_id = _task(client)
    body = {"task_id": task_id, "n_trials": 2, "warm_start": 0}
    assert client.post("/v1/studies", json=body, headers=_key("k")).status_code == 202
    changed = client.post("/v1/studies", json={**body, "n_trials": 3}, headers=_key("k"))
    assert changed.status_code == 422 and "Idempotency-Key" in changed.json()["detail"]
    elsewhere = client.post(
        "/v1/tasks", json={"dataset_id": 1, "target": "label"}, headers=_key("k")
    )
    assert elsewhere.status_code == 422  # the key names one request, not one body per endpoint
    assert _count(database_url, StudyRow) == 1


def test_retried_upload_with_a_new_multipart_boundary_replays(
    client: TestClient, database_url: str
) -> None:
    data = to_csv(classification_frame(seed=3))
    first = client.post("/v1/datasets", files={"file": ("a.csv", data)}, headers=_key("up"))
    retry = client.post("/v1/datasets", files={"file": ("a.csv", data)}, headers=_key("up"))
    assert first.status_code == retry.status_code == 201  # the original status, not 200
    assert retry.json() == first.json() and retry.headers[REPLAYED_HEADER] == "true"
    other = to_csv(classification_frame(seed=4))
    refused = client.post("/v1/datasets", files={"file": ("a.csv", other)}, headers=_key("up"))
    assert refused.status_code == 422
    assert _count(database_url, DatasetRow) == 1


def test_tasks_and_one_shot_recommendations_replay(client: TestClient, database_url: str) -> None:
    data = to_csv(classification_frame(seed=5))
    form = {"target": "label", "k": "2"}
    first = client.post(
        "/v1/recommendations", files={"file": ("a.csv", data)}, data=form, headers=_key("r")
    )
    retry = client.post(
        "/v1/recommendations", files={"file": ("a.csv", data)}, data=form, headers=_key("r")
    )
    assert first.status_code == 200, first.text
    assert retry.json() == first.json() and retry.headers[REPLAYED_HEADER] == "true"
    task = {"dataset_id": first.json()["dataset_id"], "target": "f1", "task_type": "regression"}
    created = client.post("/v1/tasks", json=task, headers=_key("t"))
    again = client.post("/v1/tasks", json=task, headers=_key("t"))
    assert created.status_code == again.status_code == 201
    assert _count(database_url, TaskRow) == 2 and _count(database_url, DatasetRow) == 1


def test_failed_requests_are_not_remembered(client: TestClient, database_url: str) -> None:
    body = {"task_id": 999, "n_trials": 2, "warm_start": 0}
    assert client.post("/v1/studies", json=body, headers=_key("f")).status_code == 404
    assert _count(database_url, IdempotencyKeyRow) == 0
    fixed = {"task_id": _task(client), "n_trials": 2, "warm_start": 0}
    assert client.post("/v1/studies", json=fixed, headers=_key("f")).status_code == 202


def test_keys_survive_a_restart_and_are_per_tenant(
    make_settings: Callable[..., Settings], advisor: Advisor, database_url: str
) -> None:
    settings = make_settings(auth="required")
    with TestClient(create_app(settings, advisor=advisor)) as client:
        ctx = client.app.state.context  # type: ignore[attr-defined]
        a = {"Authorization": f"Bearer {create_key(ctx, 'team-a', ['read', 'write']).key}"}
        b = {"Authorization": f"Bearer {create_key(ctx, 'team-b', ['read', 'write']).key}"}
        data = to_csv(classification_frame(seed=6))
        first = client.post("/v1/datasets", files={"file": ("a.csv", data)}, headers=a | _key("x"))
        assert first.status_code == 201
        theirs = client.post("/v1/datasets", files={"file": ("a.csv", data)}, headers=b | _key("x"))
        assert theirs.status_code == 201 and REPLAYED_HEADER not in theirs.headers
        assert theirs.json()["id"] != first.json()["id"]
    with TestClient(create_app(settings, advisor=advisor)) as restarted:
        retry = restarted.post(
            "/v1/datasets", files={"file": ("a.csv", data)}, headers=a | _key("x")
        )
        assert retry.json() == first.json() and retry.headers[REPLAYED_HEADER] == "true"
    assert _count(database_url, DatasetRow) == 2


def test_an_in_flight_key_answers_409(client: TestClient) -> None:
    ctx = client.app.state.context  # type: ignore[attr-defined]
    body = {"task_id": _task(client), "n_trials": 2, "warm_start": 0}
    # Reserve the key as a concurrent first request would (same fingerprint as the API's).
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    fingerprint = hashlib.sha256(b"POST /v1/studies?\n" + canonical).hexdigest()
    assert isinstance(idempotency.begin(ctx, ctx.local_tenant_id, "busy", fingerprint), int)
    response = client.post("/v1/studies", json=body, headers=_key("busy"))
    assert response.status_code == 409 and "still being handled" in response.json()["detail"]
