"""PostgreSQL stopped and started under traffic: 503 with a clear message while it is down, recovery
by itself after, no half-written rows, and workers that wait instead of dying.

The real thing: a private PostgreSQL cluster (never the shared server other tests use), a
``warmstart serve`` and a ``warmstart worker`` process on it, client threads sending reads,
recommendations, uploads and study creations, then ``pg_ctl stop -m fast`` (open transactions are
rolled back, clients cut off) and ``pg_ctl start``. The first tests check the translation table
itself, without any server.
"""

from __future__ import annotations

import io
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import numpy as np
import optuna
import pytest
import sqlalchemy as sa
from service_processes import (
    PrivateCluster,
    ServiceProcess,
    free_port,
    reap,
    service_env,
    start_server,
)
from service_testdata import classification_frame, to_csv
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from service.api.errors import DATABASE_UNAVAILABLE, status_for
from service.errors import NotFoundError

# -- the table -------------------------------------------------------------------------------------


def _operational(orig: Exception) -> OperationalError:
    return OperationalError("SELECT 1", {}, orig)


def test_connection_errors_map_to_503_and_other_database_errors_stay_bugs() -> None:
    import psycopg

    refused = _operational(psycopg.OperationalError("connection refused"))
    assert status_for(refused) == 503
    try:  # Optuna re-raises storage errors as its own, from the original
        raise optuna.exceptions.StorageInternalError("commit failed") from refused
    except optuna.exceptions.StorageInternalError as wrapped:
        assert status_for(wrapped) == 503
    locked = _operational(sqlite3.OperationalError("database is locked"))
    assert status_for(locked) == 503
    no_table = _operational(sqlite3.OperationalError("no such table: ws_x"))
    assert status_for(no_table) == 500
    assert status_for(ProgrammingError("SELECT x", {}, Exception("syntax"))) == 500
    assert status_for(IntegrityError("INSERT", {}, Exception("unique"))) == 500
    assert status_for(NotFoundError("study 3 not found")) == 404


# -- the outage ------------------------------------------------------------------------------------

SETTINGS = {
    "cv_folds": 3,
    "trial_timeout_s": 0,
    "worker_poll_s": 0.2,
    "heartbeat_interval_s": 1,
    "stale_grace_s": 3,
    "log_level": "info",
}
N_TRIALS = 8
HEALTHY_S = 2.0
DOWN_S = 4.0
RECOVERY_LIMIT_S = 20.0


@dataclass
class Call:
    kind: str
    started: float
    ended: float
    status: int | None  # None: no HTTP answer at all
    body: Any
    retry_after: str | None
    request: dict[str, Any]


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    if not PrivateCluster.available():
        pytest.skip("needs initdb and pg_ctl (PostgreSQL server binaries)")
    private = PrivateCluster()
    try:
        private.start()
        yield private
    finally:
        private.destroy()


@pytest.fixture
def processes() -> Iterator[list[ServiceProcess]]:
    started: list[ServiceProcess] = []
    yield started
    reap(started)


