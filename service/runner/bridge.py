"""The Optuna bridge: storage, study creation with the warm start enqueued, sampler per worker.

The search space is :mod:`metaknowledge.searchspace`'s learner-conditional space: a trial suggests
``"learner"`` then ``"{learner}.{param}"``. Warm-start configurations are enqueued with
``to_flat`` (the first at creation, the next ones by the workers: :mod:`service.runner.steering`),
so Optuna hands them out first and ``sample`` replays them exactly. Optuna keeps its own tables
(and its own Alembic version table) in our database.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import optuna
from optuna.trial import FrozenTrial

from service.db.engine import configure_sqlite_for_optuna, engine_kwargs_for

__all__ = [
    "WARM_START_ATTR",
    "create_study",
    "delete_study",
    "load_study",
    "make_storage",
    "sample_config",
    "warm_start_flat",
]

WARM_START_ATTR = "warmstart_source"


def make_storage(
    url: str,
    *,
    heartbeat_interval: int | None = None,
    grace_period: int | None = None,
    stale_trial_callback: Callable[[optuna.Study, FrozenTrial], None] | None = None,
) -> optuna.storages.RDBStorage:
    """Optuna's RDB storage on ``url`` (creates Optuna's tables on first use).

    With ``heartbeat_interval`` the storage can find stale trials
    (:func:`optuna.storages.fail_stale_trials`: a running trial whose last heartbeat is older than
    ``grace_period`` is failed, then ``stale_trial_callback`` is called with it). Optuna's
    per-study INFO lines are silenced: the service logs trials itself. On SQLite its
    transactions take the write lock when they begin
    (:func:`service.db.engine.configure_sqlite_for_optuna`), so that a waiting trial is handed
    out, and a stale trial failed, by one process only.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        storage = optuna.storages.RDBStorage(
            url,
            engine_kwargs=engine_kwargs_for(url),
            heartbeat_interval=heartbeat_interval,
            grace_period=grace_period,
            heartbeat_stale_trial_callback=stale_trial_callback,
        )
    configure_sqlite_for_optuna(storage.engine)
    return storage


def warm_start_flat(learner: str, params: dict[str, Any], *, task_type: str) -> dict[str, Any]:
    """The flat parameters that make a trial replay ``(learner, params)`` exactly."""
    from metaknowledge.searchspace import to_flat

    return to_flat(learner, params, task_type=task_type)


def create_study(
    storage: optuna.storages.RDBStorage,
    name: str,
    *,
    maximize: bool,
    warm_start: Sequence[dict[str, Any]],
) -> None:
    """Create the Optuna study ``name`` and enqueue the warm-start flat parameter sets in order."""
    study = optuna.create_study(
        storage=storage,
        study_name=name,
        direction="maximize" if maximize else "minimize",
    )
    for flat in warm_start:
        study.enqueue_trial(dict(flat), user_attrs={WARM_START_ATTR: "warm_start"})


def delete_study(storage: optuna.storages.RDBStorage, name: str) -> None:
    """Delete the Optuna study ``name`` (undo of :func:`create_study`)."""
    optuna.delete_study(study_name=name, storage=storage)


def load_study(storage: optuna.storages.RDBStorage, name: str, *, seed: int | None) -> optuna.Study:
    """Load a study with a TPE sampler (seeded; constant liar so parallel workers spread out)."""
    sampler = optuna.samplers.TPESampler(seed=seed, constant_liar=True)
    return optuna.load_study(study_name=name, storage=storage, sampler=sampler)


def sample_config(
    trial: optuna.Trial, learners: Sequence[str], *, task_type: str
) -> tuple[str, dict[str, Any], str]:
    """The trial's configuration and its source (``warm_start`` for an enqueued trial)."""
    from metaknowledge.searchspace import sample

    learner, params = sample(trial, list(learners), task_type=task_type)
    source = "warm_start" if trial.user_attrs.get(WARM_START_ATTR) == "warm_start" else "sampler"
    return learner, params, source
