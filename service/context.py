"""Everything an operation needs, built once per process: settings, database, files, meta-model.

The API keeps one :class:`ServiceContext` on ``app.state``; the CLI's local mode and the workers
build their own. No module-level globals: two contexts (e.g. in tests) never share state.
"""

from __future__ import annotations

import logging
from functools import cached_property
from typing import TYPE_CHECKING, Any

from service.cache import LruCache
from service.config import Settings
from service.db import Database, TaskRecord
from service.errors import ServiceUnavailableError
from service.filestore import FileStore

if TYPE_CHECKING:
    import optuna

    from service.advisor import Advisor
    from service.metamodels import ModelRegistry, ModelWatcher
    from service.operations.access import KeyVerifier

__all__ = ["ServiceContext"]

logger = logging.getLogger(__name__)

TASK_RECORD_CACHE_SIZE = 4096

#: The task type of ``advisor``/``advisor_or_none`` (the public model shown by /health).
DEFAULT_TASK_TYPE = "classification"


class ServiceContext:
    """Settings, database, file store, and (once loaded) the meta-model of one process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(settings.resolved_database_url)
        self.files = FileStore(settings.uploads_dir)
        from service.metamodels import ModelRegistry

        #: The meta-models served: stored versions (public, per tenant) and the start-up snapshot.
        self.models: ModelRegistry = ModelRegistry()
        self._watcher: ModelWatcher | None = None
        self.advisor_error: str | None = "the meta-model is not loaded"
        # Tasks never change once defined, so the hot path (recommendations, similar) reads each
        # one from the database once per process.
        self.task_records: LruCache[int, TaskRecord] = LruCache(TASK_RECORD_CACHE_SIZE)
        #: Idempotency-Key reservations whose outcome could not be written because the database
        #: was unavailable: id -> (status, body) to complete, or None to release. Written by the
        #: next idempotent request of this process (:mod:`service.operations.idempotency`).
        self.idempotency_backlog: dict[int, tuple[int, Any] | None] = {}

    def load_advisor(self) -> None:
        """Load the knowledge base and fit the meta-model, then the newest stored versions
        (``warmstart kb refit``); on failure, remember why.

        The service still runs without it (cold-start studies work); recommendations then answer
        503 with the reason.
        """
        from metaknowledge.exceptions import MetaknowledgeError
        from service.advisor import Advisor

        try:
            self.models.set_fallback(
                Advisor.load(
                    self.settings.knowledge_base_dir, random_state=self.settings.metamodel_seed
                )
            )
            self.advisor_error = None
        except MetaknowledgeError as e:
            self.advisor_error = f"the meta-model could not be loaded: {e}"
            logger.warning("%s", self.advisor_error)
        try:  # regression tasks have their own knowledge base; without it they run cold (409)
            self.models.set_fallback(
                Advisor.load(
                    self.settings.regression_knowledge_base_dir,
                    random_state=self.settings.metamodel_seed,
                    task_type="regression",
                )
            )
        except MetaknowledgeError as e:
            logger.warning("the regression meta-model could not be loaded: %s", e)
        self.refresh_metamodels()

    def set_advisor(self, advisor: Advisor) -> None:
        """Use an already fitted advisor where no stored version exists (tests, the CLI)."""
        self.models.set_fallback(advisor)
        self.advisor_error = None

    def refresh_metamodels(self) -> list[str]:
        """Load stored meta-model versions newer than those served; their labels (never raises:
        a database or artifact problem is logged and the models served stay)."""
        try:
            loaded = self.models.refresh(self.db, self.settings.home)
        except Exception:
            logger.warning("cannot load stored meta-model versions", exc_info=True)
            return []
        if self.models.public(DEFAULT_TASK_TYPE) is not None:
            self.advisor_error = None
        return loaded

    def watch_metamodels(self) -> None:
        """Look for new stored versions every ``metamodel_poll_s`` in a background thread
        (API processes; nothing to do when it is 0). Stopped by :meth:`close`."""
        from service.metamodels import ModelWatcher

        interval = self.settings.metamodel_poll_s
        if interval > 0 and self._watcher is None:
            self._watcher = ModelWatcher(
                self.models, self.db, self.settings.home, interval_s=interval
            )
            self._watcher.start()

    @property
    def advisor_or_none(self) -> Advisor | None:
        """The public meta-model if loaded (newest stored version, else the snapshot's)."""
        return self.models.public(DEFAULT_TASK_TYPE)

    @property
    def advisor(self) -> Advisor:
        """The public meta-model.

        Raises:
            ServiceUnavailableError: it was not loaded (the message says why).
        """
        found = self.models.public(DEFAULT_TASK_TYPE)
        if found is None:
            raise ServiceUnavailableError(self.advisor_error or "the meta-model is not loaded")
        return found

    def advisor_for_or_none(self, tenant_id: int, task_type: str) -> Advisor | None:
        """The meta-model for a tenant's task: the tenant's own version (public knowledge + its
        history) if it has one, else the public one; None if none is loaded. No database."""
        return self.models.for_tenant(tenant_id, task_type)

    def advisor_for(self, tenant_id: int, task_type: str) -> Advisor:
        """Like :meth:`advisor_for_or_none`.

        Raises:
            ServiceUnavailableError: no meta-model is loaded (the message says why).
        """
        found = self.models.for_tenant(tenant_id, task_type)
        if found is None:
            raise ServiceUnavailableError(self.advisor_error or "the meta-model is not loaded")
        return found

    @cached_property
    def optuna_storage(self) -> optuna.storages.RDBStorage:
        """Optuna's storage on the same database (Optuna manages its own tables there)."""
        from service.runner.bridge import make_storage

        return make_storage(self.db.url)

    @cached_property
    def local_tenant_id(self) -> int:
        """The id of the tenant ``local`` (created if missing): the CLI's and loopback's tenant."""
        from service.operations.access import LOCAL_TENANT, ensure_tenant

        return ensure_tenant(self, LOCAL_TENANT)

    @property
    def local_tenant_resolved(self) -> bool:
        """True once :attr:`local_tenant_id` is known (reading it then touches no database)."""
        return "local_tenant_id" in self.__dict__

    @cached_property
    def key_verifier(self) -> KeyVerifier:
        """Checks presented API keys (remembers verified ones for this process)."""
        from service.operations.access import KeyVerifier

        return KeyVerifier()

    def close(self) -> None:
        """Stop watching for meta-model versions; release database connections."""
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        if "optuna_storage" in self.__dict__:
            self.optuna_storage.engine.dispose()
        self.db.dispose()