class Traffic:
    """Client threads sending a mix of requests until stopped; every answer is kept."""

    def __init__(self, url: str, task_id: int, study_id: int) -> None:
        self.url = url
        self.task_id = task_id
        self.study_id = study_id
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._loop, args=(kind, pause), daemon=True)
            for kind, pause in [
                ("study.get", 0.02),
                ("tasks.list", 0.02),
                ("recommend", 0.02),
                ("dataset.upload", 0.05),
                ("study.create", 0.4),
            ]
        ]

    def request(self, kind: str, seq: int) -> dict[str, Any]:
        """The request of ``kind`` number ``seq`` (creates carry an Idempotency-Key)."""
        key = f"{kind}-{seq}-{uuid.uuid4().hex[:8]}"
        if kind == "study.get":
            return {"method": "GET", "path": f"/studies/{self.study_id}"}
        if kind == "tasks.list":
            return {"method": "GET", "path": "/tasks"}
        if kind == "recommend":
            return {"method": "POST", "path": f"/tasks/{self.task_id}/recommendations", "json": {}}
        if kind == "dataset.upload":
            rng = np.random.default_rng(seq)
            csv = "a,b,label\n" + "".join(
                f"{x:.6f},{y:.6f},{'yes' if x > y else 'no'}\n" for x, y in rng.normal(size=(20, 2))
            )
            return {"method": "POST", "path": "/datasets", "csv": csv, "key": key}
        body = {"task_id": self.task_id, "n_trials": 1, "warm_start": 1, "seed": seq}
        return {"method": "POST", "path": "/studies", "json": body, "key": key}

    def send(self, client: httpx2.Client, request: dict[str, Any]) -> httpx2.Response:
        headers = {"Idempotency-Key": request["key"]} if "key" in request else {}
        files = None
        if "csv" in request:
            files = {"file": ("t.csv", io.BytesIO(request["csv"].encode()))}
        return client.request(
            request["method"],
            request["path"],
            json=request.get("json"),
            files=files,
            headers=headers,
        )

    def _loop(self, kind: str, pause: float) -> None:
        with httpx2.Client(base_url=f"{self.url}/v1", timeout=30) as client:
            seq = 0
            while not self._stop.is_set():
                seq += 1
                request = self.request(kind, seq)
                started = time.monotonic()
                try:
                    response = self.send(client, request)
                    status, retry_after = response.status_code, response.headers.get("Retry-After")
                    try:
                        body = response.json()
                    except ValueError:
                        body = response.text
                except httpx2.HTTPError as e:
                    status, retry_after, body = None, None, repr(e)
                call = Call(kind, started, time.monotonic(), status, body, retry_after, request)
                with self._lock:
                    self.calls.append(call)
                self._stop.wait(pause)

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def snapshot(self) -> list[Call]:
        with self._lock:
            return list(self.calls)


def _wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout_s} s")


def _ok(call: Call) -> bool:
    return call.status is not None and 200 <= call.status < 300


@pytest.mark.postgres
@pytest.mark.slow
def test_requests_get_503_while_postgres_is_down_and_everything_recovers_by_itself(
    cluster: PrivateCluster,
    tmp_path: Path,
    processes: list[ServiceProcess],
    record_property: Callable[[str, object], None],
) -> None:
    from service.db.migrate import upgrade

    database_url = cluster.create_database("warmstart")
    upgrade(database_url)
    home = tmp_path / "home"
    env = service_env(home, database_url, **SETTINGS)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    worker = ServiceProcess(["worker"], env, tmp_path / "worker.log")
    processes.append(worker)
    server = start_server(env, port, tmp_path / "serve.log", workers=0)
    processes.append(server)

    api = httpx2.Client(base_url=f"{url}/v1", timeout=60)
    dataset = api.post(
        "/datasets", files={"file": ("main.csv", to_csv(classification_frame(200, seed=9)))}
    ).json()
    task = api.post("/tasks", json={"dataset_id": dataset["id"], "target": "label"}).json()
    study = api.post(
        "/studies", json={"task_id": task["id"], "n_trials": N_TRIALS, "warm_start": 2, "seed": 1}
    ).json()

    traffic = Traffic(url, task["id"], study["id"])
    traffic.start()
    try:
        time.sleep(HEALTHY_S)
        cluster.stop("fast")
        down_from = time.monotonic()
        time.sleep(DOWN_S / 2)
        health = api.get("/health")
        assert health.status_code == 503 and health.json()["database"] is False
        time.sleep(DOWN_S / 2)
        down_until = time.monotonic()
        cluster.start()
        up_at = time.monotonic()
        kinds = {c.kind for c in traffic.snapshot()}

        def recovered() -> bool:
            calls = traffic.snapshot()
            return all(
                any(_ok(c) and c.started >= up_at for c in calls if c.kind == k) for k in kinds
            )

        _wait_until(recovered, RECOVERY_LIMIT_S, "every kind of request succeeding again")
        time.sleep(1.0)  # keep the traffic going on the recovered database for a moment
    finally:
        traffic.stop()
    calls = traffic.snapshot()

    # Never a 500 (nor a dropped connection): 2xx, or 503 with the clear message.
    assert all(c.status is not None for c in calls), [c.body for c in calls if c.status is None]
    unexpected = [(c.kind, c.status, c.body) for c in calls if not _ok(c) and c.status != 503]
    assert unexpected == []
    refused = [c for c in calls if c.status == 503]
    assert all(c.body == {"detail": DATABASE_UNAVAILABLE} for c in refused), refused[:3]
    assert all(c.retry_after is not None and int(c.retry_after) > 0 for c in refused)
    # While it was down, every request was refused so (and every kind was tried).
    during = [c for c in calls if c.started >= down_from and c.ended <= down_until]
    assert {c.kind for c in during} == kinds
    assert all(c.status == 503 for c in during), [(c.kind, c.status) for c in during if _ok(c)]
    # After it came back: each kind recovered by itself, and from then on nothing failed.
    first_ok = {
        k: min(c.ended for c in calls if c.kind == k and _ok(c) and c.started >= up_at)
        for k in kinds
    }
    all_back = max(first_ok.values())
    assert [c.kind for c in calls if c.started >= all_back and not _ok(c)] == []
    assert server.alive() and worker.alive(), worker.tail()

    # Creates refused during the outage succeed when retried with their key; the ones that
    # succeeded are replayed, not repeated.
    creates = [c for c in calls if "key" in c.request]
    with httpx2.Client(base_url=f"{url}/v1", timeout=60) as client:
        for c in creates:
            again = traffic.send(client, c.request)
            assert again.is_success, (c.kind, again.status_code, again.text)
            if _ok(c):
                assert again.headers.get("Idempotent-Replayed") == "true"
                assert again.json()["id"] == c.body["id"]

    # The worker waited the outage out: every study ends with all its trials.
    def all_finished() -> bool:
        items = api.get("/studies", params={"limit": 1000}).json()["items"]
        return all(s["status"] not in ("queued", "running") for s in items)

    _wait_until(all_finished, 120, "every study finished")
    studies = api.get("/studies", params={"limit": 1000}).json()["items"]
    assert [
        s for s in studies if s["status"] != "succeeded" or s["n_complete"] != s["n_trials"]
    ] == []
    assert worker.alive(), worker.tail()

    deadline = time.monotonic() + 30  # workers delete cut-off Optuna studies after 2 x grace
    while True:
        try:
            _assert_no_half_written_rows(database_url, home / "uploads")
            break
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    record_property("outage_s", round(down_until - down_from, 2))
    record_property("requests", len(calls))
    record_property("answered_503", len(refused))
    record_property("answered_5xx_other", 0)
    record_property("recovery_s", round(all_back - up_at, 2))
    record_property("studies", len(studies))


