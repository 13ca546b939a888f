"""Real service processes for crash tests: ``warmstart serve`` and ``warmstart worker`` started as
subprocesses on a given database, killed with real signals, and a private PostgreSQL cluster that
a test may stop and start (never the shared server other tests use).

Every process runs in its own session (process group), so a test can kill ``serve`` alone or
``serve`` with the workers it spawned, and :func:`reap` leaves nothing running.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from benchmarks.load._server import free_port
from benchmarks.load._server import wait_healthy as wait_until_healthy

REPO_ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path("/usr/local/bin")


def service_env(home: Path, database_url: str, **settings: object) -> dict[str, str]:
    """The environment of a service process: ``WARMSTART_*`` from ``settings`` (lower-case names
    of :class:`service.config.Settings` fields) on top of this process's environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARMSTART_")}
    env.update({"WARMSTART_HOME": str(home), "WARMSTART_DATABASE_URL": database_url})
    env.update({f"WARMSTART_{k.upper()}": str(v) for k, v in settings.items()})
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env


class ServiceProcess:
    """``python -m service ARGS`` in its own process group, output in ``log``."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "service", *args],
                env=env,
                cwd=REPO_ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def signal(self, signum: int, *, group: bool = False) -> None:
        """Send ``signum`` to the process (``group``: and to every process it started)."""
        if group:
            os.killpg(self.process.pid, signum)
        else:
            self.process.send_signal(signum)

    def wait(self, timeout_s: float) -> int:
        """The exit code (negative: the signal that ended it)."""
        return self.process.wait(timeout=timeout_s)

    def tail(self, n: int = 40) -> str:
        """The last ``n`` lines of the output (for assertion messages)."""
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])


def start_server(env: dict[str, str], port: int, log: Path, *, workers: int) -> ServiceProcess:
    """``warmstart serve`` on ``127.0.0.1:port``, returned once ``/v1/health`` answers 200."""
    server = ServiceProcess(["serve", "--port", str(port), "--workers", str(workers)], env, log)
    wait_healthy(server, f"http://127.0.0.1:{port}")
    return server


def wait_healthy(server: ServiceProcess, url: str, timeout_s: float = 90.0) -> None:
    """Wait for ``GET /v1/health`` to answer 200.

    Raises:
        AssertionError: the server exited or stayed unhealthy (its output is in the message).
    """
    try:
        wait_until_healthy(url, timeout_s, server.process)
    except RuntimeError as error:
        raise AssertionError(f"{error}:\n{server.tail()}") from None


def reap(processes: Iterable[ServiceProcess]) -> None:
    """SIGKILL every process group that is still there (test cleanup)."""
    for p in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.process.wait(timeout=10)


class PrivateCluster:
    """A throw-away PostgreSQL cluster on a free loopback port (trust auth, user ``postgres``).

    ``initdb`` refuses to run as root, so as root the cluster belongs to the ``postgres`` user.
    """

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="warmstart-pg-"))
        self.data = self.root / "data"
        self.logfile = self.root / "postgres.log"
        self.port = free_port()
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.root, user="postgres")
        self._run(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(self.data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        )

    @staticmethod
    def available() -> bool:
        """True when ``initdb`` and ``pg_ctl`` are installed (and, as root, a ``postgres`` user)."""
        import pwd

        if not (PG_BIN / "initdb").exists() or not (PG_BIN / "pg_ctl").exists():
            return False
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                return False
        return True

    def _run(self, command: list[str]) -> None:
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
            "-c fsync=off -c max_connections=200"
        )
        pg_ctl = str(PG_BIN / "pg_ctl")
        log = str(self.logfile)
        self._run([pg_ctl, "-D", str(self.data), "-o", options, "-l", log, "-w", "start"])

    def stop(self, mode: str = "fast") -> None:
        """``pg_ctl stop -m MODE`` (fast: open transactions are rolled back, clients cut off)."""
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])

    def create_database(self, name: str) -> str:
        """Create database ``name``; returns its SQLAlchemy URL."""
        import sqlalchemy as sa

        admin = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        return self.url(name)

    def destroy(self) -> None:
        """Stop the server (if running) and remove its files."""
        with contextlib.suppress(subprocess.CalledProcessError):  # not running
            self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"])
        shutil.rmtree(self.root, ignore_errors=True)
