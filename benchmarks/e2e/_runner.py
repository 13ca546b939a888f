"""Scheduling: which runs are still to do, spread over worker processes, with progress lines.

Datasets are the unit of parallelism (each worker prepares a dataset once and starts one trial
child for it); ``jobs=1`` runs everything in this process. Progress is one line per finished run on
stderr: ``[done/total] dataset seed strategy best score, trials, time``.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any, TextIO

from benchmarks.e2e._datasets import DatasetEntry
from benchmarks.e2e._store import load_run, run_path
from benchmarks.e2e._worker import DatasetJob, code_version, run_dataset

__all__ = ["exit_with_parent", "plan_jobs", "run_jobs"]

PARENT_POLL_S = 1.0


def exit_with_parent(parent_pid: int) -> None:
    """Pool initializer: end this worker process once ``parent_pid`` is gone.

    A benchmark stopped with SIGTERM or SIGKILL (not Ctrl-C, which reaches the whole process
    group) used to leave its workers running their datasets to the end, writing run files into
    the results folder after it had stopped.
    """

    def watch() -> None:
        while True:
            time.sleep(PARENT_POLL_S)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def plan_jobs(
    entries: Sequence[DatasetEntry],
    *,
    out: Path,
    seeds: Sequence[int],
    strategies: Sequence[str],
    settings: dict[str, Any],
    timeout_s: float | None,
) -> tuple[list[DatasetJob], int]:
    """One job per dataset with unfinished runs, and the number of finished runs skipped.

    The jobs carry the code version as it is now, when the pool is about to import the code.
    """
    version = code_version()
    jobs: list[DatasetJob] = []
    skipped = 0
    for entry in entries:
        pending = []
        for seed in seeds:
            for strategy in strategies:
                if load_run(run_path(out, entry.name, seed, strategy), settings) is None:
                    pending.append((seed, strategy))
                else:
                    skipped += 1
        if pending:
            jobs.append(DatasetJob(entry, out, tuple(pending), dict(settings), timeout_s, version))
    return jobs, skipped


class _Printer:
    """Formats progress events as lines; counts them."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.done = 0
        self.errors = 0
        self.stream = stream
        self.start = time.perf_counter()

    def put(self, event: dict[str, Any]) -> None:
        self.done += 1
        head = f"[{self.done}/{self.total}] {event['dataset']} seed={event['seed']} "
        head += f"{event['strategy']}:"
        if event["status"] == "done":
            best = event.get("best")
            shown = f"{best:.4f}" if best is not None else "none"
            line = (
                f"{head} best {shown} in {event['trials']} trials"
                f" ({event['failed']} failed), {event['wall_s']:.1f} s"
            )
        else:
            self.errors += 1
            line = f"{head} ERROR {event.get('error')}"
            if event.get("detail"):
                line += "\n" + str(event["detail"])
        elapsed = time.perf_counter() - self.start
        print(f"{line}  [elapsed {elapsed:.0f} s]", file=self.stream, flush=True)


def run_jobs(jobs: Sequence[DatasetJob], *, n_jobs: int, stream: TextIO = sys.stderr) -> int:
    """Run ``jobs`` (``n_jobs`` processes); returns the number of runs that failed."""
    printer = _Printer(sum(len(j.pending) for j in jobs), stream)
    if n_jobs <= 1 or len(jobs) <= 1:
        for job in jobs:
            run_dataset(job, printer)
        return printer.errors
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        events: Any = manager.Queue()
        with ProcessPoolExecutor(
            max_workers=n_jobs,
            mp_context=context,
            initializer=exit_with_parent,
            initargs=(os.getpid(),),
        ) as pool:
            futures: list[Future[None]] = [pool.submit(run_dataset, job, events) for job in jobs]
            while not all(f.done() for f in futures) or not events.empty():
                try:
                    printer.put(events.get(timeout=0.5))
                except queue.Empty:
                    continue
            for future, job in zip(futures, jobs, strict=True):
                error = future.exception()
                if error is not None:  # the worker process itself died
                    print(f"{job.entry.name}: worker failed: {error!r}", file=stream)
                    printer.errors += len(job.pending)
    return printer.errors