def _assert_no_half_written_rows(database_url: str, uploads: Path) -> None:
    """Every row is whole: datasets have their file (and no file lacks a row), studies their
    Optuna study (and none the other way round), trials agree with Optuna's, and no
    Idempotency-Key is left reserved by a request that never finished."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            datasets = connection.execute(sa.text("SELECT sha256, file_format FROM ws_datasets"))
            expected_files = {f"{sha}.{fmt}" for sha, fmt in datasets}
            studies = dict(
                connection.execute(sa.text("SELECT optuna_study_name, id FROM ws_studies")).all()
            )
            counts = connection.execute(
                sa.text("SELECT id, n_reserved, n_finished, n_trials FROM ws_studies")
            ).all()
            trials = {
                (study_id, number): state
                for study_id, number, state in connection.execute(
                    sa.text("SELECT study_id, number, state FROM ws_trials")
                )
            }
            in_flight = connection.execute(
                sa.text("SELECT count(*) FROM ws_idempotency_keys WHERE status_code IS NULL")
            ).scalar_one()
    finally:
        engine.dispose()
    assert {p.name for p in uploads.iterdir()} == expected_files
    assert [c for c in counts if not (c.n_reserved == c.n_finished == c.n_trials)] == []
    assert in_flight == 0

    storage = optuna.storages.RDBStorage(database_url)
    try:
        summaries = optuna.get_all_study_summaries(storage, include_best_trial=False)
        assert sorted(s.study_name for s in summaries) == sorted(studies)
        optuna_trials = {}
        for summary in summaries:
            for t in optuna.load_study(study_name=summary.study_name, storage=storage).trials:
                optuna_trials[(studies[summary.study_name], t.number)] = t.state.name
    finally:
        storage.engine.dispose()
    names = {"complete": "COMPLETE", "failed": "FAIL"}
    assert {k: names.get(v, v) for k, v in trials.items()} == optuna_trials, json.dumps(
        {str(k): v for k, v in optuna_trials.items()}
    )
