"""The meta-models one process serves, and the stored versions they come from.

Which model answers: a tenant's own stored version when it has one (public knowledge + its own
history), else the newest public stored version (bundled snapshot + ingested snapshots), else the
snapshot loaded at start-up (the *fallback*). One of each per task type.

Stored versions (rows of ``ws_metamodel_versions``) name an artifact: a knowledge-base snapshot
directory under the service's home (``knowledge/versions/<id>``: ``snapshot.json`` and
``snapshot.npz`` as :func:`metaknowledge.knowledge.write_snapshot` writes them; no pickles).
Loading checks the manifest against the row's sha256 (the manifest holds the arrays' sha256,
checked by ``read_snapshot``) and refits the meta-model from it with the parameters in the row:
the meta-model is deterministic, so the same version gives the same model in every process. A
tenant's artifact holds only its history; it is appended to its public base version's knowledge
base on load.

:class:`ModelRegistry` is read on every request without a lock and without the database: the
:class:`ModelWatcher` thread (or a call to :meth:`ModelRegistry.refresh`) reads the newest version
ids with one small query, loads what changed off the request path and swaps the whole mapping in
one assignment.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import threading
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from metaknowledge import KnowledgeBase
from metaknowledge.exceptions import MetaknowledgeError
from metaknowledge.knowledge import append_history, read_snapshot, write_snapshot
from metaknowledge.metamodel import MetaModel
from service.advisor import Advisor
from service.db import Database, MetamodelVersionRecord, MetamodelVersionRepository

__all__ = [
    "VERSIONS_DIR",
    "ArtifactError",
    "ModelRegistry",
    "ModelWatcher",
    "fingerprint",
    "fit_advisor",
    "place_artifact",
    "read_artifact",
    "stage_artifact",
]

logger = logging.getLogger(__name__)

VERSIONS_DIR = Path("knowledge") / "versions"
"""Where version artifacts live, relative to the service's home."""

MANIFEST = "snapshot.json"

Key = tuple[int | None, str]


class ArtifactError(MetaknowledgeError):
    """A version's artifact is missing or does not match its checksum."""


# -- artifacts -------------------------------------------------------------------------------------
def stage_artifact(kb: KnowledgeBase, home: Path) -> tuple[Path, str]:
    """Write ``kb`` as a snapshot into a new temporary directory under the versions directory;
    returns it and the sha256 of its manifest (to be moved by :func:`place_artifact`)."""
    staging = home / VERSIONS_DIR / f".staging-{uuid.uuid4().hex}"
    manifest = write_snapshot(kb, staging)
    return staging, hashlib.sha256(manifest.read_bytes()).hexdigest()


def place_artifact(staging: Path, home: Path, version_id: int) -> str:
    """Move a staged artifact to ``knowledge/versions/<id>``; returns that path (relative to
    ``home``). A directory left there by an attempt that was rolled back is replaced."""
    relative = VERSIONS_DIR / str(version_id)
    final = home / relative
    if final.exists():
        shutil.rmtree(final)
    os.replace(staging, final)
    return relative.as_posix()


def read_artifact(record: MetamodelVersionRecord, home: Path) -> KnowledgeBase:
    """The knowledge base stored with ``record``.

    Raises:
        ArtifactError: the artifact is missing or its manifest does not match the row's sha256.
        SnapshotError: the arrays do not match the manifest, or it is unreadable.
    """
    directory = home / record.artifact
    try:
        manifest = (directory / MANIFEST).read_bytes()
    except OSError as e:
        raise ArtifactError(
            f"the artifact of meta-model version {record.label} is missing: {directory} ({e})"
        ) from e
    if hashlib.sha256(manifest).hexdigest() != record.artifact_sha256:
        raise ArtifactError(
            f"the artifact of meta-model version {record.label} at {directory} does not match "
            "its checksum"
        )
    return read_snapshot(directory)


def fit_advisor(kb: KnowledgeBase, params: dict[str, Any], *, version: str | None) -> Advisor:
    """The meta-model with these parameters fitted on ``kb``, as an :class:`Advisor`."""
    return Advisor(kb, MetaModel(**params).fit(kb), version=version)


def fingerprint(kb: KnowledgeBase, params: dict[str, Any], base_version_id: int | None) -> str:
    """sha256 of what a version is made of: the knowledge (datasets, configurations, scores,
    meta-features), the meta-model parameters and the base version. Provenance and the version
    string are left out, so the same knowledge refitted again has the same fingerprint."""
    digest = hashlib.sha256()
    for frame in (kb.performance, kb.metafeatures):
        digest.update(np.ascontiguousarray(frame.to_numpy(dtype=np.float64)).tobytes())
        digest.update(repr([str(c) for c in frame.columns]).encode())
        digest.update(repr([int(i) for i in frame.index]).encode())
    digest.update(repr(sorted((str(k), repr(v)) for k, v in kb.configs.items())).encode())
    digest.update(repr(kb.datasets.reindex(kb.dataset_ids).to_dict("list")).encode())
    digest.update(repr((kb.metric, kb.task_type, sorted(params.items()))).encode())
    digest.update(repr(base_version_id).encode())
    return digest.hexdigest()


