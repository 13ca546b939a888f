"""Summaries, the markdown of a run, the machine it ran on, and rewriting a marked section."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.load._workload import ENDPOINTS, Recorder

__all__ = ["machine", "markdown", "summarise", "update_section"]


def summarise(recorder: Recorder, wall_s: float) -> list[dict[str, Any]]:
    """Per endpoint (then ``all``): requests, errors, p50/p95/p99/max latency (ms), req/s."""
    rows = []
    every: list[float] = []
    for endpoint in [*ENDPOINTS, "all"]:
        values = every if endpoint == "all" else recorder.latencies[endpoint]
        errors = sum(recorder.errors.values()) if endpoint == "all" else recorder.errors[endpoint]
        if endpoint != "all":
            every.extend(values)
        ordered = np.asarray(values) if values else np.asarray([np.nan])
        rows.append(
            {
                "endpoint": endpoint,
                "requests": len(values),
                "errors": errors,
                "p50_ms": float(np.percentile(ordered, 50)),
                "p95_ms": float(np.percentile(ordered, 95)),
                "p99_ms": float(np.percentile(ordered, 99)),
                "max_ms": float(np.max(ordered)),
                "per_s": len(values) / wall_s if wall_s > 0 else 0.0,
            }
        )
    return rows


def machine() -> dict[str, Any]:
    """Where and when: host, CPU model and count, memory, OS, Python, load average, UTC time."""
    cpu = platform.processor() or "unknown CPU"
    memory_gb = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "host": platform.node(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _ms(value: float) -> str:
    return "–" if np.isnan(value) else f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def _latency_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| endpoint | requests | errors | p50 ms | p95 ms | p99 ms | max ms | req/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        name = f"**{r['endpoint']}**" if r["endpoint"] == "all" else f"`{r['endpoint']}`"
        lines.append(
            f"| {name} | {r['requests']} | {r['errors']} | {_ms(r['p50_ms'])} | "
            f"{_ms(r['p95_ms'])} | {_ms(r['p99_ms'])} | {_ms(r['max_ms'])} | {r['per_s']:.1f} |"
        )
    return lines


def _memory_table(memory: dict[str, dict[str, float]]) -> list[str]:
    lines = [
        "| process | start MB | end MB | peak MB | slope MB/min | slope MB/min, 2nd half |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for role, m in memory.items():
        name = f"**{role}**" if role == "total" else role
        lines.append(
            f"| {name} | {m['start_mb']:.0f} | {m['end_mb']:.0f} | {m['peak_mb']:.0f} | "
            f"{m['slope_mb_per_min']:+.2f} | {m['slope_second_half_mb_per_min']:+.2f} |"
        )
    return lines


def markdown(result: dict[str, Any]) -> str:
    """The report of one run (the JSON written by the command) as markdown."""
    m = result["machine"]
    total = result["endpoints"][-1]
    lines = [
        f"Command: `{result['command']}`",
        "",
        f"Measured {m['date_utc']} on `{m['host']}`: {m['cores']} × {m['cpu']}, "
        f"{m['memory_gb']} GB, {m['os']}, Python {m['python']}; 1-minute load average "
        f"{m['load_average_1m']} before and {result['load_average_after']} after the run "
        "(the machine is shared: other jobs ran at the same time, so latencies are noisy).",
        "",
        f"Server: {result['server']}. {result['clients']} clients for "
        f"{result['duration_s']:.0f} s ({result['wall_s']:.0f} s with the requests in flight at "
        f"the end), think time {result['think_ms']:.0f} ms: {total['requests']} requests, "
        f"{total['per_s']:.0f}/s; studies created {result['studies_created']}, seen finished "
        f"{result['studies_finished']}.",
        "",
        *_latency_table(result["endpoints"]),
        "",
        f"**Errors: {total['errors']}** "
        + ("(zero, as required)." if total["errors"] == 0 else "(NOT zero: see below)."),
    ]
    for endpoint, samples in result["error_samples"].items():
        lines.append(f"- `{endpoint}`: " + "; ".join(f"`{s}`" for s in samples))
    wall = result["wall_s"]
    used = dict(result.get("cpu_s") or {})
    used["load generator (the clients)"] = result["load_generator_cpu_s"]
    shares = ", ".join(
        f"{role} {seconds:.0f} s ({seconds / wall:.0%} of a core)"
        for role, seconds in sorted(used.items(), key=lambda kv: -kv[1])
        if seconds >= 0.5
    )
    cores = m["cores"] or 1
    lines += [
        "",
        f"CPU during the run: the machine's {cores} cores were "
        f"{result['machine_cpu_busy']:.0%} busy ({result['machine_cpu_busy'] * cores:.1f} "
        f"cores); of that, {shares}; the rest was other jobs on the machine.",
    ]
    api_cpu = (result.get("cpu_s") or {}).get("api")
    if api_cpu and total["requests"]:
        throughput = total["requests"] / wall
        workers = sum(v for k, v in result["cpu_s"].items() if k != "api")
        lines += [
            "",
            f"Why the latencies: a request took {result['mean_ms']:.0f} ms on average, of which "
            f"the API process spent {api_cpu * 1000 / total['requests']:.1f} ms of CPU on it; the "
            "rest was waiting. The API process can use about one core (one process, Python's "
            f"GIL) and got {api_cpu / wall:.0%} of one; the workers and their trials used "
            f"{workers / wall:.0%} of a core, and the cores were "
            f"{result['machine_cpu_busy']:.0%} busy. With {result['clients']} clients sending "
            f"back to back the mean latency is clients / throughput = {result['clients']} / "
            f"{throughput:.0f} per s = {result['clients'] / throughput * 1000:.0f} ms (Little's "
            "law): it falls only if the server answers more requests per second (more CPU for "
            "the API, or less CPU per request).",
        ]
    if result.get("memory"):
        lines += [
            "",
            f"Resident memory (RSS, sampled every {result['sample_every_s']:.0f} s, "
            f"{len(result['memory_samples'])} samples):",
            "",
            *_memory_table(result["memory"]),
        ]
    return "\n".join(lines) + "\n"


def update_section(path: Path, name: str, body: str) -> None:
    """Replace what lies between ``<!-- reliability:NAME:start -->`` and ``...:end -->``.

    Raises:
        ValueError: the markers are missing or out of order.
    """
    start, end = f"<!-- reliability:{name}:start -->", f"<!-- reliability:{name}:end -->"
    text = path.read_text(encoding="utf-8")
    i, j = text.find(start), text.find(end)
    if i < 0 or j < i:
        raise ValueError(f"{path} needs the markers {start} and {end} (in that order)")
    path.write_text(
        text[: i + len(start)] + "\n" + body.rstrip("\n") + "\n" + text[j:], encoding="utf-8"
    )
