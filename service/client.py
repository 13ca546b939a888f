"""Two ways for the CLI to reach the service: in-process (:class:`LocalBackend`) or over HTTP
(:class:`RemoteBackend`). Both answer with the API's ``*Public`` schemas, so the CLI renders one
shape whichever it uses.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

import httpx2

from service.config import Settings
from service.errors import (
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    InvalidUploadError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    ServiceError,
    ServiceUnavailableError,
    UnsupportedMediaTypeError,
)
from service.schemas import (
    DatasetPublic,
    RecommendationsPublic,
    SimilarPublic,
    StudyCreate,
    StudyPublic,
    TaskCreate,
    TaskPublic,
    TrialsPublic,
)

__all__ = ["Backend", "LocalBackend", "Progress", "RemoteBackend", "TuneInterruptedError"]

#: Called with (finished trials, total trials) while a study runs.
Progress = Callable[[int, int], None]

_ERROR_BY_STATUS: dict[int, type[ServiceError]] = {
    400: InvalidUploadError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
    422: InvalidRequestError,
}


class Backend(Protocol):
    """What the CLI needs from the service."""

    def register(
        self, path: Path, target: str, *, task_type: str | None, metric: str | None
    ) -> TaskPublic:
        """Upload ``path`` (or find it) and define (or find) the task."""
        ...

    def recommend(self, task_id: int, k: int, learners: list[str] | None) -> RecommendationsPublic:
        """Recommendations for a task."""
        ...

    def similar(self, task_id: int, k: int) -> SimilarPublic:
        """Similar past problems."""
        ...

    def tune(self, request: StudyCreate, progress: Progress | None) -> StudyPublic:
        """Run a study to its end and return it; :class:`TuneInterruptedError` on Ctrl-C."""
        ...

    def trials(self, study_id: int) -> TrialsPublic:
        """The trials of a study."""
        ...

    def close(self) -> None:
        """Release resources."""
        ...


class TuneInterruptedError(Exception):
    """The user interrupted ``tune`` (Ctrl-C); ``study`` is the study as it stands."""

    def __init__(self, study: StudyPublic, message: str) -> None:
        super().__init__(message)
        self.study = study


@contextmanager
def _on_sigint(handler: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    """``handler`` for SIGINT during the block, when in the main thread (signals are delivered
    there only); the previous handler afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:  # None: a handler not set from Python; Python's own is the usual one
        signal.signal(signal.SIGINT, signal.default_int_handler if previous is None else previous)


class LocalBackend:
    """Runs everything in this process on the configured database (embedded SQLite by default)."""

    def __init__(self, settings: Settings, *, need_metamodel: bool = True) -> None:
        from service.app import prepare_database
        from service.context import ServiceContext

        self.ctx = ServiceContext(settings)
        prepare_database(self.ctx)
        if need_metamodel:
            self.ctx.load_advisor()
        #: The CLI's local mode acts as the local default tenant.
        self.tenant_id = self.ctx.local_tenant_id

    def register(
        self, path: Path, target: str, *, task_type: str | None, metric: str | None
    ) -> TaskPublic:
        """See :class:`Backend`."""
        from service.operations.datasets import register_dataset
        from service.operations.tasks import create_task

        with path.open("rb") as stream:
            dataset, _ = register_dataset(self.ctx, self.tenant_id, stream, filename=path.name)
        task, _ = create_task(
            self.ctx,
            self.tenant_id,
            TaskCreate(dataset_id=dataset.id, target=target, task_type=task_type, metric=metric),  # type: ignore[arg-type]
        )
        return task

    def recommend(self, task_id: int, k: int, learners: list[str] | None) -> RecommendationsPublic:
        """See :class:`Backend`."""
        from service.operations.recommendations import recommend_for_task

        return recommend_for_task(self.ctx, self.tenant_id, task_id, k=k, learners=learners)

    def similar(self, task_id: int, k: int) -> SimilarPublic:
        """See :class:`Backend`."""
        from service.operations.recommendations import similar_to_task

        return similar_to_task(self.ctx, self.tenant_id, task_id, k=k)

    def tune(self, request: StudyCreate, progress: Progress | None) -> StudyPublic:
        """Create the study and run it with a worker in this process.

        Ctrl-C (SIGINT, when called from the main thread) stops the running trial at once when
        trials run under a time limit (in a child process; without a limit the trial finishes
        first); the trial fails as interrupted (the meta-model does not learn from it), the
        study is cancelled and :class:`TuneInterruptedError` raised. A second Ctrl-C aborts at
        once and leaves the study running (a worker's stale-trial recovery settles it).
        """
        from service.operations.studies import cancel_study, create_study, get_study
        from service.runner import Worker

        study = create_study(self.ctx, self.tenant_id, request)
        done = 0

        def tick() -> None:
            nonlocal done
            done += 1
            if progress is not None:
                progress(done, study.n_trials)

        worker = Worker(self.ctx, name="cli")
        stop = threading.Event()

        def interrupt(_signum: int, _frame: FrameType | None) -> None:
            stop.set()
            worker.executor.interrupt()
            signal.signal(signal.SIGINT, signal.default_int_handler)

        try:
            with _on_sigint(interrupt):
                worker.work_on(study.id, stop=stop, on_trial=tick)
        finally:
            worker.executor.close()
        current = get_study(self.ctx, self.tenant_id, study.id)
        if not stop.is_set():
            return current
        if current.status in ("queued", "running"):
            current = cancel_study(self.ctx, self.tenant_id, study.id)
        raise TuneInterruptedError(
            current,
            f"interrupted: study {study.id} {current.status} after {current.n_complete} "
            "complete trial(s)",
        )

    def trials(self, study_id: int) -> TrialsPublic:
        """See :class:`Backend`."""
        from service.operations.studies import list_trials

        return list_trials(self.ctx, self.tenant_id, study_id)

    def close(self) -> None:
        """Close the database connections."""
        self.ctx.close()


