"""``warmstart kb ingest-openml`` end to end: a subprocess against the loopback fake server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from metaknowledge.knowledge import read_snapshot

from .fake_openml import ApiError, FakeOpenML
from .test_cli_kb import warmstart
from .test_openml_ingest import KNN_ID, build_fake


@pytest.fixture
def served() -> Iterator[tuple[FakeOpenML, str]]:
    fake = build_fake()
    url = fake.start()
    yield fake, url
    fake.stop()


def test_ingest_openml_writes_a_snapshot(served: tuple[FakeOpenML, str], tmp_path: Path) -> None:
    _, url = served
    out = tmp_path / "kb"
    result = warmstart(
        "kb", "ingest-openml", "--server", url, "--suite", "99", "--task", "14",
        "--cache", str(tmp_path / "cache"), "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "tasks 4 (resumed 0), runs 24, mapped 15, skipped 9, unmapped params 3" in result.stdout
    assert "shrinking" in result.stdout and f"wrote {out}" in result.stdout
    kb = read_snapshot(out)
    assert kb.dataset_ids == [101, 102, 103] and KNN_ID in kb.config_ids
    assert (kb.datasets["source"] == "openml").all()
    info = warmstart("kb", "info", "--snapshot", str(out))
    assert info.returncode == 0 and "datasets 3, configurations 3" in info.stdout


def test_ingest_openml_defaults_to_warmstart_home(
    served: tuple[FakeOpenML, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, url = served
    monkeypatch.setenv("WARMSTART_HOME", str(tmp_path / "home"))
    result = warmstart("kb", "ingest-openml", "--server", url, "--task", "11", "--flow", "2")
    assert result.returncode == 0, result.stderr
    kb = read_snapshot(tmp_path / "home" / "knowledge" / "openml")
    assert kb.config_ids == [KNN_ID]


def test_ingest_openml_failure_is_one_line(served: tuple[FakeOpenML, str], tmp_path: Path) -> None:
    fake, url = served
    fake.fail_on["evaluation/list"] = ApiError(544, "Illegal filter specified")
    result = warmstart(
        "kb", "ingest-openml", "--server", url, "--cache", str(tmp_path / "c"),
        "--out", str(tmp_path / "kb"),
    )  # fmt: skip
    assert result.returncode == 1
    assert "error: OpenML error 544" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "kb" / "snapshot.json").exists()
