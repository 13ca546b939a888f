"""Refit the meta-model on everything known and store it as new versions.

Per task type with a knowledge base (classification; regression once its snapshot is bundled):

1. the **public** knowledge base: the configured snapshot (``WARMSTART_KNOWLEDGE_BASE_DIR``,
   default the bundled one) merged with every snapshot directory under
   ``$WARMSTART_HOME/knowledge/`` of the same task type and metric (``kb ingest-openml`` writes
   ``knowledge/openml``, ``kb collect`` ``knowledge/collect``);
2. one knowledge base per **tenant** with history: the public one plus that tenant's succeeded
   studies (:mod:`service.operations.history`), its own tasks weighted in the similarity prior by
   ``WARMSTART_HISTORY_PRIOR_SHARE``.

Each is fitted (which checks it), fingerprinted and, if it differs from its scope's newest
version, stored: a row in ``ws_metamodel_versions`` and an artifact (:mod:`service.metamodels`).
Running processes load new versions within ``WARMSTART_METAMODEL_POLL_S``.

One refit at a time: a lease row, taken with one conditional ``UPDATE`` (expires after
:data:`REFIT_LEASE_S`, so a killed refit does not block the next). Workers call
:func:`maybe_refit` after each study; it refits when ``WARMSTART_REFIT_AFTER_STUDIES`` studies
were added to the history since the last refit.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from metaknowledge import KnowledgeBase
from metaknowledge.exceptions import SnapshotError
from metaknowledge.knowledge import (
    append_history,
    default_snapshot_dir,
    load_knowledge_base,
    merge_knowledge_bases,
    read_snapshot,
)
from metaknowledge.metamodel import MetaModel
from service.config import Settings
from service.context import ServiceContext
from service.db import (
    HISTORY_SOURCE,
    HistoryRepository,
    MetamodelVersionRepository,
    RefitLeaseRepository,
)
from service.errors import ConflictError, InvalidRequestError
from service.metamodels import VERSIONS_DIR, fingerprint, place_artifact, stage_artifact
from service.operations.history import sync_history, tenant_histories, tenant_knowledge

__all__ = [
    "REFIT_LEASE_S",
    "TASK_TYPES",
    "RefitBusyError",
    "RefitReport",
    "VersionOutcome",
    "counts_by_source",
    "maybe_refit",
    "new_history_studies",
    "public_knowledge_base",
    "refit",
]

logger = logging.getLogger(__name__)

REFIT_LEASE_S = 600.0
"""How long a refit may hold the lease before another process may take it over."""

TASK_TYPES = ("classification", "regression")


class RefitBusyError(ConflictError):
    """Another process holds the refit lease."""


@dataclass(frozen=True)
class VersionOutcome:
    """What a refit did for one scope: a new version, or the newest one left as it was."""

    version_id: int
    tenant_id: int | None
    tenant: str | None
    task_type: str
    status: str  # "created" | "unchanged"
    base_version_id: int | None
    kb_version: str
    rows_by_source: dict[str, dict[str, int]]
    history: dict[str, Any] | None = None
    fit_s: float = 0.0

    @property
    def label(self) -> str:
        """``v<id>``, as recommendations report it."""
        return f"v{self.version_id}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "version": self.label,
            "version_id": self.version_id,
            "scope": "public" if self.tenant_id is None else "tenant",
            "tenant": self.tenant,
            "task_type": self.task_type,
            "status": self.status,
            "base_version": None if self.base_version_id is None else f"v{self.base_version_id}",
            "knowledge_base": self.kb_version,
            "rows_by_source": self.rows_by_source,
            "history": self.history,
            "fit_s": round(self.fit_s, 3),
        }


@dataclass(frozen=True)
class RefitReport:
    """The outcome of a refit."""

    trigger: str
    history_studies: int
    added_to_history: int
    duration_s: float
    versions: list[VersionOutcome] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "trigger": self.trigger,
            "history_studies": self.history_studies,
            "added_to_history": self.added_to_history,
            "duration_s": round(self.duration_s, 3),
            "versions": [v.as_dict() for v in self.versions],
        }


def counts_by_source(kb: KnowledgeBase) -> dict[str, dict[str, int]]:
    """``{source: {"datasets": rows, "runs": known scores}}`` of a knowledge base."""
    known = np.isfinite(kb.performance.to_numpy(dtype=np.float64)).sum(axis=1)
    sources = kb.datasets["source"].reindex(kb.dataset_ids).fillna("").astype(str)
    out: dict[str, dict[str, int]] = {}
    for source, runs in zip(sources, known, strict=True):
        entry = out.setdefault(source or "unknown", {"datasets": 0, "runs": 0})
        entry["datasets"] += 1
        entry["runs"] += int(runs)
    return dict(sorted(out.items()))


def public_knowledge_base(settings: Settings, task_type: str) -> KnowledgeBase | None:
    """The public knowledge of ``task_type``: base snapshot + ingested snapshots (None: no base).

    The base is ``settings.knowledge_base_dir`` when it holds this task type, else the bundled
    snapshot of the task type if there is one. Ingested snapshots are the directories
    ``$WARMSTART_HOME/knowledge/*/`` with a ``snapshot.json`` (except ``versions``), merged in
    name order when their task type and metric are the base's.

    Raises:
        InvalidRequestError: an ingested snapshot cannot be read (named in the message).
    """
    base: KnowledgeBase | None = None
    configured = settings.knowledge_base_dir
    if configured is not None:
        kb = load_knowledge_base(configured)
        base = kb if kb.task_type == task_type else None
    if base is None:
        bundled = default_snapshot_dir(task_type)
        if not (bundled / "snapshot.json").is_file():
            return None
        base = load_knowledge_base(bundled)
    extras: list[KnowledgeBase] = []
    root = Path(settings.home) / "knowledge"
    if root.is_dir():
        for directory in sorted(p for p in root.iterdir() if p.is_dir()):
            if directory.name == VERSIONS_DIR.name or not (directory / "snapshot.json").is_file():
                continue
            try:
                kb = read_snapshot(directory)
            except SnapshotError as e:
                raise InvalidRequestError(
                    f"cannot read the knowledge snapshot {directory}: {e}"
                ) from e
            if kb.task_type == task_type and kb.metric == base.metric:
                extras.append(kb)
    return merge_knowledge_bases(base, *extras) if extras else base


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def new_history_studies(ctx: ServiceContext) -> int:
    """Studies added to the history since the last successful refit."""
    with ctx.db.session() as session:
        total = HistoryRepository(session).count()
        done = RefitLeaseRepository(session).state().history_studies_refitted
    return max(0, total - done)


def maybe_refit(ctx: ServiceContext, *, owner: str | None = None) -> RefitReport | None:
    """Refit when ``refit_after_studies`` (> 0) studies were added since the last refit and no
    other process is refitting; else None."""
    every = ctx.settings.refit_after_studies
    if every <= 0 or new_history_studies(ctx) < every:
        return None
    try:
        return refit(ctx, trigger="auto", owner=owner)
    except RefitBusyError:
        return None


def refit(ctx: ServiceContext, *, trigger: str = "cli", owner: str | None = None) -> RefitReport:
    """Refit every scope and store the versions that changed (see the module docstring).

    Raises:
        RefitBusyError: another process is refitting.
        InvalidRequestError: an ingested snapshot cannot be read.
        MetaknowledgeError: a knowledge base cannot be loaded or fitted.
    """
    owner = owner or _owner()
    start = time.perf_counter()
    with ctx.db.session() as session:
        leases = RefitLeaseRepository(session)
        if not leases.claim(owner, ttl_s=REFIT_LEASE_S):
            state = leases.state()
            until = state.lease_expires_at.isoformat() if state.lease_expires_at else "?"
            raise RefitBusyError(
                f"another refit is running ({state.lease_owner}, lease until {until}); "
                "try again when it is done"
            )
    read: int | None = None
    added = 0
    outcomes: list[VersionOutcome] = []
    try:
        added = sync_history(ctx)
        with ctx.db.session() as session:
            history = HistoryRepository(session)
            studies = history.studies()
            trials = history.trials([s.id for s in studies])
        for task_type in TASK_TYPES:
            base = public_knowledge_base(ctx.settings, task_type)
            if base is None:
                continue
            public = _store(ctx, base, tenant_id=None, base_version_id=None, trigger=trigger)
            outcomes.append(public)
            histories = tenant_histories(studies, trials, task_type=task_type, metric=base.metric)
            for tenant_id, tenant_history in histories.items():
                mapped = tenant_knowledge(tenant_history, onto=base)
                if mapped.knowledge_base is None:
                    logger.info("tenant %s: no usable %s history yet", tenant_id, task_type)
                    continue
                outcomes.append(
                    _store(
                        ctx,
                        mapped.knowledge_base,
                        tenant_id=tenant_id,
                        base_version_id=public.version_id,
                        trigger=trigger,
                        base=base,
                        history={
                            "studies": len(tenant_history.studies),
                            "trials": len(tenant_history.trials),
                            **mapped.counts(),
                        },
                    )
                )
        read = len(studies)
    finally:
        with ctx.db.session() as session:
            RefitLeaseRepository(session).release(owner, history_studies_refitted=read)
    report = RefitReport(
        trigger=trigger,
        history_studies=len(studies),
        added_to_history=added,
        duration_s=time.perf_counter() - start,
        versions=outcomes,
    )
    created = [v.label for v in outcomes if v.status == "created"]
    logger.info(
        "refit (%s) in %.1f s: %s",
        trigger,
        report.duration_s,
        "new versions " + ", ".join(created) if created else "nothing changed",
    )
    return report


def _params(ctx: ServiceContext, kb: KnowledgeBase, n_public: int | None) -> dict[str, Any]:
    """The meta-model parameters of a scope: the tenant's own datasets weigh so much that, at
    equal similarity, they carry ``history_prior_share`` of the prior as a group."""
    weights = None
    if n_public is not None:
        own = int((kb.datasets["source"] == HISTORY_SOURCE).sum())
        share = ctx.settings.history_prior_share
        weights = {HISTORY_SOURCE: float(f"{share / (1 - share) * n_public / max(own, 1):.6g}")}
    return MetaModel(random_state=ctx.settings.metamodel_seed, source_weights=weights).get_params()


def _store(
    ctx: ServiceContext,
    stored: KnowledgeBase,
    *,
    tenant_id: int | None,
    base_version_id: int | None,
    trigger: str,
    base: KnowledgeBase | None = None,
    history: dict[str, Any] | None = None,
) -> VersionOutcome:
    """Fit, and store unless the scope's newest version has the same fingerprint.

    ``stored`` is what the artifact holds: the whole public knowledge base, or a tenant's
    history (then ``base`` is the public one it extends).
    """
    task_type = stored.task_type
    full = stored if base is None else append_history(base, stored)
    params = _params(ctx, full, None if base is None else len(base.dataset_ids))
    started = time.perf_counter()
    MetaModel(**params).fit(full)  # the check that it fits; processes refit it when loading
    fit_s = time.perf_counter() - started
    content = fingerprint(stored, params, base_version_id)
    counts = counts_by_source(full)
    n_history = 0 if history is None else int(history["studies"])
    with ctx.db.session() as session:
        versions = MetamodelVersionRepository(session)
        latest = versions.latest(tenant_id=tenant_id, task_type=task_type)
        if latest is not None and latest.content_sha256 == content:
            return VersionOutcome(
                version_id=latest.id,
                tenant_id=tenant_id,
                tenant=latest.tenant_name,
                task_type=task_type,
                status="unchanged",
                base_version_id=base_version_id,
                kb_version=full.version,
                rows_by_source=counts,
                history=history,
                fit_s=fit_s,
            )
    staging, sha = stage_artifact(stored, Path(ctx.settings.home))
    try:
        with ctx.db.session() as session:
            versions = MetamodelVersionRepository(session)
            version_id = versions.add(
                tenant_id=tenant_id,
                task_type=task_type,
                base_version_id=base_version_id,
                kb_version=full.version,
                artifact="",
                artifact_sha256=sha,
                content_sha256=content,
                params=params,
                counts={"rows_by_source": counts, "history": history},
                n_history_studies=n_history,
                trigger=trigger,
            )
            artifact = place_artifact(staging, Path(ctx.settings.home), version_id)
            versions.set_artifact(version_id, artifact=artifact, artifact_sha256=sha)
            record = versions.get(version_id)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return VersionOutcome(
        version_id=version_id,
        tenant_id=tenant_id,
        tenant=None if record is None else record.tenant_name,
        task_type=task_type,
        status="created",
        base_version_id=base_version_id,
        kb_version=full.version,
        rows_by_source=counts,
        history=history,
        fit_s=fit_s,
    )
