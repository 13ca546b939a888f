"""Recommendation latency of a running server: p50/p99 at 1, 10 and 50 concurrent clients.

    python -m benchmarks.service_latency                       # starts its own server (API only)
    python -m benchmarks.service_latency --api-processes 2     # ... with two API processes
    python -m benchmarks.service_latency --server http://127.0.0.1:8000

Registers one generated dataset and task, then loads ``POST /v1/tasks/{id}/recommendations`` at
each concurrency level, and ``GET /v1/metaknowledge`` (a static answer: the framework's floor) as
the baseline of the same run. The load comes from ``wrk`` when it is on the PATH (a C client
that leaves the cores to the server; Debian package ``wrk``), else from Python threads (``--engine
python``; on a small machine those threads compete with the server and inflate the figures).
With a server it started itself, it also reports the server's CPU time per request (user +
system of all its processes), which holds still when other work shares the machine.

Prints a markdown table and writes JSON (``--out``). Target: p99 < 100 ms at 50 clients. Traffic
goes only to the given server (loopback by default); every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import numpy as np
import pandas as pd

from benchmarks.load._server import free_port, wait_healthy

REPO_ROOT = Path(__file__).resolve().parents[1]
TARGET_P99_MS = 100.0


def start_server(home: Path, api_processes: int = 1) -> tuple[subprocess.Popen[bytes], str]:
    """``warmstart serve`` (no workers) on a free loopback port; waits until healthy."""
    port = free_port()
    env = {
        **os.environ,
        "WARMSTART_HOME": str(home),
        "WARMSTART_LOG_LEVEL": "warning",
        "PYTHONPATH": str(REPO_ROOT),
    }
    env.pop("WARMSTART_DATABASE_URL", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "service",
            "serve",
            "--port",
            str(port),
            "--workers",
            "0",
            "--api-processes",
            str(api_processes),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, 120, process)
    except RuntimeError:
        process.terminate()
        raise
    return process, url


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds of ``pid`` and its descendants (Linux ``/proc``), or None."""
    if pid is None or not Path("/proc").is_dir():
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        used[int(entry.name)] = (int(fields[11]) + int(fields[12])) / ticks
    family, frontier = {pid}, [pid]
    while frontier:
        children = [c for c, p in parents.items() if p in frontier and c not in family]
        family.update(children)
        frontier = children
    return sum(used.get(p, 0.0) for p in family)


def register_task(url: str, n_rows: int = 500) -> int:
    """Upload a generated classification table and define its task; returns the task id."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n_rows, 8))
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(8)])
    frame["y"] = np.where(x[:, 0] + x[:, 1] > 0, "yes", "no")
    with httpx2.Client(base_url=f"{url}/v1", timeout=60) as client:
        dataset = client.post(
            "/datasets", files={"file": ("bench.csv", frame.to_csv(index=False).encode())}
        ).json()
        task = client.post("/tasks", json={"dataset_id": dataset["id"], "target": "y"})
        task.raise_for_status()
        return int(task.json()["id"])


@dataclass(frozen=True)
class Endpoint:
    """One request to load the server with."""

    label: str
    method: str
    path: str
    body: str | None = None


def _summary(
    endpoint: Endpoint, clients: int, latencies_ms: np.ndarray, errors: int, wall_s: float
) -> dict[str, Any]:
    return {
        "endpoint": endpoint.label,
        "clients": clients,
        "requests": int(latencies_ms.size),
        "errors": errors,
        "p50_ms": float(np.percentile(latencies_ms, 50)),
        "p99_ms": float(np.percentile(latencies_ms, 99)),
        "mean_ms": float(statistics.fmean(latencies_ms)),
        "throughput_rps": latencies_ms.size / wall_s,
    }


def measure_python(
    url: str, endpoint: Endpoint, clients: int, requests: int, _duration_s: float
) -> dict[str, Any]:
    """``requests`` calls spread over ``clients`` threads, each with its own connection."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    per_client = [
        requests // clients + (1 if i < requests % clients else 0) for i in range(clients)
    ]
    start_gate = threading.Barrier(clients)
    content = endpoint.body.encode() if endpoint.body is not None else None
    headers = {"Content-Type": "application/json"} if content is not None else {}

    def client_loop(n: int) -> None:
        nonlocal errors
        with httpx2.Client(base_url=url, timeout=30) as client:
            client.request(endpoint.method, endpoint.path, content=content, headers=headers)
            start_gate.wait(timeout=60)
            for _ in range(n):
                t0 = time.perf_counter()
                response = client.request(
                    endpoint.method, endpoint.path, content=content, headers=headers
                )
                elapsed = (time.perf_counter() - t0) * 1000
                with lock:
                    latencies.append(elapsed)
                    errors += response.status_code != 200

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in per_client]
    wall = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    wall = time.perf_counter() - wall
    return _summary(endpoint, clients, np.sort(np.asarray(latencies)), errors, wall)


_WRK_FIELDS = {"REQUESTS", "ERRORS", "WALL_US", "P50", "P99", "MEAN"}


