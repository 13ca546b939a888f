"""Optuna's storage as the service opens it: its conditional state changes are atomic across
processes on SQLite too (SQLite ignores ``SELECT ... FOR UPDATE``), so a stale trial is failed,
and a waiting trial handed out, by one worker only."""

from __future__ import annotations

import threading
import time
from typing import Any

import optuna
import pytest
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import TrialState
from sqlalchemy import event, text

from service.runner.bridge import make_storage


def test_a_trial_failed_by_one_storage_is_not_failed_again_by_another(
    empty_database_url: str,
) -> None:
    first, second = make_storage(empty_database_url), make_storage(empty_database_url)
    try:
        study = optuna.create_study(storage=first, study_name="race")
        trial_id = study.ask()._trial_id
        started = threading.Event()

        @event.listens_for(second.engine, "before_cursor_execute")
        def _signal(*_args: Any) -> None:
            started.set()

        outcome: list[object] = []

        def fail_from_second() -> None:
            try:
                outcome.append(second.set_trial_state_values(trial_id, TrialState.FAIL))
            except UpdateFinishedTrialError as e:
                outcome.append(e)

        # The first storage fails the trial in a transaction that stays open while the second
        # one tries the same change: the second must wait and then see the trial finished.
        with first.engine.begin() as connection:
            connection.execute(
                text("UPDATE trials SET state = 'FAIL' WHERE trial_id = :id"), {"id": trial_id}
            )
            racer = threading.Thread(target=fail_from_second)
            racer.start()
            assert started.wait(30), "the second storage never reached the database"
            time.sleep(0.5)  # it has read the trial (without the lock) or is waiting for it
        racer.join(60)
        assert not racer.is_alive()
        assert len(outcome) == 1
        assert isinstance(outcome[0], UpdateFinishedTrialError), (
            f"the second storage failed the trial too (returned {outcome[0]!r})"
        )
        assert first.get_trial(trial_id).state == TrialState.FAIL
    finally:
        first.engine.dispose()
        second.engine.dispose()


@pytest.mark.parametrize("n_waiting", [1, 3])
def test_waiting_trials_are_handed_out_once_to_concurrent_askers(
    empty_database_url: str, n_waiting: int
) -> None:
    storages = [make_storage(empty_database_url) for _ in range(4)]
    try:
        optuna.create_study(storage=storages[0], study_name="pop")
        for i in range(n_waiting):
            optuna.load_study(study_name="pop", storage=storages[0]).enqueue_trial({"x": i})
        barrier = threading.Barrier(len(storages))
        numbers: list[int] = []
        lock = threading.Lock()

        def ask(storage: optuna.storages.RDBStorage) -> None:
            study = optuna.load_study(study_name="pop", storage=storage)
            barrier.wait()
            trial = study.ask()
            with lock:
                numbers.append(trial.number)

        threads = [threading.Thread(target=ask, args=(s,)) for s in storages]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sorted(numbers) == list(range(len(storages))), numbers
    finally:
        for storage in storages:
            storage.engine.dispose()


def test_sqlite_commits_do_not_wait_for_fsync_in_either_engine(empty_database_url: str) -> None:
    if not empty_database_url.startswith("sqlite"):
        pytest.skip("a SQLite setting")
    from service.db.engine import make_engine

    optuna_storage = make_storage(empty_database_url)  # first to open the file
    ours = make_engine(empty_database_url)
    try:
        for engine in (optuna_storage.engine, ours):
            with engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
                assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        ours.dispose()
        optuna_storage.engine.dispose()