class RemoteBackend:
    """Talks to a running server over HTTP."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout_s: float = 300.0,
        poll_s: float = 1.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.poll_s = poll_s
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx2.Client(
            base_url=f"{self.base_url}/v1", timeout=timeout_s, headers=headers
        )

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx2.HTTPError as e:
            raise ServiceUnavailableError(f"cannot reach {self.base_url}: {e}") from e
        if response.is_success:
            return response.json()
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        if not isinstance(detail, str):
            detail = str(detail)
        kind = _ERROR_BY_STATUS.get(response.status_code)
        if kind is None:
            kind = InvalidRequestError if response.status_code < 500 else ServiceUnavailableError
        raise kind(f"{detail} (HTTP {response.status_code})")

    def register(
        self, path: Path, target: str, *, task_type: str | None, metric: str | None
    ) -> TaskPublic:
        """See :class:`Backend`."""
        with path.open("rb") as stream:
            dataset = DatasetPublic.model_validate(
                self._call("POST", "/datasets", files={"file": (path.name, stream)})
            )
        body = {
            "dataset_id": dataset.id,
            "target": target,
            "task_type": task_type,
            "metric": metric,
        }
        return TaskPublic.model_validate(self._call("POST", "/tasks", json=body))

    def recommend(self, task_id: int, k: int, learners: list[str] | None) -> RecommendationsPublic:
        """See :class:`Backend`."""
        body = {"k": k, "learners": learners}
        return RecommendationsPublic.model_validate(
            self._call("POST", f"/tasks/{task_id}/recommendations", json=body)
        )

    def similar(self, task_id: int, k: int) -> SimilarPublic:
        """See :class:`Backend`."""
        return SimilarPublic.model_validate(
            self._call("GET", f"/tasks/{task_id}/similar", params={"k": k})
        )

    def tune(self, request: StudyCreate, progress: Progress | None) -> StudyPublic:
        """Queue the study and follow it until it ends (the server's workers run it)."""
        study = StudyPublic.model_validate(
            self._call("POST", "/studies", json=request.model_dump(mode="json"))
        )
        try:
            while study.status in ("queued", "running"):
                time.sleep(self.poll_s)
                study = StudyPublic.model_validate(self._call("GET", f"/studies/{study.id}"))
                if progress is not None:
                    progress(study.n_complete + study.n_failed, study.n_trials)
        except KeyboardInterrupt:
            raise TuneInterruptedError(
                study,
                f"interrupted: study {study.id} goes on on the server (cancel it with "
                f"POST {self.base_url}/v1/studies/{study.id}/cancel)",
            ) from None
        return study

    def trials(self, study_id: int) -> TrialsPublic:
        """See :class:`Backend`."""
        return TrialsPublic.model_validate(self._call("GET", f"/studies/{study_id}/trials"))

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.http.close()
