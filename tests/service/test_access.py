"""API keys, auth modes, scopes, tenant isolation on every endpoint, and rate limits."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from service_testdata import classification_frame, to_csv
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from service.advisor import Advisor
from service.api.ratelimit import TokenBucketLimiter
from service.app import create_app
from service.cli import app as cli_app
from service.config import Settings
from service.context import ServiceContext
from service.db import TrialRepository
from service.errors import RateLimitedError
from service.operations.access import create_key, hash_key, verify_key

AUTH_ON = {"auth": "required"}


def _ctx(client: TestClient) -> ServiceContext:
    return client.app.state.context  # type: ignore[attr-defined,no-any-return]


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def make_client(
    make_settings: Callable[..., Settings], advisor: Advisor
) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def build(**overrides: Any) -> TestClient:
        client = TestClient(create_app(make_settings(**overrides), advisor=advisor))
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def auth_client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client(**AUTH_ON)


# -- keys ------------------------------------------------------------------------------------------


def test_key_hash_is_salted_and_verifies_only_the_key() -> None:
    first, second = hash_key("ws_0123456789ab_secret"), hash_key("ws_0123456789ab_secret")
    assert first != second and "secret" not in first
    assert verify_key("ws_0123456789ab_secret", first)
    assert not verify_key("ws_0123456789ab_secreT", first)
    assert not verify_key("ws_0123456789ab_secret", "garbage")


def test_database_never_holds_the_key(auth_client: TestClient, database_url: str) -> None:
    created = create_key(_ctx(auth_client), "team-a", ["read"])
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT * FROM ws_api_keys")).all()
    finally:
        engine.dispose()
    dumped = repr(rows)
    assert created.key.startswith("ws_") and created.record.key_id in created.key
    assert created.key not in dumped and created.key.split("_", 2)[2] not in dumped


def test_keys_cli_create_list_revoke(auth_client: TestClient, settings: Settings) -> None:
    env = {"WARMSTART_DATABASE_URL": settings.resolved_database_url}
    runner = CliRunner()
    created = runner.invoke(
        cli_app, ["keys", "create", "--tenant", "team-cli", "--scopes", "read"], env=env
    )
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[0]
    assert auth_client.get("/v1/tasks", headers=_bearer(key)).status_code == 200
    listed = runner.invoke(cli_app, ["keys", "list"], env=env)
    assert listed.exit_code == 0 and "team-cli" in listed.stdout and key not in listed.stdout
    key_id = key[3:15]
    assert key_id in listed.stdout
    revoked = runner.invoke(cli_app, ["keys", "revoke", key_id], env=env)
    assert revoked.exit_code == 0, revoked.output
    response = auth_client.get("/v1/tasks", headers=_bearer(key))
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    after = runner.invoke(cli_app, ["keys", "list"], env=env).stdout
    (line,) = [line for line in after.splitlines() if line.startswith(key_id)]
    assert not line.rstrip().endswith("-")  # the revocation time is shown
    unknown = runner.invoke(cli_app, ["keys", "revoke", "ffffffffffff"], env=env)
    assert unknown.exit_code != 0
    bad_scope = runner.invoke(
        cli_app, ["keys", "create", "--tenant", "x", "--scopes", "root"], env=env
    )
    assert bad_scope.exit_code != 0


# -- auth modes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "auth", "required"),
    [
        ("127.0.0.1", "auto", False),
        ("localhost", "auto", False),
        ("::1", "auto", False),
        ("127.0.0.1", "required", True),
        ("0.0.0.0", "auto", True),
        ("192.168.1.10", "auto", True),
        ("api.example.org", "auto", True),
    ],
)
def test_auth_is_on_unless_loopback(host: str, auth: str, required: bool) -> None:
    assert Settings(host=host, auth=auth).auth_required is required  # type: ignore[arg-type]


def test_loopback_default_needs_no_key(client: TestClient) -> None:
    response = client.post(
        "/v1/datasets", files={"file": ("a.csv", to_csv(classification_frame()))}
    )
    assert response.status_code == 201
    assert client.get(f"/v1/datasets/{response.json()['id']}").status_code == 200


def test_non_loopback_host_requires_a_key(make_client: Callable[..., TestClient]) -> None:
    client = make_client(host="0.0.0.0")
    response = client.get("/v1/tasks")
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert client.get("/v1/health").status_code in (200, 503)  # health stays open


@pytest.mark.parametrize(
    "header",
    [
        "Bearer ws_000000000000_nope",
        "Bearer not-a-key",
        "Bearer ws_",
        "Bearer ws_zzzzzzzzzzzz_x",
    ],
)
def test_invalid_keys_get_401(auth_client: TestClient, header: str) -> None:
    response = auth_client.get("/v1/tasks", headers={"Authorization": header})
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"


def test_wrong_secret_of_a_real_key_id_gets_401(auth_client: TestClient) -> None:
    key = create_key(_ctx(auth_client), "team-a", ["read"]).key
    assert auth_client.get("/v1/tasks", headers=_bearer(key)).status_code == 200
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    assert auth_client.get("/v1/tasks", headers=_bearer(forged)).status_code == 401


def test_a_key_is_checked_on_loopback_too(client: TestClient) -> None:
    response = client.get("/v1/tasks", headers=_bearer("ws_000000000000_nope"))
    assert response.status_code == 401


# -- the route table: every endpoint, its scope and what another tenant sees --------------------


@dataclass
class World:
    client: TestClient
    owner: dict[str, str]
    other: dict[str, str]
    data: bytes
    dataset_id: int
    task_id: int
    study_id: int


def _build_world(client: TestClient) -> World:
    ctx = _ctx(client)
    owner = _bearer(create_key(ctx, "team-a", ["read", "write"]).key)
    other = _bearer(create_key(ctx, "team-b", ["read", "write"]).key)
    data = to_csv(classification_frame(seed=7))
    dataset = client.post("/v1/datasets", files={"file": ("a.csv", data)}, headers=owner)
    assert dataset.status_code == 201, dataset.text
    task = client.post(
        "/v1/tasks", json={"dataset_id": dataset.json()["id"], "target": "label"}, headers=owner
    )
    assert task.status_code == 201, task.text
    study = client.post(
        "/v1/studies",
        json={"task_id": task.json()["id"], "n_trials": 3, "warm_start": 0},
        headers=owner,
    )
    assert study.status_code == 202, study.text
    with ctx.db.session() as session:
        owner_tenant = session.scalar(text("SELECT id FROM ws_tenants WHERE name = 'team-a'"))
        trials = TrialRepository(session)
        trial = trials.start(
            tenant_id=int(owner_tenant),
            study_id=study.json()["id"],
            number=0,
            source="sampler",
            learner="knn",
            params={"n_neighbors": 3},
            worker="test",
        )
        trials.finish(trial.id, state="complete", score=0.9, duration_s=0.1, error=None)
    return World(
        client, owner, other, data, dataset.json()["id"], task.json()["id"], study.json()["id"]
    )


def _same_bytes_get_a_new_dataset(w: World) -> None:
    response = w.client.post("/v1/datasets", files={"file": ("a.csv", w.data)}, headers=w.other)
    assert response.status_code == 201 and response.json()["id"] != w.dataset_id


def _foreign_dataset_task(w: World) -> None:
    body = {"dataset_id": w.dataset_id, "target": "label"}
    assert w.client.post("/v1/tasks", json=body, headers=w.other).status_code == 404


def _empty_task_list(w: World) -> None:
    body = w.client.get("/v1/tasks", headers=w.other).json()
    assert body["count"] == 0 and body["items"] == []
    assert w.client.get("/v1/tasks", headers=w.owner).json()["count"] == 1


def _one_shot_stays_apart(w: World) -> None:
    response = w.client.post(
        "/v1/recommendations",
        files={"file": ("a.csv", w.data)},
        data={"target": "label", "k": "2"},
        headers=w.other,
    )
    assert response.status_code == 200, response.text
    assert response.json()["task_id"] != w.task_id
    assert response.json()["dataset_id"] != w.dataset_id


def _foreign_task_study(w: World) -> None:
    body = {"task_id": w.task_id, "n_trials": 2, "warm_start": 0}
    assert w.client.post("/v1/studies", json=body, headers=w.other).status_code == 404


def _empty_study_list(w: World) -> None:
    for params in ({}, {"task_id": w.task_id}):
        body = w.client.get("/v1/studies", params=params, headers=w.other).json()
        assert body["count"] == 0 and body["items"] == []


def _foreign_cancel(w: World) -> None:
    response = w.client.post(f"/v1/studies/{w.study_id}/cancel", headers=w.other)
    assert response.status_code == 404
    study = w.client.get(f"/v1/studies/{w.study_id}", headers=w.owner).json()
    assert study["status"] == "queued"


def _not_found(method: str, path: str) -> Callable[[World], None]:
    def check(w: World) -> None:
        url = path.format(dataset_id=w.dataset_id, task_id=w.task_id, study_id=w.study_id)
        response = w.client.request(
            method, url, headers=w.other, json={} if method == "POST" else None
        )
        assert response.status_code == 404, (url, response.text)
        assert w.client.request(method, url, headers=w.owner).status_code == 200

    return check


def _public(path: str) -> Callable[[World], None]:
    def check(w: World) -> None:
        mine = w.client.get(path, headers=w.owner)
        theirs = w.client.get(path, headers=w.other)
        assert mine.status_code == theirs.status_code and mine.json() == theirs.json()

    return check


#: (method, path) -> (scope needed, what another tenant gets). Every /v1 route must be here.
ROUTES: dict[tuple[str, str], tuple[str | None, Callable[[World], None]]] = {
    ("POST", "/v1/datasets"): ("write", _same_bytes_get_a_new_dataset),
    ("GET", "/v1/datasets/{dataset_id}"): ("read", _not_found("GET", "/v1/datasets/{dataset_id}")),
    ("POST", "/v1/tasks"): ("write", _foreign_dataset_task),
    ("GET", "/v1/tasks"): ("read", _empty_task_list),
    ("GET", "/v1/tasks/{task_id}"): ("read", _not_found("GET", "/v1/tasks/{task_id}")),
    ("GET", "/v1/tasks/{task_id}/similar"): (
        "read",
        _not_found("GET", "/v1/tasks/{task_id}/similar"),
    ),
    ("POST", "/v1/tasks/{task_id}/recommendations"): (
        "read",
        _not_found("POST", "/v1/tasks/{task_id}/recommendations"),
    ),
    ("POST", "/v1/recommendations"): ("write", _one_shot_stays_apart),
    ("POST", "/v1/studies"): ("write", _foreign_task_study),
    ("GET", "/v1/studies"): ("read", _empty_study_list),
    ("GET", "/v1/studies/{study_id}"): ("read", _not_found("GET", "/v1/studies/{study_id}")),
    ("GET", "/v1/studies/{study_id}/trials"): (
        "read",
        _not_found("GET", "/v1/studies/{study_id}/trials"),
    ),
    ("POST", "/v1/studies/{study_id}/cancel"): ("write", _foreign_cancel),
    ("GET", "/v1/metaknowledge"): ("read", _public("/v1/metaknowledge")),
    ("GET", "/v1/health"): (None, _public("/v1/health")),
}


def test_route_table_covers_every_endpoint(client: TestClient) -> None:
    # The OpenAPI schema is the public list of endpoints: a new one fails here until it is in
    # ROUTES, and so gets its isolation and scope checks below.
    openapi = {
        (method.upper(), path)
        for path, operations in client.get("/openapi.json").json()["paths"].items()
        for method in operations
    }
    assert openapi == set(ROUTES)


@pytest.mark.parametrize("route", sorted(ROUTES), ids=lambda r: f"{r[0]} {r[1]}")
def test_another_tenant_cannot_see_or_touch(
    auth_client: TestClient, route: tuple[str, str]
) -> None:
    ROUTES[route][1](_build_world(auth_client))


@pytest.mark.parametrize("route", sorted(ROUTES), ids=lambda r: f"{r[0]} {r[1]}")
def test_scopes_and_missing_keys(auth_client: TestClient, route: tuple[str, str]) -> None:
    method, path = route
    scope = ROUTES[route][0]
    url = path.format(dataset_id=1, task_id=1, study_id=1)
    anonymous = auth_client.request(method, url)
    if scope is None:
        assert anonymous.status_code != 401
        return
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    missing = {"read": ["write"], "write": ["read"]}[scope]
    key = create_key(_ctx(auth_client), "team-s", missing).key
    response = auth_client.request(method, url, headers=_bearer(key))
    assert response.status_code == 403, response.text
    assert scope in response.json()["detail"]


def test_similar_and_recommendations_use_only_own_history(auth_client: TestClient) -> None:
    w = _build_world(auth_client)
    theirs = w.client.post(
        "/v1/datasets", files={"file": ("a.csv", w.data)}, headers=w.other
    ).json()
    task = w.client.post(
        "/v1/tasks", json={"dataset_id": theirs["id"], "target": "label"}, headers=w.other
    ).json()
    similar = w.client.get(f"/v1/tasks/{task['id']}/similar?k=20", headers=w.other).json()
    assert all(item["source"] == "knowledge_base" for item in similar["items"])
    assert similar["items"], "the public knowledge base is visible to every tenant"
    mine = w.client.get(f"/v1/tasks/{w.task_id}/similar?k=20", headers=w.owner).json()
    assert not any(item.get("task_id") == task["id"] for item in mine["items"])
    ctx = _ctx(auth_client)
    from service.operations.recommendations import observed_on_task
    from service.operations.tasks import get_task_record

    with ctx.db.session() as session:
        b_tenant = int(session.scalar(text("SELECT id FROM ws_tenants WHERE name = 'team-b'")))
        a_tenant = int(session.scalar(text("SELECT id FROM ws_tenants WHERE name = 'team-a'")))
    assert observed_on_task(ctx, get_task_record(ctx, b_tenant, task["id"])) == []
    assert len(observed_on_task(ctx, get_task_record(ctx, a_tenant, w.task_id))) == 1


# -- rate limits -----------------------------------------------------------------------------------


def test_token_bucket_refills() -> None:
    now = [0.0]
    limiter = TokenBucketLimiter(kind="uploads", per_minute=60, burst=2, clock=lambda: now[0])
    limiter.take("k")
    limiter.take("k")
    with pytest.raises(RateLimitedError) as raised:
        limiter.take("k")
    assert raised.value.retry_after_s == 1
    limiter.take("other-key")  # buckets are per key
    now[0] = 1.0
    limiter.take("k")
    TokenBucketLimiter(kind="x", per_minute=0, burst=1).take("k")  # 0 = unlimited


def test_uploads_and_studies_are_rate_limited_per_key(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(auth="required", upload_burst=2, upload_rate_per_minute=1, study_burst=1)
    ctx = _ctx(client)
    first, second = (_bearer(create_key(ctx, "team-r", ["read", "write"]).key) for _ in range(2))
    frames = [to_csv(classification_frame(seed=s)) for s in range(3)]
    for data in frames[:2]:
        assert client.post(
            "/v1/datasets", files={"file": ("a.csv", data)}, headers=first
        ).is_success
    limited = client.post("/v1/datasets", files={"file": ("a.csv", frames[2])}, headers=first)
    assert limited.status_code == 429, limited.text
    assert int(limited.headers["retry-after"]) >= 1
    one_shot = client.post(
        "/v1/recommendations",
        files={"file": ("a.csv", frames[2])},
        data={"target": "label"},
        headers=first,
    )
    assert one_shot.status_code == 429
    assert client.post(
        "/v1/datasets", files={"file": ("a.csv", frames[2])}, headers=second
    ).is_success
    dataset_id = client.get("/v1/tasks", headers=first)  # reads are never limited
    assert dataset_id.status_code == 200
    data_id = client.post(
        "/v1/datasets", files={"file": ("a.csv", io.BytesIO(frames[2]))}, headers=second
    ).json()["id"]
    task = client.post(
        "/v1/tasks", json={"dataset_id": data_id, "target": "label"}, headers=second
    ).json()
    body = {"task_id": task["id"], "n_trials": 1, "warm_start": 0}
    assert client.post("/v1/studies", json=body, headers=second).status_code == 202
    again = client.post("/v1/studies", json=body, headers=second)
    assert again.status_code == 429 and "Retry-After" in again.headers
