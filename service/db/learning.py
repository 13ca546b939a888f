"""Repositories of the learning loop: the service's history, meta-model versions, the refit lease.

Like :mod:`service.db.repositories`, each wraps the caller's session and returns records; this is
the only other module that issues SQL against the service tables.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.db.models import (
    HistoryStudyRow,
    HistoryTrialRow,
    MetamodelVersionRow,
    RefitStateRow,
    StudyRow,
    TaskRow,
    TenantRow,
    TrialRow,
)
from service.db.records import (
    HistoryStudyRecord,
    HistoryTrialRecord,
    MetamodelVersionRecord,
    RefitStateRecord,
)
from service.db.repositories import aware_utc, utcnow

__all__ = [
    "HISTORY_SOURCE",
    "HistoryRepository",
    "MetamodelVersionRepository",
    "RefitLeaseRepository",
]

HISTORY_SOURCE = "service"
"""``source`` of every history row (and of the knowledge-base datasets made from them)."""

FINISHED_TRIAL_STATES = ("complete", "failed")
REFIT_STATE_ID = 1


def _history_study(row: HistoryStudyRow) -> HistoryStudyRecord:
    return HistoryStudyRecord(
        id=row.id,
        study_id=row.study_id,
        tenant_id=row.tenant_id,
        task_id=row.task_id,
        task_type=row.task_type,
        metric=row.metric,
        metafeatures=dict(row.metafeatures),
        source=row.source,
        source_version=row.source_version,
        cv_folds=row.cv_folds,
        recorded_at=aware_utc(row.recorded_at) or row.recorded_at,
    )


def _version(row: MetamodelVersionRow, tenant_name: str | None) -> MetamodelVersionRecord:
    return MetamodelVersionRecord(
        id=row.id,
        tenant_id=row.tenant_id,
        tenant_name=tenant_name,
        task_type=row.task_type,
        base_version_id=row.base_version_id,
        kb_version=row.kb_version,
        artifact=row.artifact,
        artifact_sha256=row.artifact_sha256,
        content_sha256=row.content_sha256,
        params=dict(row.params),
        counts=dict(row.counts),
        n_history_studies=row.n_history_studies,
        trigger=row.trigger,
        created_at=aware_utc(row.created_at) or row.created_at,
    )


class HistoryRepository:
    """Succeeded studies and their finished trials, as the knowledge base's service source."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add_study(self, study_id: int, *, source_version: str, cv_folds: int) -> bool:
        """Add a study with its task's meta-features and its finished trials, once.

        Call it in the transaction that marks the study succeeded. Returns False when the study
        is already recorded (or does not exist). Concurrent calls for the same study: one
        inserts, the other gets False (the unique ``study_id``; a savepoint keeps the caller's
        transaction usable).
        """
        known = self.session.scalar(
            select(HistoryStudyRow.id).where(HistoryStudyRow.study_id == study_id)
        )
        if known is not None:
            return False
        found = self.session.execute(
            select(
                StudyRow.tenant_id,
                TaskRow.id,
                TaskRow.task_type,
                TaskRow.metric,
                TaskRow.metafeatures,
            )
            .join(TaskRow, TaskRow.id == StudyRow.task_id)
            .where(StudyRow.id == study_id)
        ).one_or_none()
        if found is None:
            return False
        tenant_id, task_id, task_type, metric, metafeatures = found
        trials = self.session.execute(
            select(
                TrialRow.number,
                TrialRow.source,
                TrialRow.learner,
                TrialRow.params,
                TrialRow.state,
                TrialRow.score,
            )
            .where(TrialRow.study_id == study_id, TrialRow.state.in_(FINISHED_TRIAL_STATES))
            .order_by(TrialRow.number)
        ).all()
        try:
            with self.session.begin_nested():
                row = HistoryStudyRow(
                    study_id=study_id,
                    tenant_id=tenant_id,
                    task_id=task_id,
                    task_type=task_type,
                    metric=metric,
                    metafeatures=dict(metafeatures or {}),
                    source=HISTORY_SOURCE,
                    source_version=source_version,
                    cv_folds=cv_folds,
                    recorded_at=utcnow(),
                )
                self.session.add(row)
                self.session.flush()
                self.session.add_all(
                    HistoryTrialRow(
                        history_study_id=row.id,
                        number=number,
                        source=source,
                        learner=learner,
                        params=dict(params or {}),
                        state=state,
                        score=score if state == "complete" else None,
                    )
                    for number, source, learner, params, state, score in trials
                )
                self.session.flush()
        except IntegrityError:
            return False
        return True

    def unrecorded_succeeded_studies(self) -> list[int]:
        """Ids of succeeded studies that are not in the history yet (e.g. older than it)."""
        recorded = select(HistoryStudyRow.study_id)
        return [
            int(i)
            for i in self.session.scalars(
                select(StudyRow.id)
                .where(StudyRow.status == "succeeded", StudyRow.id.not_in(recorded))
                .order_by(StudyRow.id)
            )
        ]

    def count(self) -> int:
        """How many studies the history holds (every task type and tenant)."""
        return int(self.session.scalar(select(func.count()).select_from(HistoryStudyRow)) or 0)

    def studies(self) -> list[HistoryStudyRecord]:
        """Every history study, oldest first."""
        rows = self.session.scalars(select(HistoryStudyRow).order_by(HistoryStudyRow.id))
        return [_history_study(r) for r in rows]

    def trials(self, history_study_ids: list[int]) -> list[HistoryTrialRecord]:
        """The trials of these history studies, by study and number."""
        out: list[HistoryTrialRecord] = []
        for start in range(0, len(history_study_ids), 500):  # bounded IN lists
            chunk = history_study_ids[start : start + 500]
            rows = self.session.execute(
                select(
                    HistoryTrialRow.history_study_id,
                    HistoryTrialRow.number,
                    HistoryTrialRow.source,
                    HistoryTrialRow.learner,
                    HistoryTrialRow.params,
                    HistoryTrialRow.state,
                    HistoryTrialRow.score,
                )
                .where(HistoryTrialRow.history_study_id.in_(chunk))
                .order_by(HistoryTrialRow.history_study_id, HistoryTrialRow.number)
            )
            out.extend(
                HistoryTrialRecord(
                    history_study_id=int(h),
                    number=int(n),
                    source=str(s),
                    learner=learner,
                    params=dict(params or {}),
                    state=str(state),
                    score=None if score is None else float(score),
                )
                for h, n, s, learner, params, state, score in rows
            )
        return out


