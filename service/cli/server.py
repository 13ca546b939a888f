"""``warmstart serve`` (API plus local workers) and ``warmstart worker``."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
import threading
from types import FrameType
from typing import Annotated, Any

import typer
from pydantic import SecretStr

from service.config import Settings

__all__ = ["serve", "worker"]

logger = logging.getLogger(__name__)


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def _settings_environment(settings: Settings) -> dict[str, str]:
    """``WARMSTART_*`` variables that rebuild ``settings`` in another process."""
    prefix = str(Settings.model_config.get("env_prefix", ""))
    environment: dict[str, str] = {}
    for name, value in settings.model_dump(mode="json").items():
        raw = getattr(settings, name)
        if value is None:
            value = "null"  # Settings' env_parse_none_str
        elif isinstance(raw, SecretStr):
            value = raw.get_secret_value()
        environment[f"{prefix}{name}".upper()] = (
            value if isinstance(value, str) else json.dumps(value)
        )
    return environment


def _watch_parent(parent_pid: int, stop: threading.Event) -> None:
    # A worker started by `serve` must not outlive it, even if `serve` is killed with SIGKILL.
    while not stop.wait(1.0):
        if os.getppid() != parent_pid:
            logger.warning("the serve process %s is gone: stopping", parent_pid)
            stop.set()


def _run_worker(
    settings_values: dict[str, Any],
    name: str | None,
    exit_when_idle: bool,
    parent_pid: int | None = None,
) -> int:
    from service.app import prepare_database
    from service.context import ServiceContext
    from service.runner import Worker

    settings = Settings(**settings_values)
    _configure_logging(settings.log_level)
    ctx = ServiceContext(settings)
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        logger.info("signal %s: stopping after the current trial", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if parent_pid is not None:
        threading.Thread(target=_watch_parent, args=(parent_pid, stop), daemon=True).start()
    try:
        prepare_database(ctx)
        worker = Worker(ctx, name=name)
        logger.info("worker %s polling %s", worker.name, ctx.db.engine.url.render_as_string())
        return worker.run(stop, exit_when_idle=exit_when_idle)
    finally:
        ctx.close()


def worker(
    name: Annotated[
        str | None, typer.Option(help="worker name in the trial records (default host:pid)")
    ] = None,
    exit_when_idle: Annotated[
        bool,
        typer.Option("--exit-when-idle", help="stop when no study needs trials, don't poll"),
    ] = False,
) -> None:
    """Claim queued studies from the database and run their trials (until SIGTERM/Ctrl-C)."""
    ran = _run_worker(Settings().model_dump(), name, exit_when_idle)
    typer.echo(f"worker ran {ran} trials")


def serve(
    host: Annotated[str | None, typer.Option(help="bind address (WARMSTART_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port (WARMSTART_PORT)")] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="local worker processes (WARMSTART_WORKERS; 0 = API only)"),
    ] = None,
    api_processes: Annotated[
        int | None,
        typer.Option(help="API processes sharing the port (WARMSTART_API_PROCESSES)"),
    ] = None,
) -> None:
    """Start the API and local workers: one command runs everything on the embedded default."""
    import uvicorn

    from service.app import create_app, prepare_database
    from service.context import ServiceContext

    settings = Settings()
    overrides = {
        k: v
        for k, v in {
            "host": host,
            "port": port,
            "workers": workers,
            "api_processes": api_processes,
        }.items()
        if v is not None
    }
    settings = Settings.model_validate({**settings.model_dump(), **overrides})
    _configure_logging(settings.log_level)
    ctx = ServiceContext(settings)
    try:
        prepare_database(ctx)  # before the workers start, so they find a migrated database
    finally:
        ctx.close()
    mp = multiprocessing.get_context("spawn")
    processes = [
        mp.Process(
            target=_run_worker,
            args=(settings.model_dump(), f"local-{i}", False, os.getpid()),
            name=f"warmstart-worker-{i}",
        )
        for i in range(settings.workers)
    ]
    for process in processes:
        process.start()

    def _exit(signum: int, _frame: FrameType | None) -> None:
        # uvicorn re-raises the signal after its graceful shutdown; end here so the workers are
        # stopped below.
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _exit)
    try:
        if settings.api_processes == 1:
            uvicorn.run(
                create_app(settings),
                host=settings.host,
                port=settings.port,
                log_level=settings.log_level,
            )
        else:
            # uvicorn's processes build their app from the environment: hand them these
            # settings (the host decides whether API keys are required).
            os.environ.update(_settings_environment(settings))
            uvicorn.run(
                "service.app:create_app",
                factory=True,
                workers=settings.api_processes,
                host=settings.host,
                port=settings.port,
                log_level=settings.log_level,
            )
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
