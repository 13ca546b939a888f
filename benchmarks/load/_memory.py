"""Resident memory and CPU time of a process tree over time, read from ``/proc`` (Linux)."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["MemorySampler", "cpu_seconds", "growth", "machine_cpu", "process_tree", "rss_mb"]

PROC = Path("/proc")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple[float, float]:
    """CPU seconds of the whole machine so far, all cores: (busy, total), from ``/proc/stat``."""
    fields = [int(v) for v in (PROC / "stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    total = sum(fields[:8])  # user .. steal (guest time is already in user)
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of ``pid`` so far (s), or None if it is gone."""
    try:
        fields = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def rss_mb(pid: int) -> float | None:
    """The resident set size of ``pid`` in MB, or None if it is gone."""
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return None


def _parent_and_command(pid: int) -> tuple[int, str] | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
        command = (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # the command name in parentheses may contain spaces: the ppid follows the last ")"
    return int(stat.rsplit(")", 1)[1].split()[1]), command


def process_tree(root: int) -> dict[int, str]:
    """``root`` and its descendants, each with a role: ``api`` (the root), ``worker`` (its
    children), ``trial process`` (their children), ``resource tracker`` (multiprocessing's)."""
    children: dict[int, list[int]] = {}
    commands: dict[int, str] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        info = _parent_and_command(int(entry.name))
        if info is not None:
            children.setdefault(info[0], []).append(int(entry.name))
            commands[int(entry.name)] = info[1]
    roles = {root: "api"}
    frontier = [(root, 0)]
    while frontier:
        pid, depth = frontier.pop()
        for child in children.get(pid, []):
            if "resource_tracker" in commands.get(child, ""):
                roles[child] = "resource tracker"
            else:
                roles[child] = "worker" if depth == 0 else "trial process"
            frontier.append((child, depth + 1))
    return roles


@dataclass
class MemorySampler:
    """Samples the RSS of ``root``'s process tree every ``every_s`` in a thread, by role, and
    the CPU time each process used between its first and last sample."""

    root: int
    every_s: float = 5.0
    samples: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    cpu: dict[int, tuple[str, float, float]] = field(default_factory=dict)  # role, first, last
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _t0: float | None = None

    def sample(self) -> None:
        """Take one sample now (seconds since the first sample, MB per role)."""
        by_role: dict[str, float] = {}
        for pid, role in process_tree(self.root).items():
            mb, used = rss_mb(pid), cpu_seconds(pid)
            if mb is not None:
                by_role[role] = by_role.get(role, 0.0) + mb
            if used is not None:
                first = self.cpu[pid][1] if pid in self.cpu else used
                self.cpu[pid] = (role, first, used)
        now = time.monotonic()
        if self._t0 is None:
            self._t0 = now
        self.samples.append((now - self._t0, by_role))

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.sample()

    def start(self) -> None:
        self.sample()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.sample()

    def cpu_by_role(self) -> dict[str, float]:
        """CPU seconds used per role between the samples (a process seen once counts from its
        first sample: the first ``every_s`` of a short-lived one are missed)."""
        used: dict[str, float] = {}
        for role, first, last in self.cpu.values():
            used[role] = used.get(role, 0.0) + last - first
        return used


def growth(samples: list[tuple[float, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Per role and in total: start, end and peak MB, and the slope in MB/min by least squares
    over all samples and over the second half (after warm-up)."""
    roles = sorted({role for _, by_role in samples for role in by_role})
    result: dict[str, dict[str, float]] = {}
    times = np.array([t for t, _ in samples])
    for role in [*roles, "total"]:
        values = np.array(
            [sum(r.values()) if role == "total" else r.get(role, 0.0) for _, r in samples]
        )
        half = len(samples) // 2
        result[role] = {
            "start_mb": float(values[0]),
            "end_mb": float(values[-1]),
            "peak_mb": float(values.max()),
            "slope_mb_per_min": _slope(times, values),
            "slope_second_half_mb_per_min": _slope(times[half:], values[half:]),
        }
    return result


def _slope(times: np.ndarray, values: np.ndarray) -> float:
    if len(times) < 2 or float(np.ptp(times)) == 0.0:
        return 0.0
    return float(np.polyfit(times / 60.0, values, 1)[0])
