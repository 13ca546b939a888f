"""Typed settings of the service: one :class:`Settings` class, read from ``WARMSTART_*`` variables.

Everything that differs between a laptop, CI and a deployment is here and nowhere else. Settings
fail fast: an invalid value raises :class:`pydantic.ValidationError` when the settings are built,
not when the value is first used.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Configuration of the API, the workers and the CLI (env prefix ``WARMSTART_``).

    ``home`` holds the embedded SQLite database (unless ``database_url`` is set) and the uploaded
    files. ``database_url`` switches to another database, e.g.
    ``postgresql+psycopg://user@host:5432/warmstart``.
    """

    # ``null`` in a variable means None (how `serve` hands settings to its other processes).
    model_config = SettingsConfigDict(
        env_prefix="WARMSTART_", extra="ignore", env_parse_none_str="null"
    )

    home: Path = Field(default=Path(".warmstart"), description="data directory (DB, uploads)")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file under home"
    )
    max_upload_bytes: int = Field(
        default=200 * 1024 * 1024,
        gt=0,
        description="largest upload in bytes, and the most a gzip upload may decompress to",
    )
    max_upload_rows: int = Field(default=1_000_000, gt=0, description="most data rows of an upload")
    max_upload_columns: int = Field(default=10_000, ge=2, description="most columns of an upload")
    workers: int = Field(default=1, ge=0, description="local workers started by `serve`")
    api_processes: int = Field(
        default=1,
        ge=1,
        le=64,
        description="API processes started by `serve` (uvicorn workers sharing the port); one "
        "process serves about one core's worth of requests",
    )
    freeze_gc: bool = Field(
        default=True,
        description="after the API starts, move its long-lived objects (meta-model, knowledge "
        "base, imports) out of the garbage collector's reach (gc.freeze): full collections "
        "of them were the latency tail (recommendation p99 at 50 clients 153 -> 60 ms)",
    )
    cv_folds: int = Field(default=5, ge=2, le=20)
    trial_timeout_s: float | None = Field(
        default=600.0,
        description="per-trial wall-clock limit; trials then run in a child process. "
        "0 or unset = no limit, trials run in the worker process",
    )
    worker_poll_s: float = Field(default=1.0, gt=0)
    heartbeat_interval_s: int = Field(
        default=10,
        ge=1,
        description="seconds between the heartbeats a worker records for its running trial",
    )
    stale_grace_s: int = Field(
        default=60,
        ge=1,
        description="a running trial without a heartbeat for this long is failed as stale "
        "(its worker was killed or lost)",
    )
    stale_trial_policy: Literal["retry", "skip"] = Field(
        default="retry",
        description="retry: a stale trial's slot is released and its configuration runs again "
        "(the study still reaches n_trials complete); skip: the stale trial uses up its slot",
    )
    knowledge_base_dir: Path | None = Field(
        default=None, description="knowledge-base snapshot directory; default: the bundled one"
    )
    regression_knowledge_base_dir: Path | None = Field(
        default=None,
        description="regression knowledge-base snapshot directory; default: the bundled one",
    )
    metamodel_seed: int = 0
    refit_after_studies: int = Field(
        default=0,
        ge=0,
        description="workers refit the meta-model once this many studies succeeded since the "
        "last refit (0 = never; `warmstart kb refit` refits by hand)",
    )
    metamodel_poll_s: float = Field(
        default=30.0,
        ge=0,
        description="seconds between an API process's checks for a new meta-model version (and "
        "an idle worker's checks of the refit trigger); 0 = never",
    )
    history_prior_share: float = Field(
        default=0.5,
        gt=0,
        lt=1,
        description="in a tenant's meta-model, the share of the similarity prior that its own "
        "past tasks carry, as a group, when they are as similar to the new task as the public "
        "datasets are",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    auth: Literal["auto", "required"] = Field(
        default="auto",
        description="auto: API keys are required unless the server listens on loopback only; "
        "required: always",
    )
    api_key: SecretStr | None = Field(
        default=None, description="API key the CLI sends with --server (WARMSTART_API_KEY)"
    )
    upload_rate_per_minute: float = Field(
        default=60.0, ge=0, description="uploads per API key and minute (0 = unlimited)"
    )
    upload_burst: int = Field(default=10, ge=1, description="uploads an API key may send at once")
    study_rate_per_minute: float = Field(
        default=30.0, ge=0, description="studies created per API key and minute (0 = unlimited)"
    )
    study_burst: int = Field(default=10, ge=1, description="studies an API key may create at once")

    @model_validator(mode="after")
    def _grace_exceeds_heartbeat(self) -> Settings:
        if self.stale_grace_s <= self.heartbeat_interval_s:
            raise ValueError("stale_grace_s must be longer than heartbeat_interval_s")
        return self

    @field_validator("trial_timeout_s")
    @classmethod
    def _zero_means_none(cls, value: float | None) -> float | None:
        if value is not None and value < 0:
            raise ValueError("trial_timeout_s must be >= 0")
        return value or None

    @property
    def resolved_database_url(self) -> str:
        """The database URL actually used: ``database_url`` or ``sqlite:///{home}/warmstart.db``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'warmstart.db').resolve()}"

    @property
    def is_embedded(self) -> bool:
        """True for the embedded SQLite database, which the service migrates by itself."""
        return self.resolved_database_url.startswith("sqlite")

    @property
    def is_loopback(self) -> bool:
        """True when ``host`` reaches this machine only (``localhost``, 127.0.0.0/8, ``::1``)."""
        host = self.host.strip("[]")
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False  # a host name or 0.0.0.0-style wildcard: reachable from elsewhere

    @property
    def auth_required(self) -> bool:
        """True when every request needs an API key (any non-loopback host, or ``auth=required``).

        Otherwise requests without a key act as the tenant ``local`` (the embedded single-user
        default); requests with a key are still checked.
        """
        return self.auth == "required" or not self.is_loopback

    @property
    def uploads_dir(self) -> Path:
        """Where uploaded files are stored, named by their sha256."""
        return self.home / "uploads"
