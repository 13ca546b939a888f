"""The service's own history as meta-knowledge: recorded when a study succeeds, read per tenant.

Explicit rows rather than a view over ``ws_trials``: the history keeps what a trial row does not
(the warmstart version and the CV folds that produced the scores, when the study was added) and
stays as it was recorded; the refit reads two narrow tables instead of joining the live ones.

A tenant's history is private: :func:`tenant_histories` groups it by tenant, and the refit builds
each tenant's knowledge base from that tenant's rows only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version

from sqlalchemy.orm import Session

from metaknowledge.knowledge import (
    HistoryDataset,
    HistoryKnowledge,
    HistoryRun,
    KnowledgeBase,
    Provenance,
    knowledge_base_from_history,
    local_dataset_id,
)
from service.context import ServiceContext
from service.db import (
    HISTORY_SOURCE,
    HistoryRepository,
    HistoryStudyRecord,
    HistoryTrialRecord,
)

__all__ = [
    "TenantHistory",
    "history_dataset_id",
    "record_study",
    "service_version",
    "sync_history",
    "tenant_histories",
    "tenant_knowledge",
]


@cache
def service_version() -> str:
    """The installed warmstart version (recorded with every history study)."""
    try:
        return f"warmstart {package_version('warmstart')}"
    except PackageNotFoundError:
        return "warmstart (not installed)"


def record_study(session: Session, study_id: int, *, cv_folds: int) -> bool:
    """Add a succeeded study to the history in the caller's transaction (the one that marked it
    succeeded); False if it was already there."""
    return HistoryRepository(session).add_study(
        study_id, source_version=service_version(), cv_folds=cv_folds
    )


def sync_history(ctx: ServiceContext) -> int:
    """Add every succeeded study the history lacks (those older than it); how many were added.

    Their CV folds are taken as the current setting (the only value known for them).
    """
    with ctx.db.session() as session:
        missing = HistoryRepository(session).unrecorded_succeeded_studies()
    added = 0
    for study_id in missing:
        with ctx.db.session() as session:
            added += record_study(session, study_id, cv_folds=ctx.settings.cv_folds)
    return added


@dataclass(frozen=True)
class TenantHistory:
    """One tenant's history of one task type and metric."""

    tenant_id: int
    studies: tuple[HistoryStudyRecord, ...]
    trials: tuple[HistoryTrialRecord, ...]


def history_dataset_id(task_id: int) -> int:
    """The knowledge-base dataset id of a service task (negative, stable, never an OpenML id)."""
    return local_dataset_id(HISTORY_SOURCE, f"task/{task_id}")


def tenant_histories(
    studies: Sequence[HistoryStudyRecord],
    trials: Sequence[HistoryTrialRecord],
    *,
    task_type: str,
    metric: str,
) -> dict[int, TenantHistory]:
    """The history of ``task_type`` measured in ``metric`` (the knowledge base's), by tenant.

    Studies of another metric are left out: their scores are not on the knowledge base's scale.
    """
    chosen = [s for s in studies if s.task_type == task_type and s.metric == metric]
    by_study: dict[int, list[HistoryTrialRecord]] = {}
    for trial in trials:
        by_study.setdefault(trial.history_study_id, []).append(trial)
    out: dict[int, tuple[list[HistoryStudyRecord], list[HistoryTrialRecord]]] = {}
    for study in chosen:
        mine = out.setdefault(study.tenant_id, ([], []))
        mine[0].append(study)
        mine[1].extend(by_study.get(study.id, []))
    return {
        tenant: TenantHistory(tenant, tuple(s), tuple(t)) for tenant, (s, t) in sorted(out.items())
    }


def tenant_knowledge(history: TenantHistory, *, onto: KnowledgeBase) -> HistoryKnowledge:
    """A tenant's history as a knowledge base on the configurations of ``onto``.

    One dataset per task (several studies of a task add to the same row), named
    ``service task <id>``, source ``service``; failed trials are counted, not used. The version
    and provenance name the rows by a sha256 of their content, so equal history gives an equal
    knowledge base.
    """
    tasks: dict[int, HistoryStudyRecord] = {}
    for study in history.studies:
        tasks.setdefault(study.task_id, study)
    task_of = {s.id: s.task_id for s in history.studies}
    datasets = [
        HistoryDataset(
            dataset_id=history_dataset_id(task_id),
            name=f"service task {task_id}",
            metafeatures=study.metafeatures,
        )
        for task_id, study in sorted(tasks.items())
    ]
    runs = [
        HistoryRun(
            dataset_id=history_dataset_id(task_of[t.history_study_id]),
            learner=t.learner or "",
            params=t.params,
            score=float("nan") if t.score is None else t.score,
        )
        for t in history.trials
    ]
    digest = _digest(history)
    recorded = sorted(s.recorded_at for s in history.studies)
    provenance = Provenance(
        source=HISTORY_SOURCE,
        package="warmstart",
        version=", ".join(sorted({s.source_version for s in history.studies})),
        file=f"ws_history_studies + ws_history_trials, tenant {history.tenant_id}",
        sha256=digest,
        licence="the tenant's own data (private to the tenant)",
        description=(
            f"{len(history.studies)} succeeded studies on {len(tasks)} tasks, "
            f"{len(history.trials)} finished trials, cross-validated with "
            f"{sorted({s.cv_folds for s in history.studies})} folds, recorded "
            f"{recorded[0].isoformat()} .. {recorded[-1].isoformat()}"
            if recorded
            else "no studies"
        ),
    )
    return knowledge_base_from_history(
        datasets,
        runs,
        onto=onto,
        source=HISTORY_SOURCE,
        version=f"service.{digest[:12]}",
        provenance=(provenance,),
    )


def _digest(history: TenantHistory) -> str:
    content = {
        "studies": [[s.id, s.task_id, s.metafeatures] for s in history.studies],
        "trials": [
            [t.history_study_id, t.number, t.learner, t.params, t.state, t.score]
            for t in history.trials
        ],
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()
