"""Repositories: the only code that issues SQL against the service tables.

Each repository wraps a session (the caller's unit of work, see ``Database.session``) and returns
records from :mod:`service.db.records`. Methods that change counters do so with single conditional
``UPDATE`` statements, so concurrent workers (other processes, other machines) cannot over-book a
study's trial budget.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from service.db.models import DatasetRow, StudyRow, TaskRow, TrialRow
from service.db.records import DatasetRecord, StudyRecord, TaskRecord, TrialRecord

__all__ = ["DatasetRepository", "StudyRepository", "TaskRepository", "TrialRepository", "utcnow"]

ACTIVE_STATUSES = ("queued", "running")


def utcnow() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes even for timezone=True columns; they were stored as UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _dataset(row: DatasetRow) -> DatasetRecord:
    return DatasetRecord(
        id=row.id,
        sha256=row.sha256,
        name=row.name,
        file_format=row.file_format,
        size_bytes=row.size_bytes,
        n_rows=row.n_rows,
        n_columns=row.n_columns,
        columns=list(row.columns),
        created_at=_aware(row.created_at) or row.created_at,
    )


def _task(row: TaskRow) -> TaskRecord:
    return TaskRecord(
        id=row.id,
        dataset_id=row.dataset_id,
        target=row.target,
        task_type=row.task_type,
        metric=row.metric,
        metafeatures=dict(row.metafeatures),
        created_at=_aware(row.created_at) or row.created_at,
    )


def _study(row: StudyRow) -> StudyRecord:
    return StudyRecord(
        id=row.id,
        task_id=row.task_id,
        status=row.status,
        n_trials=row.n_trials,
        timeout_s=row.timeout_s,
        warm_start_k=row.warm_start_k,
        seed=row.seed,
        optuna_study_name=row.optuna_study_name,
        metamodel_version=row.metamodel_version,
        learners=list(row.learners),
        warm_start=list(row.warm_start),
        n_reserved=row.n_reserved,
        n_finished=row.n_finished,
        n_workers=row.n_workers,
        error=row.error,
        created_at=_aware(row.created_at) or row.created_at,
        started_at=_aware(row.started_at),
        finished_at=_aware(row.finished_at),
    )


def _trial(row: TrialRow) -> TrialRecord:
    return TrialRecord(
        id=row.id,
        study_id=row.study_id,
        number=row.number,
        source=row.source,
        learner=row.learner,
        params=dict(row.params),
        state=row.state,
        score=row.score,
        duration_s=row.duration_s,
        error=row.error,
        worker=row.worker,
        started_at=_aware(row.started_at) or row.started_at,
        finished_at=_aware(row.finished_at),
    )


class DatasetRepository:
    """Uploaded datasets, unique by content hash."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, dataset_id: int) -> DatasetRecord | None:
        """The dataset with this id, or None."""
        row = self.session.get(DatasetRow, dataset_id)
        return _dataset(row) if row is not None else None

    def get_by_sha256(self, sha256: str) -> DatasetRecord | None:
        """The dataset with these exact bytes, or None."""
        row = self.session.scalar(select(DatasetRow).where(DatasetRow.sha256 == sha256))
        return _dataset(row) if row is not None else None

    def add(
        self,
        *,
        sha256: str,
        name: str,
        file_format: str,
        size_bytes: int,
        n_rows: int,
        n_columns: int,
        columns: list[dict[str, Any]],
    ) -> DatasetRecord:
        """Insert a dataset (raises ``IntegrityError`` at flush if the sha256 exists)."""
        row = DatasetRow(
            sha256=sha256,
            name=name,
            file_format=file_format,
            size_bytes=size_bytes,
            n_rows=n_rows,
            n_columns=n_columns,
            columns=columns,
            created_at=utcnow(),
        )
        self.session.add(row)
        self.session.flush()
        return _dataset(row)

    def page(self, *, offset: int = 0, limit: int = 100) -> tuple[list[DatasetRecord], int]:
        """A page of datasets (newest last) and the total count."""
        rows = self.session.scalars(
            select(DatasetRow).order_by(DatasetRow.id).offset(offset).limit(limit)
        )
        total = self.session.scalar(select(func.count()).select_from(DatasetRow)) or 0
        return [_dataset(r) for r in rows], total


