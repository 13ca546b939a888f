"""Recommendation latency of a running server: p50/p99 at 1, 10 and 50 concurrent clients.

    python benchmarks/service_latency.py                       # starts its own server (API only)
    python benchmarks/service_latency.py --server http://127.0.0.1:8000

Registers one generated dataset and task, then sends ``--requests`` recommendation requests per
concurrency level (each client a thread with its own connection) to ``POST
/v1/tasks/{id}/recommendations``. Prints a markdown table and writes JSON (``--out``). Target: p99 <
100 ms at 50 clients. Traffic goes only to the given server (loopback by default); every loop is
bounded in count and time.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
TARGET_P99_MS = 100.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(home: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``warmstart serve`` (no workers) on a free loopback port; waits until healthy."""
    port = _free_port()
    env = {
        **os.environ,
        "WARMSTART_HOME": str(home),
        "WARMSTART_LOG_LEVEL": "warning",
        "PYTHONPATH": str(REPO_ROOT),
    }
    env.pop("WARMSTART_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "service", "serve", "--port", str(port), "--workers", "0"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/v1/health", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    process.terminate()
    raise RuntimeError("the server did not become healthy within 120 s")


def register_task(url: str, n_rows: int = 500) -> int:
    """Upload a generated classification table and define its task; returns the task id."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n_rows, 8))
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(8)])
    frame["y"] = np.where(x[:, 0] + x[:, 1] > 0, "yes", "no")
    with httpx.Client(base_url=f"{url}/v1", timeout=60) as client:
        dataset = client.post(
            "/datasets", files={"file": ("bench.csv", frame.to_csv(index=False).encode())}
        ).json()
        task = client.post("/tasks", json={"dataset_id": dataset["id"], "target": "y"})
        task.raise_for_status()
        return int(task.json()["id"])


def measure(url: str, task_id: int, clients: int, requests: int, k: int) -> dict[str, Any]:
    """Latencies (ms) of ``requests`` recommendation calls spread over ``clients`` threads."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    per_client = [
        requests // clients + (1 if i < requests % clients else 0) for i in range(clients)
    ]
    start_gate = threading.Barrier(clients)

    def client_loop(n: int) -> None:
        nonlocal errors
        with httpx.Client(base_url=f"{url}/v1", timeout=30) as client:
            client.post(f"/tasks/{task_id}/recommendations", json={"k": k})  # warm connection
            start_gate.wait(timeout=60)
            for _ in range(n):
                t0 = time.perf_counter()
                response = client.post(f"/tasks/{task_id}/recommendations", json={"k": k})
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
    ordered = np.sort(np.asarray(latencies))
    return {
        "clients": clients,
        "requests": len(latencies),
        "errors": errors,
        "p50_ms": float(np.percentile(ordered, 50)),
        "p99_ms": float(np.percentile(ordered, 99)),
        "mean_ms": float(statistics.fmean(ordered)),
        "throughput_rps": len(latencies) / wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", help="URL of a running server (default: start one)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--requests", type=int, default=500, help="requests per level")
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "results" / "service_latency.json")
    args = parser.parse_args()

    process = None
    with tempfile.TemporaryDirectory() as home:
        if args.server:
            url = args.server.rstrip("/")
        else:
            process, url = start_server(Path(home))
        try:
            task_id = register_task(url)
            rows = [measure(url, task_id, c, max(args.requests, c), args.k) for c in args.clients]
        finally:
            if process is not None:
                process.terminate()
                process.wait(timeout=60)
    print("| clients | requests | errors | p50 (ms) | p99 (ms) | req/s |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['clients']} | {r['requests']} | {r['errors']} | {r['p50_ms']:.1f} | "
            f"{r['p99_ms']:.1f} | {r['throughput_rps']:.0f} |"
        )
    worst = max(r["p99_ms"] for r in rows)
    print(
        f"\ntarget p99 < {TARGET_P99_MS:.0f} ms at 50 clients: "
        f"{'met' if worst < TARGET_P99_MS else 'NOT met'} (worst p99 {worst:.1f} ms)"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"benchmark": "service_latency", "server": url, "k": args.k, "levels": rows}, indent=2
        )
        + "\n"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