class MetamodelVersionRepository:
    """Stored meta-model versions."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _query(self) -> Any:
        return select(MetamodelVersionRow, TenantRow.name).outerjoin(
            TenantRow, TenantRow.id == MetamodelVersionRow.tenant_id
        )

    def add(
        self,
        *,
        tenant_id: int | None,
        task_type: str,
        base_version_id: int | None,
        kb_version: str,
        artifact: str,
        artifact_sha256: str,
        content_sha256: str,
        params: dict[str, Any],
        counts: dict[str, Any],
        n_history_studies: int,
        trigger: str,
    ) -> int:
        """Insert a version; returns its id."""
        row = MetamodelVersionRow(
            tenant_id=tenant_id,
            task_type=task_type,
            base_version_id=base_version_id,
            kb_version=kb_version[:255],
            artifact=artifact,
            artifact_sha256=artifact_sha256,
            content_sha256=content_sha256,
            params=params,
            counts=counts,
            n_history_studies=n_history_studies,
            trigger=trigger,
            created_at=utcnow(),
        )
        self.session.add(row)
        self.session.flush()
        return row.id

    def set_artifact(self, version_id: int, *, artifact: str, artifact_sha256: str) -> None:
        """Name the artifact of a version inserted in this transaction."""
        self.session.execute(
            update(MetamodelVersionRow)
            .where(MetamodelVersionRow.id == version_id)
            .values(artifact=artifact, artifact_sha256=artifact_sha256)
        )

    def get(self, version_id: int) -> MetamodelVersionRecord | None:
        """The version with this id, or None."""
        found = self.session.execute(
            self._query().where(MetamodelVersionRow.id == version_id)
        ).one_or_none()
        return _version(found[0], found[1]) if found is not None else None

    def latest(self, *, tenant_id: int | None, task_type: str) -> MetamodelVersionRecord | None:
        """The newest version of this scope (``tenant_id`` None: public), or None."""
        scope = (
            MetamodelVersionRow.tenant_id.is_(None)
            if tenant_id is None
            else MetamodelVersionRow.tenant_id == tenant_id
        )
        found = self.session.execute(
            self._query()
            .where(scope, MetamodelVersionRow.task_type == task_type)
            .order_by(MetamodelVersionRow.id.desc())
            .limit(1)
        ).one_or_none()
        return _version(found[0], found[1]) if found is not None else None

    def newest_ids(self) -> dict[tuple[int | None, str], int]:
        """``{(tenant_id or None, task_type): newest version id}``: one small grouped query,
        what running processes poll to notice a new version."""
        rows = self.session.execute(
            select(
                MetamodelVersionRow.tenant_id,
                MetamodelVersionRow.task_type,
                func.max(MetamodelVersionRow.id),
            ).group_by(MetamodelVersionRow.tenant_id, MetamodelVersionRow.task_type)
        )
        return {(tenant, str(task_type)): int(newest) for tenant, task_type, newest in rows}

    def all(self) -> list[MetamodelVersionRecord]:
        """Every version, oldest first."""
        rows = self.session.execute(self._query().order_by(MetamodelVersionRow.id))
        return [_version(row, name) for row, name in rows]


class RefitLeaseRepository:
    """The refit lease and trigger counter (one row, created on first use)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _ensure(self) -> None:
        if self.session.get(RefitStateRow, REFIT_STATE_ID) is not None:
            return
        try:
            with self.session.begin_nested():
                self.session.add(RefitStateRow(id=REFIT_STATE_ID, history_studies_refitted=0))
                self.session.flush()
        except IntegrityError:
            pass  # another process created it meanwhile

    def state(self) -> RefitStateRecord:
        """The current state (an unused database: no lease, nothing refitted)."""
        row = self.session.get(RefitStateRow, REFIT_STATE_ID, populate_existing=True)
        if row is None:
            return RefitStateRecord(None, None, 0, None)
        return RefitStateRecord(
            lease_owner=row.lease_owner,
            lease_expires_at=aware_utc(row.lease_expires_at),
            history_studies_refitted=row.history_studies_refitted,
            last_refit_at=aware_utc(row.last_refit_at),
        )

    def claim(self, owner: str, *, ttl_s: float) -> bool:
        """Take the lease for ``ttl_s`` seconds with one conditional ``UPDATE``: True if it was
        free or expired (two processes never both get True)."""
        self._ensure()
        now = utcnow()
        taken = self.session.execute(
            update(RefitStateRow)
            .where(
                RefitStateRow.id == REFIT_STATE_ID,
                or_(
                    RefitStateRow.lease_owner.is_(None),
                    RefitStateRow.lease_expires_at.is_(None),
                    RefitStateRow.lease_expires_at < now,
                ),
            )
            .values(lease_owner=owner, lease_expires_at=now + timedelta(seconds=ttl_s))
            .returning(RefitStateRow.id)
        ).scalar_one_or_none()
        return taken is not None

    def release(self, owner: str, *, history_studies_refitted: int | None) -> None:
        """Give the lease back; after a successful refit, record how many history studies it
        read (None: it failed, the trigger keeps counting from the last success)."""
        values: dict[str, Any] = {"lease_owner": None, "lease_expires_at": None}
        if history_studies_refitted is not None:
            values["history_studies_refitted"] = history_studies_refitted
            values["last_refit_at"] = utcnow()
        self.session.execute(
            update(RefitStateRow)
            .where(RefitStateRow.id == REFIT_STATE_ID, RefitStateRow.lease_owner == owner)
            .values(**values)
        )