def measure_wrk(
    url: str, endpoint: Endpoint, clients: int, _requests: int, duration_s: float
) -> dict[str, Any]:
    """``clients`` connections held busy for ``duration_s`` seconds by wrk."""
    script = "\n".join(
        [f'wrk.method = "{endpoint.method}"']
        + (
            [
                f"wrk.body = {json.dumps(endpoint.body)}",
                'wrk.headers["Content-Type"] = "application/json"',
            ]
            if endpoint.body is not None
            else []
        )
        + [
            "done = function(summary, latency, requests)",
            '  io.write(string.format("REQUESTS %d\\n", summary.requests))',
            "  local e = summary.errors",
            '  io.write(string.format("ERRORS %d\\n", e.connect + e.read + e.write + e.status'
            " + e.timeout))",
            '  io.write(string.format("WALL_US %d\\n", summary.duration))',
            "  for _, p in ipairs({50, 99}) do",
            '    io.write(string.format("P%d %f\\n", p, latency:percentile(p) / 1000.0))',
            "  end",
            '  io.write(string.format("MEAN %f\\n", latency.mean / 1000.0))',
            "end",
        ]
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        output = subprocess.run(
            [
                "wrk",
                f"-t{min(2, clients)}",
                f"-c{clients}",
                f"-d{duration_s:g}s",
                "-s",
                handle.name,
                f"{url}{endpoint.path}",
            ],
            capture_output=True,
            text=True,
            timeout=duration_s + 120,
            check=True,
        ).stdout
    finally:
        os.unlink(handle.name)
    values = dict(
        (line.split()[0], float(line.split()[1]))
        for line in output.splitlines()
        if line.split() and line.split()[0] in _WRK_FIELDS
    )
    n = int(values["REQUESTS"])
    return {
        "endpoint": endpoint.label,
        "clients": clients,
        "requests": n,
        "errors": int(values["ERRORS"]),
        "p50_ms": values["P50"],
        "p99_ms": values["P99"],
        "mean_ms": values["MEAN"],
        "throughput_rps": n / (values["WALL_US"] / 1e6),
    }


def measure(
    engine: str,
    url: str,
    endpoint: Endpoint,
    clients: int,
    *,
    requests: int,
    duration_s: float,
    server_pid: int | None,
) -> dict[str, Any]:
    """One load level with the chosen client engine, plus the server's CPU per request."""
    run = measure_wrk if engine == "wrk" else measure_python
    cpu_before = cpu_seconds(server_pid)
    row = run(url, endpoint, clients, requests, duration_s)
    cpu_after = cpu_seconds(server_pid)
    row["server_cpu_ms_per_request"] = (
        (cpu_after - cpu_before) * 1000 / row["requests"]
        if cpu_before is not None and cpu_after is not None and row["requests"]
        else None
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", help="URL of a running server (default: start one)")
    parser.add_argument("--api-processes", type=int, default=1, help="when starting the server")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument(
        "--engine",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="load generator (auto: wrk when on the PATH)",
    )
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per level (wrk)")
    parser.add_argument("--requests", type=int, default=500, help="requests per level (python)")
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "results" / "service_latency.json")
    args = parser.parse_args()
    engine = args.engine
    if engine == "auto":
        engine = "wrk" if shutil.which("wrk") else "python"

    process = None
    with tempfile.TemporaryDirectory() as home:
        if args.server:
            url = args.server.rstrip("/")
        else:
            process, url = start_server(Path(home), args.api_processes)
        try:
            task_id = register_task(url)
            endpoints = [
                Endpoint(
                    "recommendations",
                    "POST",
                    f"/v1/tasks/{task_id}/recommendations",
                    json.dumps({"k": args.k}),
                ),
                Endpoint("metaknowledge (baseline)", "GET", "/v1/metaknowledge"),
            ]
            rows = [
                measure(
                    engine,
                    url,
                    endpoint,
                    c,
                    requests=max(args.requests, c),
                    duration_s=args.duration,
                    server_pid=process.pid if process is not None else None,
                )
                for c in args.clients
                for endpoint in endpoints
            ]
        finally:
            if process is not None:
                process.terminate()
                process.wait(timeout=60)
    print(f"engine: {engine}; API processes: {args.api_processes if process else 'n/a'}")
    print("| endpoint | clients | requests | errors | p50 (ms) | p99 (ms) | req/s | CPU ms/req |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        cpu = r["server_cpu_ms_per_request"]
        print(
            f"| {r['endpoint']} | {r['clients']} | {r['requests']} | {r['errors']} | "
            f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['throughput_rps']:.0f} | "
            f"{'-' if cpu is None else f'{cpu:.2f}'} |"
        )
    recommendation = [r for r in rows if r["endpoint"] == "recommendations"]
    baseline = {r["clients"]: r for r in rows if r["endpoint"] != "recommendations"}
    for r in recommendation:
        r["p99_ratio_to_baseline"] = r["p99_ms"] / baseline[r["clients"]]["p99_ms"]
    print(
        "\np99 ratio recommendations / baseline: "
        + ", ".join(
            f"{r['clients']} clients {r['p99_ratio_to_baseline']:.2f}x" for r in recommendation
        )
    )
    at_most = [r for r in recommendation if r["clients"] == max(args.clients)]
    worst = max(r["p99_ms"] for r in at_most)
    print(
        f"target p99 < {TARGET_P99_MS:.0f} ms at {max(args.clients)} clients: "
        f"{'met' if worst < TARGET_P99_MS else 'NOT met'} (p99 {worst:.1f} ms)"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "benchmark": "service_latency",
                "server": url,
                "engine": engine,
                "api_processes": args.api_processes if process else None,
                "k": args.k,
                "levels": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
