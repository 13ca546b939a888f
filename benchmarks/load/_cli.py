"""The command line of :mod:`benchmarks.load`."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx2
import numpy as np

from benchmarks.load._memory import MemorySampler, growth, machine_cpu
from benchmarks.load._report import machine, markdown, summarise, update_section
from benchmarks.load._server import WORKERS, spawn_server
from benchmarks.load._workload import MIX, run_clients, seed

__all__ = ["main"]

REPO_ROOT = Path(__file__).resolve().parents[2]
QUICK = {"clients": 4, "duration": 3.0, "sample_every": 1.0}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.load",
        description="Load (or soak) a warmstart server with concurrent clients; per-endpoint "
        "latency, errors and memory growth.",
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--server", help="URL of a running server")
    target.add_argument(
        "--spawn", action="store_true", help=f"start `warmstart serve --workers {WORKERS}`"
    )
    parser.add_argument(
        "--database-url", help="with --spawn: this database (migrated first), not embedded SQLite"
    )
    parser.add_argument(
        "--api-key",
        default=os.environ.get("WARMSTART_API_KEY"),
        help="Bearer key for a server that requires one (default: $WARMSTART_API_KEY)",
    )
    parser.add_argument("--pid", type=int, help="with --server: sample this process tree's RSS")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of traffic")
    parser.add_argument(
        "--soak", type=float, metavar="SECONDS", help="a soak of SECONDS (reported as the soak)"
    )
    parser.add_argument("--think-ms", type=float, default=0.0, help="pause between requests")
    parser.add_argument("--sample-every", type=float, default=5.0, help="seconds between RSS reads")
    parser.add_argument("--quick", action="store_true", help="4 clients for 3 s (a smoke test)")
    parser.add_argument("--out", type=Path, help="JSON file (default results/load.json|soak.json)")
    parser.add_argument("--report", type=Path, help="markdown file with the reliability markers")
    return parser


def _server_description(args: argparse.Namespace) -> str:
    if not args.spawn:
        return f"`{args.server}`"
    if args.database_url:
        from sqlalchemy.engine import make_url

        database = make_url(args.database_url).render_as_string(hide_password=True)
    else:
        database = "the embedded SQLite default"
    return (
        f"`warmstart serve` (1 API process) with {WORKERS} local workers on {database}, "
        "default settings (trials in a child process per worker, 5-fold CV)"
    )


def _run(args: argparse.Namespace, home: Path) -> dict[str, Any]:
    before = machine()
    server = spawn_server(home, args.database_url) if args.spawn else None
    url = server.url if server is not None else args.server.rstrip("/")
    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    pid = server.process.pid if server is not None else args.pid
    sampler = MemorySampler(pid, every_s=args.sample_every) if pid else None
    try:
        with httpx2.Client(base_url=url, headers=headers, timeout=120) as client:
            data = seed(client)
        if sampler is not None:
            sampler.start()
        machine_before, self_before = machine_cpu(), resource.getrusage(resource.RUSAGE_SELF)
        recorder, wall_s = asyncio.run(
            run_clients(
                url,
                clients=args.clients,
                duration_s=args.duration,
                data=data,
                headers=headers,
                think_s=args.think_ms / 1000,
            )
        )
        machine_after, self_after = machine_cpu(), resource.getrusage(resource.RUSAGE_SELF)
        if sampler is not None:
            sampler.stop()
        after = machine()["load_average_1m"]
    finally:
        if server is not None:
            server.stop()
    return {
        "benchmark": "load",
        "mode": "soak" if args.soak else "load",
        "command": " ".join(["python -m benchmarks.load", *(args.argv or sys.argv[1:])]),
        "machine": before,
        "load_average_after": after,
        "server": _server_description(args),
        "clients": args.clients,
        "duration_s": args.duration,
        "wall_s": wall_s,
        "think_ms": args.think_ms,
        "mix": MIX,
        "endpoints": summarise(recorder, wall_s),
        "mean_ms": float(np.mean([v for vs in recorder.latencies.values() for v in vs] or [0.0])),
        "error_samples": recorder.error_samples,
        "studies_created": recorder.studies_created,
        "studies_finished": recorder.studies_finished,
        "sample_every_s": args.sample_every,
        "memory": growth(sampler.samples) if sampler is not None else None,
        "memory_samples": sampler.samples if sampler is not None else [],
        "cpu_s": sampler.cpu_by_role() if sampler is not None else None,
        "load_generator_cpu_s": (self_after.ru_utime + self_after.ru_stime)
        - (self_before.ru_utime + self_before.ru_stime),
        "machine_cpu_busy": (machine_after[0] - machine_before[0])
        / max(machine_after[1] - machine_before[1], 1e-9),
    }


def _keep_server_log(home: Path, out: Path) -> None:
    """Copy a spawned server's log beside ``out`` (``<out>.serve.log``): its tracebacks are what
    explains an error the report counts."""
    log = home / "serve.log"
    if log.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(log, out.with_suffix(".serve.log"))


def main(argv: list[str] | None = None) -> int:
    """Run the command; 0 when no request failed, 1 otherwise, 2 on bad arguments."""
    parser = _parser()
    args = parser.parse_args(argv)
    args.argv = argv
    if args.quick:
        args.clients, args.duration = QUICK["clients"], QUICK["duration"]
        args.sample_every = min(args.sample_every, QUICK["sample_every"])
    if args.soak:
        args.duration = args.soak
    if args.database_url and not args.spawn:
        parser.error("--database-url needs --spawn")
    if args.clients < 1 or args.duration <= 0 or args.sample_every <= 0:
        parser.error("--clients, --duration and --sample-every must be positive")
    mode = "soak" if args.soak else "load"
    out = args.out or REPO_ROOT / "results" / f"{mode}.json"
    with tempfile.TemporaryDirectory(prefix="warmstart-load-") as home:
        try:
            result = _run(args, Path(home))
        except (RuntimeError, httpx2.HTTPError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        finally:
            _keep_server_log(Path(home), out)
    body = markdown(result)
    print(body)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    if args.report is not None:
        update_section(args.report, mode, body)
        print(f"updated the {mode} section of {args.report}")
    return 0 if result["endpoints"][-1]["errors"] == 0 else 1
