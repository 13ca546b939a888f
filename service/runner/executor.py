"""Where a trial runs: in the worker process, or in a child process that is killed at a time limit.

:class:`ChildExecutor` keeps one spawned child per worker (started once, so the import and data
loading costs are paid once, not per trial); when a trial exceeds the limit the child is killed,
the trial is failed with the reason, and a fresh child is started for the next trial.

Both run each trial with native thread pools (OpenMP, BLAS) limited to one thread: a worker is the
unit of parallelism, and OpenMP's one-thread-per-core default oversubscribes a machine that runs
several workers (HistGradientBoosting on 60 rows took 10-30 s instead of 0.02 s on the shared
2-core machine while another process was busy).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
from typing import Protocol

from threadpoolctl import threadpool_limits

from service.runner.objective import DataCache, TrialJob, TrialOutcome, run_job

__all__ = ["ChildExecutor", "InlineExecutor", "TrialExecutor", "make_executor"]


class TrialExecutor(Protocol):
    """Runs trial jobs."""

    def run(self, job: TrialJob) -> TrialOutcome:
        """Evaluate ``job`` (never raises for a failing configuration)."""
        ...

    def close(self) -> None:
        """Release resources (child processes)."""
        ...


class InlineExecutor:
    """Runs trials in the calling process, without a time limit."""

    def __init__(self) -> None:
        self._cache = DataCache()

    def run(self, job: TrialJob) -> TrialOutcome:
        """Evaluate ``job`` here."""
        with threadpool_limits(limits=1):
            return run_job(job, self._cache)

    def close(self) -> None:
        """Nothing to release."""


def _child_main(conn: multiprocessing.connection.Connection) -> None:
    threadpool_limits(limits=1)
    cache = DataCache()
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        conn.send(run_job(job, cache))


class ChildExecutor:
    """Runs trials in a spawned child process with a wall-clock limit per trial."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._context = multiprocessing.get_context("spawn")
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: multiprocessing.connection.Connection | None = None

    def _ensure_child(self) -> multiprocessing.connection.Connection:
        if self._process is None or not self._process.is_alive() or self._conn is None:
            self._kill()
            parent, child = self._context.Pipe()
            process = self._context.Process(target=_child_main, args=(child,), daemon=True)
            process.start()
            child.close()
            self._process, self._conn = process, parent
        return self._conn

    def run(self, job: TrialJob) -> TrialOutcome:
        """Evaluate ``job`` in the child; a failed outcome if it exceeds the limit or dies."""
        conn = self._ensure_child()
        conn.send(job)
        try:
            ready = conn.poll(self.timeout_s)
            if ready:
                outcome: TrialOutcome = conn.recv()
                return outcome
        except (EOFError, OSError):
            self._kill()
            return TrialOutcome(None, 0.0, "the trial process died (out of memory?)")
        self._kill()
        return TrialOutcome(
            None,
            self.timeout_s,
            f"TimeoutError: exceeded the per-trial limit of {self.timeout_s:g} s",
        )

    def _kill(self) -> None:
        if self._process is not None and self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=5)
        if self._conn is not None:
            self._conn.close()
        self._process, self._conn = None, None

    def close(self) -> None:
        """Stop the child."""
        if self._conn is not None and self._process is not None and self._process.is_alive():
            try:
                self._conn.send(None)
                self._process.join(timeout=2)
            except OSError:
                pass
        self._kill()


def make_executor(timeout_s: float | None) -> TrialExecutor:
    """A child-process executor with a limit, or the inline one when ``timeout_s`` is None."""
    return ChildExecutor(timeout_s) if timeout_s else InlineExecutor()
