"""The traffic: seed data, the mix of requests, and the clients that send it."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any

import httpx2
import numpy as np

__all__ = ["ENDPOINTS", "MIX", "Recorder", "Seed", "run_clients", "seed", "table_csv"]

#: The endpoints measured, in the order of the report.
ENDPOINTS = (
    "POST /v1/datasets (new file)",
    "POST /v1/datasets (repeated file)",
    "POST /v1/tasks/{id}/recommendations",
    "POST /v1/recommendations (repeated file)",
    "POST /v1/recommendations (new file)",
    "POST /v1/studies",
    "GET /v1/studies/{id}",
)

#: What a client does next, with weights. ``study`` creates a study or, while the client's
#: study runs, polls it.
MIX = {
    "upload_new": 10,
    "upload_repeat": 10,
    "recommend_task": 30,
    "oneshot_repeat": 10,
    "oneshot_new": 3,
    "study": 37,
}

SEED_TABLES = 8
STUDY_TRIALS = 3
STUDY_LEARNERS = ["decision_tree", "gaussian_nb", "logistic_regression", "knn"]
MAX_ERROR_SAMPLES = 5


def table_csv(seed: int, rows: int = 120, features: int = 5) -> bytes:
    """A small learnable classification table as CSV (the same bytes for the same arguments)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features)).round(4)
    label = np.where(x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=0.5, size=rows) > 0, "a", "b")
    header = ",".join([*(f"x{i}" for i in range(features)), "label"])
    lines = [",".join([*map(str, row), lab]) for row, lab in zip(x.tolist(), label, strict=True)]
    return ("\n".join([header, *lines]) + "\n").encode()


@dataclass
class Seed:
    """What the clients work on: repeated tables and their tasks."""

    tables: list[bytes]
    task_ids: list[int]


def seed(client: httpx2.Client) -> Seed:
    """Upload :data:`SEED_TABLES` tables and define their tasks (also the server's warm-up).

    Raises:
        httpx2.HTTPStatusError: the server refused one of them.
    """
    tables = [table_csv(10_000 + i) for i in range(SEED_TABLES)]
    task_ids = []
    for i, table in enumerate(tables):
        dataset = client.post("/v1/datasets", files={"file": (f"seed-{i}.csv", table)})
        dataset.raise_for_status()
        task = client.post(
            "/v1/tasks", json={"dataset_id": dataset.json()["id"], "target": "label"}
        )
        task.raise_for_status()
        task_ids.append(int(task.json()["id"]))
    return Seed(tables=tables, task_ids=task_ids)


@dataclass
class Recorder:
    """Latencies (ms) and errors per endpoint."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {e: [] for e in ENDPOINTS})
    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ENDPOINTS, 0))
    error_samples: dict[str, list[str]] = field(default_factory=dict)
    studies_created: int = 0
    studies_finished: int = 0

    def add(self, endpoint: str, ms: float, error: str | None) -> None:
        self.latencies[endpoint].append(ms)
        if error is not None:
            self.errors[endpoint] += 1
            samples = self.error_samples.setdefault(endpoint, [])
            if len(samples) < MAX_ERROR_SAMPLES:
                samples.append(error)


@dataclass
class _ClientState:
    rng: random.Random
    counter: int
    study_id: int | None = None


def _request(
    action: str, state: _ClientState, data: Seed, client_id: int
) -> tuple[str, dict[str, Any]]:
    """The endpoint label and the httpx arguments of ``action``."""
    rng = state.rng
    if action in ("upload_new", "oneshot_new"):
        state.counter += 1
        table = table_csv(client_id * 1_000_000 + state.counter, rows=80)
    else:
        table = rng.choice(data.tables)
    if action.startswith("upload"):
        label = "new file" if action == "upload_new" else "repeated file"
        return f"POST /v1/datasets ({label})", {
            "method": "POST",
            "url": "/v1/datasets",
            "files": {"file": ("load.csv", table)},
        }
    if action.startswith("oneshot"):
        label = "new file" if action == "oneshot_new" else "repeated file"
        return f"POST /v1/recommendations ({label})", {
            "method": "POST",
            "url": "/v1/recommendations",
            "files": {"file": ("load.csv", table)},
            "data": {"target": "label", "k": "5"},
        }
    if action == "recommend_task":
        return "POST /v1/tasks/{id}/recommendations", {
            "method": "POST",
            "url": f"/v1/tasks/{rng.choice(data.task_ids)}/recommendations",
            "json": {"k": 5},
        }
    if state.study_id is not None:
        return "GET /v1/studies/{id}", {"method": "GET", "url": f"/v1/studies/{state.study_id}"}
    body = {
        "task_id": rng.choice(data.task_ids),
        "n_trials": STUDY_TRIALS,
        "learners": STUDY_LEARNERS,
        "seed": rng.randrange(1_000_000),
    }
    return "POST /v1/studies", {"method": "POST", "url": "/v1/studies", "json": body}


async def _client(
    client_id: int,
    url: str,
    headers: dict[str, str],
    data: Seed,
    deadline: float,
    think_s: float,
    recorder: Recorder,
) -> None:
    state = _ClientState(rng=random.Random(client_id), counter=0)
    actions, weights = list(MIX), list(MIX.values())
    # Each client starts with one of each action (and a second "study" to poll its study), so
    # even a short run covers every endpoint; then it draws from the mix.
    first = [*state.rng.sample(actions, len(actions)), "study"]
    limits = httpx2.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx2.AsyncClient(
        base_url=url, headers=headers, timeout=120, limits=limits
    ) as client:
        while first or time.monotonic() < deadline:  # the first round is always finished
            action = first.pop(0) if first else state.rng.choices(actions, weights)[0]
            endpoint, request = _request(action, state, data, client_id)
            started = time.perf_counter()
            error: str | None = None
            body: Any = None
            try:
                response = await client.request(**request)
                if not response.is_success:
                    error = f"{response.status_code}: {response.text[:200]}"
                else:
                    body = response.json()
            except httpx2.HTTPError as e:
                error = f"{type(e).__name__}: {e}"
            recorder.add(endpoint, (time.perf_counter() - started) * 1000, error)
            if body is not None and endpoint == "POST /v1/studies":
                state.study_id = int(body["id"])
                recorder.studies_created += 1
            elif (
                body is not None
                and endpoint == "GET /v1/studies/{id}"
                and body["status"] not in ("queued", "running")
            ):
                state.study_id = None
                recorder.studies_finished += 1
            if think_s > 0:
                await asyncio.sleep(think_s)


async def run_clients(
    url: str,
    *,
    clients: int,
    duration_s: float,
    data: Seed,
    headers: dict[str, str],
    think_s: float = 0.0,
) -> tuple[Recorder, float]:
    """Run ``clients`` clients for ``duration_s``; the recorder and the wall time (s), which
    includes the requests still in flight at the deadline."""
    recorder = Recorder()
    started = time.monotonic()
    deadline = started + duration_s
    await asyncio.gather(
        *(_client(i, url, headers, data, deadline, think_s, recorder) for i in range(clients))
    )
    return recorder, time.monotonic() - started
