"""Starting and stopping the server under test (``--spawn``)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx2

__all__ = ["SpawnedServer", "free_port", "spawn_server", "wait_healthy"]

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKERS = 2
SERVE = [sys.executable, "-m", "service", "serve"]


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SpawnedServer:
    """A ``warmstart serve`` process group and its URL."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def stop(self) -> None:
        """SIGTERM (the workers stop after their trial), SIGKILL of the group after 60 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)


def wait_healthy(url: str, timeout_s: float, process: subprocess.Popen[bytes] | None) -> None:
    """Wait until ``GET /v1/health`` answers 200.

    Raises:
        RuntimeError: the process exited, or the server stayed unhealthy.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            if httpx2.get(f"{url}/v1/health", timeout=2).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"the server was not healthy within {timeout_s:.0f} s")


def spawn_server(home: Path, database_url: str | None) -> SpawnedServer:
    """``warmstart serve --workers 2`` on a free loopback port with ``home`` as its data
    directory, on ``database_url`` (migrated first) or the embedded SQLite default.

    Raises:
        RuntimeError: the migration failed or the server did not become healthy (see
            ``home/serve.log``).
    """
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARMSTART_")}
    env.update(WARMSTART_HOME=str(home), WARMSTART_LOG_LEVEL="warning", PYTHONPATH=str(REPO_ROOT))
    log = home / "serve.log"
    if database_url:
        env["WARMSTART_DATABASE_URL"] = database_url
        migrated = subprocess.run(
            [sys.executable, "-m", "service", "db", "upgrade"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if migrated.returncode != 0:
            raise RuntimeError(f"warmstart db upgrade failed: {migrated.stderr.strip()}")
    port = free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*SERVE, "--port", str(port), "--workers", str(WORKERS)],
            env=env,
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = SpawnedServer(process, f"http://127.0.0.1:{port}", log)
    try:
        wait_healthy(server.url, 180, process)
    except RuntimeError as e:
        server.stop()
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
        raise RuntimeError(f"{e}; its output ended with:\n{tail}") from None
    return server
