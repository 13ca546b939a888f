"""The ``warmstart kb`` commands, run as a user runs them (a subprocess of the installed entry)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from metaknowledge.knowledge import write_snapshot

from .kbfactory import make_kb


def warmstart(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("warmstart")
    cmd = [exe] if exe else [sys.executable, "-c", "from service.cli import main; main()"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=300, check=False)


def test_info_json_describes_the_bundled_snapshot() -> None:
    result = warmstart("kb", "info", "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["n_datasets"] == 418 and info["n_configs"] == 219
    assert {s["package"] for s in info["sources"]} == {"oboe", "lcdb"}


def test_info_text() -> None:
    result = warmstart("kb", "info")
    assert result.returncode == 0
    assert "datasets 418, configurations 219" in result.stdout


def test_evaluate_prints_a_table_and_writes_json(tmp_path: Path) -> None:
    write_snapshot(make_kb(30), tmp_path / "kb")
    out = tmp_path / "eval.json"
    result = warmstart("kb", "evaluate", "--snapshot", str(tmp_path / "kb"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "| metamodel | sequential |" in result.stdout
    payload = json.loads(out.read_text())
    names = {(r["name"], r["setting"]) for r in payload["results"]}
    assert ("kNN best configs", "static") in names and ("greedy portfolio", "static") in names
    assert ("similarity oracle (bound)", "static") in names
    assert "not a proposer but a reference" in result.stdout
    assert all(r["n_datasets"] == 30 for r in payload["results"])


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("kb", "info", "--snapshot", "/nonexistent"), 1, "error: no knowledge-base snapshot"),
        (("kb", "evaluate", "--setting", "bogus"), 2, "setting must be"),
        (
            (
                "kb",
                "nope",
            ),
            2,
            "No such command",
        ),
    ],
)
def test_failures_exit_non_zero_with_a_reason(
    args: tuple[str, ...], code: int, message: str
) -> None:
    result = warmstart(*args)
    assert result.returncode == code
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_evaluate_can_refresh_a_readme_table(tmp_path: Path) -> None:
    write_snapshot(make_kb(12), tmp_path / "kb")
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- kb-evaluate:start -->\nold\n<!-- kb-evaluate:end -->\nrest\n")
    result = warmstart(
        "kb", "evaluate", "--snapshot", str(tmp_path / "kb"), "--setting", "static",
        "--out", str(tmp_path / "e.json"), "--readme", str(readme),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    text = readme.read_text()
    assert "old" not in text and "| metamodel | static |" in text
    assert text.startswith("intro\n") and text.endswith("rest\n")
    bare = tmp_path / "bare.md"
    bare.write_text("no markers\n")
    result = warmstart(
        "kb", "evaluate", "--snapshot", str(tmp_path / "kb"), "--setting", "static",
        "--out", str(tmp_path / "e.json"), "--readme", str(bare),
    )  # fmt: skip
    assert result.returncode == 2 and "markers" in result.stderr
    assert bare.read_text() == "no markers\n"