class TaskRepository:
    """Tasks, unique by (dataset, target, task type, metric)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, task_id: int) -> TaskRecord | None:
        """The task with this id, or None."""
        row = self.session.get(TaskRow, task_id)
        return _task(row) if row is not None else None

    def find(self, dataset_id: int, target: str, task_type: str, metric: str) -> TaskRecord | None:
        """The task defining exactly this problem, or None."""
        row = self.session.scalar(
            select(TaskRow).where(
                TaskRow.dataset_id == dataset_id,
                TaskRow.target == target,
                TaskRow.task_type == task_type,
                TaskRow.metric == metric,
            )
        )
        return _task(row) if row is not None else None

    def add(
        self,
        *,
        dataset_id: int,
        target: str,
        task_type: str,
        metric: str,
        metafeatures: dict[str, float | None],
    ) -> TaskRecord:
        """Insert a task (raises ``IntegrityError`` at flush if the same problem exists)."""
        row = TaskRow(
            dataset_id=dataset_id,
            target=target,
            task_type=task_type,
            metric=metric,
            metafeatures=metafeatures,
            created_at=utcnow(),
        )
        self.session.add(row)
        self.session.flush()
        return _task(row)

    def page(self, *, offset: int = 0, limit: int = 100) -> tuple[list[TaskRecord], int]:
        """A page of tasks (oldest first) and the total count."""
        rows = self.session.scalars(
            select(TaskRow).order_by(TaskRow.id).offset(offset).limit(limit)
        )
        total = self.session.scalar(select(func.count()).select_from(TaskRow)) or 0
        return [_task(r) for r in rows], total

    def all_except(self, task_id: int, *, task_type: str) -> list[TaskRecord]:
        """Every other task of the same task type (the candidates of a similarity search)."""
        rows = self.session.scalars(
            select(TaskRow)
            .where(TaskRow.id != task_id, TaskRow.task_type == task_type)
            .order_by(TaskRow.id)
        )
        return [_task(r) for r in rows]


class StudyRepository:
    """Studies and their trial-budget bookkeeping."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(
        self,
        *,
        task_id: int,
        n_trials: int,
        timeout_s: float | None,
        warm_start_k: int,
        seed: int | None,
        optuna_study_name: str,
        metamodel_version: str | None,
        learners: list[str],
        warm_start: list[dict[str, Any]],
    ) -> StudyRecord:
        """Insert a queued study."""
        row = StudyRow(
            task_id=task_id,
            status="queued",
            n_trials=n_trials,
            timeout_s=timeout_s,
            warm_start_k=warm_start_k,
            seed=seed,
            optuna_study_name=optuna_study_name,
            metamodel_version=metamodel_version,
            learners=learners,
            warm_start=warm_start,
            n_reserved=0,
            n_finished=0,
            n_workers=0,
            created_at=utcnow(),
        )
        self.session.add(row)
        self.session.flush()
        return _study(row)

    def get(self, study_id: int) -> StudyRecord | None:
        """The study with this id, or None."""
        row = self.session.get(StudyRow, study_id, populate_existing=True)
        return _study(row) if row is not None else None

    def page(
        self, *, task_id: int | None = None, offset: int = 0, limit: int = 100
    ) -> tuple[list[StudyRecord], int]:
        """A page of studies (optionally of one task) and the total count."""
        query = select(StudyRow)
        count = select(func.count()).select_from(StudyRow)
        if task_id is not None:
            query = query.where(StudyRow.task_id == task_id)
            count = count.where(StudyRow.task_id == task_id)
        rows = self.session.scalars(query.order_by(StudyRow.id).offset(offset).limit(limit))
        return [_study(r) for r in rows], self.session.scalar(count) or 0

    def claimable(self) -> list[StudyRecord]:
        """Active studies with trial slots left, oldest first (a worker picks one to join)."""
        rows = self.session.scalars(
            select(StudyRow)
            .where(StudyRow.status.in_(ACTIVE_STATUSES), StudyRow.n_reserved < StudyRow.n_trials)
            .order_by(StudyRow.id)
        )
        return [_study(r) for r in rows]

    def join(self, study_id: int) -> int | None:
        """Register one more worker on an active study and start it if queued.

        Returns the worker's slot index (0 for the first worker, which seeds the sampler with the
        study's seed exactly), or None when the study is no longer active.
        """
        now = utcnow()
        self.session.execute(
            update(StudyRow)
            .where(StudyRow.id == study_id, StudyRow.status == "queued")
            .values(status="running", started_at=now)
        )
        joined = self.session.execute(
            update(StudyRow)
            .where(StudyRow.id == study_id, StudyRow.status == "running")
            .values(n_workers=StudyRow.n_workers + 1)
            .returning(StudyRow.n_workers)
        ).scalar_one_or_none()
        return None if joined is None else int(joined) - 1

    def reserve_trial(self, study_id: int) -> bool:
        """Take one trial slot of a running study; False when none is left or it is not running."""
        result = self.session.execute(
            update(StudyRow)
            .where(
                StudyRow.id == study_id,
                StudyRow.status == "running",
                StudyRow.n_reserved < StudyRow.n_trials,
            )
            .values(n_reserved=StudyRow.n_reserved + 1)
            .returning(StudyRow.id)
        )
        return result.scalar_one_or_none() is not None

    def release_trial(self, study_id: int) -> None:
        """Give back a slot that was reserved but never started."""
        self.session.execute(
            update(StudyRow)
            .where(StudyRow.id == study_id, StudyRow.n_reserved > StudyRow.n_finished)
            .values(n_reserved=StudyRow.n_reserved - 1)
        )

    def trial_finished(self, study_id: int) -> None:
        """Count one reserved slot as finished."""
        self.session.execute(
            update(StudyRow)
            .where(StudyRow.id == study_id)
            .values(n_finished=StudyRow.n_finished + 1)
        )

    def close_budget(self, study_id: int) -> None:
        """No more slots are handed out (the study's time budget ran out)."""
        self.session.execute(
            update(StudyRow)
            .where(StudyRow.id == study_id, StudyRow.status == "running")
            .values(n_trials=StudyRow.n_reserved)
        )

    def finish_if_done(self, study_id: int, *, status: str, error: str | None = None) -> bool:
        """Set a final ``status`` if the study is running and every slot is used and finished."""
        result = self.session.execute(
            update(StudyRow)
            .where(
                StudyRow.id == study_id,
                StudyRow.status == "running",
                StudyRow.n_finished == StudyRow.n_reserved,
                StudyRow.n_reserved >= StudyRow.n_trials,
            )
            .values(status=status, error=error, finished_at=utcnow())
            .returning(StudyRow.id)
        )
        return result.scalar_one_or_none() is not None

    def set_terminal(self, study_id: int, *, status: str, error: str | None = None) -> bool:
        """Move an active study to ``status`` (cancelled/failed); False if it already ended."""
        result = self.session.execute(
            update(StudyRow)
            .where(StudyRow.id == study_id, StudyRow.status.in_(ACTIVE_STATUSES))
            .values(status=status, error=error, finished_at=utcnow())
            .returning(StudyRow.id)
        )
        return result.scalar_one_or_none() is not None


