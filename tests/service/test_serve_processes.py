"""``warmstart serve --api-processes N``: several uvicorn processes share the port.

The processes build their app from ``WARMSTART_*`` variables, so the settings given on the command
line must reach them intact (the host decides whether API keys are required).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest

from benchmarks.load._server import free_port
from service.cli.server import _settings_environment
from service.config import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_settings_reach_other_processes_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("WARMSTART_"):
            monkeypatch.delenv(name)
    given = Settings(
        home=tmp_path,
        host="0.0.0.0",
        api_processes=3,
        workers=0,
        trial_timeout_s=None,
        stale_trial_policy="skip",
        api_key="wsk_secret",  # type: ignore[arg-type]
    )
    for name, value in _settings_environment(given).items():
        monkeypatch.setenv(name, value)
    rebuilt = Settings()
    assert rebuilt.model_dump() == given.model_dump()
    assert rebuilt.api_key is not None and rebuilt.api_key.get_secret_value() == "wsk_secret"
    assert rebuilt.auth_required  # listening beyond loopback: keys stay required


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes()
    except OSError:
        return b""


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to find the processes")
def test_serve_runs_several_api_processes_and_stops_them(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("WARMSTART_")},
        "WARMSTART_HOME": str(tmp_path),
        "WARMSTART_LOG_LEVEL": "warning",
        "PYTHONPATH": str(REPO_ROOT),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "service",
            "serve",
            "--port",
            str(port),
            "--workers",
            "0",
            "--api-processes",
            "2",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        healthy = False
        while time.monotonic() < deadline and not healthy:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            try:
                healthy = httpx2.get(f"http://127.0.0.1:{port}/v1/health", timeout=2).is_success
            except httpx2.HTTPError:
                time.sleep(0.25)
        assert healthy, "the server did not become healthy"
        with httpx2.Client(base_url=f"http://127.0.0.1:{port}/v1", timeout=30) as client:
            for _ in range(20):  # both processes answer on the shared port
                assert client.get("/metaknowledge").status_code == 200
        # `serve` supervises one spawned process per API process (no trial workers here).
        spawned = [p for p in _children(process.pid) if b"spawn_main" in _cmdline(p)]
        assert len(spawned) == 2, spawned
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert not _children(process.pid)
