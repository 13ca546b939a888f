"""docker-compose.yml: the services, their order, their settings, and commands our CLI accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from sqlalchemy.engine import make_url

from service.cli import app as cli_app
from service.config import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def _check_cli_command(argv: list[str]) -> None:
    """Fail unless ``argv`` is a ``warmstart`` command line our CLI parses."""
    assert argv[0] == "warmstart"
    command: Any = typer.main.get_command(cli_app)
    args = argv[1:]
    while hasattr(command, "list_commands"):  # a group (typer vendors its own click classes)
        assert args, f"{argv} names a group, not a command"
        sub = command.get_command(
            command.make_context(argv[0], [], resilient_parsing=True), args[0]
        )
        assert sub is not None, f"unknown command {args[0]!r} in {argv}"
        command, args = sub, args[1:]
    command.make_context(argv[0], list(args))  # raises on unknown options or bad values


def test_services_and_images(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "migrate", "api", "worker-1", "worker-2"}
    assert services["postgres"]["image"].startswith("postgres:")
    assert "healthcheck" in services["postgres"]
    for name in ("migrate", "api", "worker-1", "worker-2"):
        assert services[name]["build"] == "."
    assert (REPO_ROOT / "Dockerfile").is_file()


def test_start_order_uses_health_and_completion_conditions(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["migrate"]["restart"] == "no"
    for name in ("api", "worker-1", "worker-2"):
        assert services[name]["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }


def test_environment_points_every_role_at_the_same_postgres(compose: dict[str, Any]) -> None:
    services = compose["services"]
    postgres_env = services["postgres"]["environment"]
    urls = set()
    for name in ("migrate", "api", "worker-1", "worker-2"):
        env = services[name]["environment"]
        settings = Settings(**{k.removeprefix("WARMSTART_").lower(): v for k, v in env.items()})
        url = make_url(settings.resolved_database_url)
        assert url.drivername == "postgresql+psycopg" and url.host == "postgres"
        assert (url.username, url.password, url.database) == (
            postgres_env["POSTGRES_USER"],
            postgres_env["POSTGRES_PASSWORD"],
            postgres_env["POSTGRES_DB"],
        )
        urls.add(str(url))
        assert "warmstart-data:/data" in services[name]["volumes"]  # uploads shared by all
        assert env["WARMSTART_HOME"] == "/data"
    assert len(urls) == 1
    assert set(compose["volumes"]) >= {"postgres-data", "warmstart-data"}


def test_commands_exist_in_our_cli(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["migrate"]["command"][:3] == ["warmstart", "db", "upgrade"]
    assert services["api"]["command"][:2] == ["warmstart", "serve"]
    assert "--workers" in services["api"]["command"]  # API only: the workers are services
    for name in ("worker-1", "worker-2"):
        assert services[name]["command"][:2] == ["warmstart", "worker"]
    for name in ("migrate", "api", "worker-1", "worker-2"):
        _check_cli_command(services[name]["command"])
    assert "8000:8000" in services["api"]["ports"]


def test_the_command_check_rejects_what_the_cli_would() -> None:
    with pytest.raises(AssertionError):
        _check_cli_command(["warmstart", "nonsense"])
    with pytest.raises(Exception, match="No such option"):
        _check_cli_command(["warmstart", "worker", "--no-such-option"])
