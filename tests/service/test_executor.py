"""The child process that runs trials under a time limit: its lifetime is its worker's."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from metaknowledge.searchspace import default_config
from service.runner import ChildExecutor
from service.runner.objective import TrialJob, TrialOutcome
from tests.service.service_testdata import classification_frame


@pytest.fixture
def job(tmp_path: Path) -> TrialJob:
    """A trial of about a second: random forest defaults, 5-fold CV on 3,000 rows."""
    path = tmp_path / "table.csv"
    classification_frame(n_rows=3000, seed=3).to_csv(path, index=False)
    return TrialJob(
        dataset_path=str(path),
        target="label",
        task_type="classification",
        metric="balanced_accuracy",
        folds=5,
        seed=0,
        learner="random_forest",
        params=default_config("random_forest", task_type="classification"),
    )


def _run_in_thread(executor: ChildExecutor, job: TrialJob) -> tuple[threading.Thread, list]:
    outcome: list[TrialOutcome] = []
    thread = threading.Thread(target=lambda: outcome.append(executor.run(job)))
    thread.start()
    return thread, outcome


def _child_pid(executor: ChildExecutor) -> int:
    for _ in range(500):
        process = executor._process
        if process is not None and process.pid is not None:
            return process.pid
        time.sleep(0.01)
    raise AssertionError("no trial process was started")


def _signal_repeatedly(executor: ChildExecutor, times: int) -> threading.Thread:
    def send() -> None:
        pid = _child_pid(executor)
        for _ in range(times):
            time.sleep(0.3)
            os.kill(pid, signal.SIGINT)
            os.kill(pid, signal.SIGTERM)

    thread = threading.Thread(target=send)
    thread.start()
    return thread


def test_ctrl_c_and_a_group_sigterm_do_not_fail_the_running_trial(job: TrialJob) -> None:
    executor = ChildExecutor(120.0)  # run from the main thread, as a worker does
    try:
        # While the child starts (about 2 s of imports) and runs its first trial.
        signaller = _signal_repeatedly(executor, 5)
        first = executor.run(job)
        signaller.join(30)
        assert first.error is None, first
        pid = _child_pid(executor)
        # The same child runs the next trial, signalled in the middle of it.
        signaller = _signal_repeatedly(executor, 1)
        second = executor.run(job)
        signaller.join(30)
        assert second.error is None, second
        assert _child_pid(executor) == pid
    finally:
        executor.close()


def test_a_killed_trial_process_is_reported_with_its_signal(job: TrialJob) -> None:
    executor = ChildExecutor(120.0)
    try:
        executor.run(job)  # started and warm
        thread, outcome = _run_in_thread(executor, job)
        time.sleep(0.3)
        os.kill(_child_pid(executor), signal.SIGKILL)
        thread.join(120)
        assert outcome[0].score is None
        assert outcome[0].error == "the trial process was killed by SIGKILL (out of memory?)"
        assert executor.run(job).error is None  # a new child takes over
    finally:
        executor.close()


def test_the_trial_process_exits_when_its_worker_is_killed(tmp_path: Path, job: TrialJob) -> None:
    long_path = tmp_path / "long.csv"  # a trial of a minute or more: it must not run to its end
    classification_frame(n_rows=40_000, seed=4).to_csv(long_path, index=False)
    long_job = dataclasses.replace(job, dataset_path=str(long_path))
    script = textwrap.dedent(
        f"""
        import sys, threading
        from service.runner import ChildExecutor
        from service.runner.objective import TrialJob
        executor = ChildExecutor(600.0)
        executor.run(TrialJob(**{job.__dict__!r}))
        long_job = TrialJob(**{long_job.__dict__!r})
        threading.Thread(target=executor.run, args=(long_job,), daemon=True).start()
        print(executor._process.pid, flush=True)
        sys.stdin.read()
        """
    )
    worker = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    child: int | None = None
    try:
        assert worker.stdout is not None
        child = int(worker.stdout.readline())
        time.sleep(1.0)  # the long trial is running
        worker.kill()
        worker.wait(30)
        deadline = time.monotonic() + 10
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(child), "the trial process outlived its worker"
    finally:
        worker.kill()
        if child is not None and _alive(child):
            os.kill(child, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False