class TrialRepository:
    """The trials of studies: the service's run history."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def start(
        self,
        *,
        study_id: int,
        number: int,
        source: str,
        learner: str | None,
        params: dict[str, Any],
        worker: str | None,
    ) -> TrialRecord:
        """Record a trial that a worker has begun."""
        row = TrialRow(
            study_id=study_id,
            number=number,
            source=source,
            learner=learner,
            params=params,
            state="running",
            worker=worker,
            started_at=utcnow(),
        )
        self.session.add(row)
        self.session.flush()
        return _trial(row)

    def finish(
        self,
        trial_id: int,
        *,
        state: str,
        score: float | None,
        duration_s: float | None,
        error: str | None,
        learner: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        """Record a trial's outcome (``complete`` with a score, or ``failed`` with a reason)."""
        values: dict[str, Any] = {
            "state": state,
            "score": score,
            "duration_s": duration_s,
            "error": error,
            "finished_at": utcnow(),
        }
        if learner is not None:
            values["learner"] = learner
        if params is not None:
            values["params"] = params
        self.session.execute(update(TrialRow).where(TrialRow.id == trial_id).values(**values))

    def of_study(self, study_id: int) -> list[TrialRecord]:
        """All trials of a study, by trial number."""
        rows = self.session.scalars(
            select(TrialRow).where(TrialRow.study_id == study_id).order_by(TrialRow.number)
        )
        return [_trial(r) for r in rows]

    def count_by_state(self, study_id: int) -> dict[str, int]:
        """``{state: count}`` of a study's trials."""
        rows = self.session.execute(
            select(TrialRow.state, func.count())
            .where(TrialRow.study_id == study_id)
            .group_by(TrialRow.state)
        )
        return {str(state): int(n) for state, n in rows}

    def best(self, study_id: int, *, maximize: bool) -> TrialRecord | None:
        """The complete trial with the best score (ties: the earliest), or None."""
        return self._best(select(TrialRow).where(TrialRow.study_id == study_id), maximize)

    def best_of_task(self, task_id: int, *, maximize: bool) -> TrialRecord | None:
        """The best complete trial over all studies of a task, or None."""
        query = select(TrialRow).join(StudyRow).where(StudyRow.task_id == task_id)
        return self._best(query, maximize)

    def complete_of_task(self, task_id: int) -> list[TrialRecord]:
        """Every complete trial of a task's studies (what was observed on its dataset)."""
        rows = self.session.scalars(
            select(TrialRow)
            .join(StudyRow)
            .where(StudyRow.task_id == task_id, TrialRow.state == "complete")
            .order_by(TrialRow.id)
        )
        return [_trial(r) for r in rows]

    def _best(self, query: Any, maximize: bool) -> TrialRecord | None:
        order = TrialRow.score.desc() if maximize else TrialRow.score.asc()
        row = self.session.scalar(
            query.where(TrialRow.state == "complete", TrialRow.score.is_not(None))
            .order_by(order, TrialRow.id)
            .limit(1)
        )
        return _trial(row) if row is not None else None