# -- the registry ----------------------------------------------------------------------------------
class ModelRegistry:
    """The advisors of one process: fallbacks by task type, stored versions by (tenant, type)."""

    def __init__(self) -> None:
        self._fallbacks: dict[str, Advisor] = {}
        self._versions: dict[Key, Advisor] = {}
        self._ids: dict[Key, int] = {}
        self._bases: dict[Key, int | None] = {}
        self._failed: set[int] = set()
        self._kbs: dict[int, KnowledgeBase] = {}  # public versions' knowledge, by version id
        self._lock = threading.Lock()

    def set_fallback(self, advisor: Advisor) -> None:
        """Serve ``advisor`` for its task type wherever no stored version exists."""
        self._fallbacks = {**self._fallbacks, advisor.kb.task_type: advisor}

    def public(self, task_type: str) -> Advisor | None:
        """The public model for ``task_type``: the newest stored version, else the fallback.

        With neither, any fallback (it answers "not covered" for this task type), else None.
        """
        found = self._versions.get((None, task_type)) or self._fallbacks.get(task_type)
        if found is None and self._fallbacks:
            return next(iter(self._fallbacks.values()))
        return found

    def for_tenant(self, tenant_id: int, task_type: str) -> Advisor | None:
        """The model for ``tenant_id``'s tasks of ``task_type``: its own version, else public."""
        return self._versions.get((tenant_id, task_type)) or self.public(task_type)

    @property
    def loaded_versions(self) -> dict[Key, int]:
        """``{(tenant_id or None, task_type): version id}`` of the stored versions served."""
        return dict(self._ids)

    def refresh(self, db: Database, home: Path) -> list[str]:
        """Load the newest stored versions that are not loaded yet; returns their labels.

        One grouped query when nothing changed. A version that cannot be loaded (missing or
        corrupt artifact) is logged once and skipped: the previous model of its scope stays.
        """
        with self._lock:
            with db.session() as session:
                newest = MetamodelVersionRepository(session).newest_ids()
            if newest == self._ids:
                return []
            changed = {
                k: v for k, v in newest.items() if self._ids.get(k) != v and v not in self._failed
            }
            known: dict[int, MetamodelVersionRecord] = {}
            with db.session() as session:
                repo = MetamodelVersionRepository(session)
                for version_id in changed.values():
                    record = repo.get(version_id)
                    if record is None:
                        continue
                    known[record.id] = record
                    base = record.base_version_id
                    if base is not None and base not in self._kbs and base not in known:
                        base_record = repo.get(base)
                        if base_record is not None:
                            known[base] = base_record
            versions = {k: a for k, a in self._versions.items() if k in newest}
            ids = {k: v for k, v in self._ids.items() if k in newest}
            bases = {k: b for k, b in self._bases.items() if k in newest}
            loaded: list[str] = []
            # Public versions first: tenants' versions are built on their knowledge.
            for key, version_id in sorted(
                changed.items(), key=lambda kv: (kv[0][0] is not None, kv[1])
            ):
                record = known.get(version_id)
                if record is None:
                    continue
                try:
                    versions[key] = self._load(record, known, home)
                except (MetaknowledgeError, OSError, ValueError) as e:
                    self._failed.add(version_id)
                    logger.error("meta-model version %s cannot be loaded: %s", record.label, e)
                    continue
                ids[key] = version_id
                bases[key] = record.base_version_id
                loaded.append(record.label)
            used = {v for (tenant, _), v in ids.items() if tenant is None}
            used |= {b for b in bases.values() if b is not None}
            self._kbs = {v: kb for v, kb in self._kbs.items() if v in used}
            self._versions, self._ids, self._bases = versions, ids, bases
            if loaded:
                logger.info("meta-model versions loaded: %s", ", ".join(loaded))
            return loaded

    def _public_kb(
        self, version_id: int, known: dict[int, MetamodelVersionRecord], home: Path
    ) -> KnowledgeBase:
        if version_id not in self._kbs:
            record = known.get(version_id)
            if record is None:
                raise ArtifactError(f"base meta-model version v{version_id} is missing")
            self._kbs[version_id] = read_artifact(record, home)
        return self._kbs[version_id]

    def _load(
        self, record: MetamodelVersionRecord, known: dict[int, MetamodelVersionRecord], home: Path
    ) -> Advisor:
        if record.base_version_id is None:
            kb = self._public_kb(record.id, known, home)
        else:
            base = self._public_kb(record.base_version_id, known, home)
            kb = append_history(base, read_artifact(record, home))
        return fit_advisor(kb, record.params, version=record.label)


class ModelWatcher:
    """A daemon thread that calls :meth:`ModelRegistry.refresh` every ``interval_s`` seconds."""

    def __init__(
        self, registry: ModelRegistry, db: Database, home: Path, *, interval_s: float
    ) -> None:
        self.registry = registry
        self.db = db
        self.home = home
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start watching (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="metamodel-watcher", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.registry.refresh(self.db, self.home)
            except Exception:  # the database is away: keep serving, try again later
                logger.warning("cannot look for new meta-model versions", exc_info=True)

    def stop(self) -> None:
        """Stop and wait for the thread (at most one refresh)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
