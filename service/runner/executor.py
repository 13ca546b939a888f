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
INTERRUPTED_ERROR = "InterruptedError: stopped (Ctrl-C) before the trial ended"


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
    for signum in _WORKER_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
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
        self._interrupted = False

    def _ensure_child(self) -> multiprocessing.connection.Connection:
        if self._process is None or not self._process.is_alive() or self._conn is None:
            self._kill()
            parent, child = self._context.Pipe()
            process = self._context.Process(
                target=_child_main, args=(child, os.getpid()), daemon=True
            )
            with _signals_ignored():  # inherited through exec: covers the child's start-up
                process.start()
            child.close()
            self._process, self._conn = process, parent
        return self._conn

    def run(self, job: TrialJob) -> TrialOutcome:
        """Evaluate ``job`` in the child; a failed outcome if it exceeds the limit, dies or is
        interrupted."""
        if self._interrupted:
            return TrialOutcome(None, 0.0, INTERRUPTED_ERROR)
        conn = self._ensure_child()
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
            with suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)

    def _death(self) -> str:
        """Why the child ended in the middle of a trial, as a one-line reason."""
        code = None
        if self._process is not None:
            self._process.join(timeout=5)
            code = self._process.exitcode
        if code is not None and code < 0:
            name = signal.Signals(-code).name
            hint = " (out of memory?)" if -code == signal.SIGKILL else ""
            return f"the trial process was killed by {name}{hint}"
        return f"the trial process died (exit code {code})"

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


@contextmanager
def _signals_ignored() -> Iterator[None]:
    """Ignore :data:`_WORKER_SIGNALS` in this process for the block (main thread only; elsewhere
    nothing changes, and the child ignores them once its main function runs).

    A spawned child inherits ignored signals through ``exec`` and Python keeps SIGINT ignored
    when it starts ignored, so a Ctrl-C during the child's start-up (about 2 s of imports) does
    not kill it. A signal sent to this process during the block (the fork and exec, a few
    milliseconds) is lost.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in _WORKER_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():  # None: a handler not set from Python
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)


def make_executor(timeout_s: float | None) -> TrialExecutor:
    """A child-process executor with a limit, or the inline one when ``timeout_s`` is None."""
    return ChildExecutor(timeout_s) if timeout_s else InlineExecutor()
