"""Everything an operation needs, built once per process: settings, database, files, meta-model.

The API keeps one :class:`ServiceContext` on ``app.state``; the CLI's local mode and the workers
build their own. No module-level globals: two contexts (e.g. in tests) never share state.
"""

from __future__ import annotations

import logging
from functools import cached_property
from typing import TYPE_CHECKING

from service.config import Settings
from service.db import Database
from service.errors import ServiceUnavailableError
from service.filestore import FileStore

if TYPE_CHECKING:
    import optuna

    from service.advisor import Advisor
    from service.operations.access import KeyVerifier

__all__ = ["ServiceContext"]

logger = logging.getLogger(__name__)


class ServiceContext:
    """Settings, database, file store, and (once loaded) the meta-model of one process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = Database(settings.resolved_database_url)
        self.files = FileStore(settings.uploads_dir)
        self._advisor: Advisor | None = None
        self.advisor_error: str | None = "the meta-model is not loaded"

    def load_advisor(self) -> None:
        """Load the knowledge base and fit the meta-model; on failure, remember why.

        The service still runs without it (cold-start studies work); recommendations then answer
        503 with the reason.
        """
        from metaknowledge.exceptions import MetaknowledgeError
        from service.advisor import Advisor

        try:
            self._advisor = Advisor.load(
                self.settings.knowledge_base_dir, random_state=self.settings.metamodel_seed
            )
            self.advisor_error = None
        except MetaknowledgeError as e:
            self._advisor = None
            self.advisor_error = f"the meta-model could not be loaded: {e}"
            logger.warning("%s", self.advisor_error)

    def set_advisor(self, advisor: Advisor) -> None:
        """Use an already fitted advisor (tests, the CLI)."""
        self._advisor = advisor
        self.advisor_error = None

    @property
    def advisor_or_none(self) -> Advisor | None:
        """The meta-model if loaded."""
        return self._advisor

    @property
    def advisor(self) -> Advisor:
        """The meta-model.

        Raises:
            ServiceUnavailableError: it was not loaded (the message says why).
        """
        if self._advisor is None:
            raise ServiceUnavailableError(self.advisor_error or "the meta-model is not loaded")
        return self._advisor

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

    @cached_property
    def key_verifier(self) -> KeyVerifier:
        """Checks presented API keys (remembers verified ones for this process)."""
        from service.operations.access import KeyVerifier

        return KeyVerifier()

    def close(self) -> None:
        """Release database connections."""
        if "optuna_storage" in self.__dict__:
            self.optuna_storage.engine.dispose()
        self.db.dispose()
