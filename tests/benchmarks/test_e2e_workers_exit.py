"""The end-to-end benchmark's pool workers do not outlive a benchmark that was killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

PARENT = """
import multiprocessing, os, sys, time
from concurrent.futures import ProcessPoolExecutor
from benchmarks.e2e._runner import exit_with_parent

def child_pid():
    return os.getpid()

if __name__ == "__main__":
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=1, mp_context=context, initializer=exit_with_parent, initargs=(os.getpid(),)
    )
    print(pool.submit(child_pid).result(), flush=True)
    pool.submit(time.sleep, 600)  # a dataset that would run for ten minutes
    time.sleep(600)
"""


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper has exited)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return True
    return not any(line.startswith("State:") and "\tZ" in line for line in lines)


def test_pool_workers_exit_when_the_benchmark_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    parent = subprocess.Popen(
        [sys.executable, str(script)], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert _alive(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=30)
        deadline = time.monotonic() + 30
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(child), "the pool worker outlived its killed parent"
    finally:
        if parent.poll() is None:
            parent.kill()
