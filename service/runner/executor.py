"""Where a trial runs: in the worker process, or in a child process that is killed at a time limit.

:class:`ChildExecutor` keeps one spawned child per worker (started once, so the import and data
loading costs are paid once, not per trial); when a trial exceeds the limit the child is killed,
the trial is failed with the reason, and a fresh child is started for the next trial.

The child's lifetime is its worker's decision: it ignores SIGINT and SIGTERM (a Ctrl-C in a
terminal, or a service manager's SIGTERM to the whole process group, reaches the child too; the
worker then finishes its trial and stops, so the child must not die under it and fail the trial),
and it exits by itself within a second when its worker is gone.

Both run each trial with native thread pools (OpenMP, BLAS) limited to one thread: a worker is the
unit of parallelism, and OpenMP's one-thread-per-core default oversubscribes a machine that runs
several workers (HistGradientBoosting on 60 rows took 10-30 s instead of 0.02 s on the shared
2-core machine while another process was busy).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import multiprocessing.resource_tracker
import multiprocessing.util
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Protocol

from threadpoolctl import threadpool_limits

from service.runner.objective import DataCache, TrialJob, TrialOutcome, run_job

__all__ = [
    "INTERRUPTED_ERROR",
    "ChildExecutor",
    "InlineExecutor",
    "TrialExecutor",
    "make_executor",
]

#: The error of a trial stopped by :meth:`TrialExecutor.interrupt` (it says nothing about the
#: configuration, so the meta-model does not learn from it).
INTERRUPTED_ERROR = "TrialInterruptedError: stopped (Ctrl-C) before the trial ended"


class TrialExecutor(Protocol):
    """Runs trial jobs."""

    def run(self, job: TrialJob) -> TrialOutcome:
        """Evaluate ``job`` (never raises for a failing configuration)."""
        ...

    def interrupt(self) -> None:
        """Stop the running trial now if this executor can (it then fails with
        :data:`INTERRUPTED_ERROR`, as does every later job); safe in a signal handler."""
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

    def interrupt(self) -> None:
        """Nothing: a trial in this process runs to its end."""

    def close(self) -> None:
        """Nothing to release."""


# Signals that reach a whole process group but are the worker's to handle.
_WORKER_SIGNALS = (signal.SIGINT, signal.SIGTERM)
PARENT_POLL_S = 1.0


def _exit_with_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_POLL_S)
    os._exit(0)  # the worker was killed: its trial has no one to report to


def _child_main(conn: multiprocessing.connection.Connection, parent_pid: int) -> None:
    for signum in _WORKER_SIGNALS:  # discards any that arrived during start-up (blocked)
        signal.signal(signum, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _WORKER_SIGNALS)
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()
    threadpool_limits(limits=1)
    cache = DataCache()
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        outcome = run_job(job, cache)
        try:
            conn.send(outcome)
        except OSError:  # the worker is gone (BrokenPipeError): nobody to report to
            return


class ChildExecutor:
    """Runs trials in a spawned child process with a wall-clock limit per trial."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._context = multiprocessing.get_context("spawn")
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: multiprocessing.connection.Connection | None = None
        self._finalizer: multiprocessing.util.Finalize | None = None
        self._interrupted = False

    def _ensure_child(self) -> multiprocessing.connection.Connection:
        if self._process is None or not self._process.is_alive() or self._conn is None:
            self._kill()
            parent, child = self._context.Pipe()
            process = self._context.Process(
                target=_child_main, args=(child, os.getpid()), daemon=True
            )
            with _signals_blocked():  # the mask is inherited through exec: covers start-up
                process.start()
            child.close()
            self._process, self._conn = process, parent
            # Before multiprocessing's exit hook, which terminates daemon children (this one
            # ignores SIGTERM) and then joins them without a timeout.
            self._finalizer = multiprocessing.util.Finalize(
                self, _stop_child, args=(process, parent), exitpriority=10
            )
        return self._conn

    def run(self, job: TrialJob) -> TrialOutcome:
        """Evaluate ``job`` in the child; a failed outcome if it exceeds the limit, dies or is
        interrupted."""
        if self._interrupted:
            return TrialOutcome(None, 0.0, INTERRUPTED_ERROR)
        conn = self._ensure_child()
        if self._interrupted:  # while the child started: interrupt() found no child to kill
            self._kill()
            return TrialOutcome(None, 0.0, INTERRUPTED_ERROR)
        start = time.monotonic()
        try:
            conn.send(job)
            ready = conn.poll(self.timeout_s)
            if ready:
                outcome: TrialOutcome = conn.recv()
                return outcome
        except (EOFError, OSError):
            reason = INTERRUPTED_ERROR if self._interrupted else self._death()
            self._kill()
            return TrialOutcome(None, time.monotonic() - start, reason)
        self._kill()
        return TrialOutcome(
            None,
            self.timeout_s,
            f"TimeoutError: exceeded the per-trial limit of {self.timeout_s:g} s",
        )

    def interrupt(self) -> None:
        """Kill the child (its trial fails with :data:`INTERRUPTED_ERROR`) and fail every later
        job at once. Safe in a signal handler of the thread that calls :meth:`run`."""
        self._interrupted = True
        process = self._process
        if process is not None and process.pid is not None:
            with suppress(OSError):
                process.kill()  # no-op once the child was reaped

    def _death(self) -> str:
        """Why the child ended in the middle of a trial, as a one-line reason."""
        code = None
        if self._process is not None:
            self._process.join(timeout=5)
            code = self._process.exitcode
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:  # a real-time signal has no name
                name = f"signal {-code}"
            hint = " (out of memory?)" if -code == signal.SIGKILL else ""
            return f"the trial process was killed by {name}{hint}"
        return f"the trial process died (exit code {code})"

    def _kill(self) -> None:
        if self._finalizer is not None:
            self._finalizer()  # kills the child and closes the pipe, once
        self._process, self._conn, self._finalizer = None, None, None

    def close(self) -> None:
        """Stop the child."""
        if self._conn is not None and self._process is not None and self._process.is_alive():
            try:
                self._conn.send(None)
                self._process.join(timeout=2)
            except OSError:
                pass
        self._kill()


def _stop_child(
    process: multiprocessing.process.BaseProcess, conn: multiprocessing.connection.Connection
) -> None:
    if process.is_alive():
        process.kill()
        process.join(timeout=5)
    conn.close()


@contextmanager
def _signals_blocked() -> Iterator[None]:
    """Block :data:`_WORKER_SIGNALS` in this thread for the block.

    A spawned child inherits the mask through ``exec`` and keeps them blocked until its main
    function ignores them, so a Ctrl-C during its start-up (about 2 s of imports) does not kill
    it. One sent to this process meanwhile stays pending and is delivered after the block (as
    multiprocessing's resource tracker does). The tracker is started first: a spawn starts it
    when it is not running, and that start unblocks these signals (seen: the first child died of
    a SIGTERM sent during its start-up).
    """
    multiprocessing.resource_tracker.ensure_running()
    signal.pthread_sigmask(signal.SIG_BLOCK, _WORKER_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _WORKER_SIGNALS)


def make_executor(timeout_s: float | None) -> TrialExecutor:
    """A child-process executor with a limit, or the inline one when ``timeout_s`` is None."""
    return ChildExecutor(timeout_s) if timeout_s else InlineExecutor()
