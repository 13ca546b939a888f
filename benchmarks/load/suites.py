"""The reliability test suites of issue #5, run and tabulated: ``python -m benchmarks.load.suites``.

    python -m benchmarks.load.suites --report docs/reliability.md
    python -m benchmarks.load.suites --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

Runs the test files of access, idempotency, hostile input, fuzzing, deserialisation, killed
workers, API restarts and database outages with pytest, on SQLite and (with ``--postgres`` or
``$WARMSTART_TEST_DATABASE_URL``) on PostgreSQL, reads the JUnit XML, and prints a table per file
(passed, failed, skipped, seconds) and the figures the tests record (``record_property``: restart
time, 503s during an outage, recovery time, ...). ``--report FILE`` rewrites the section between
``<!-- reliability:checks:start -->`` and ``<!-- reliability:checks:end -->``. Exits 1 if a test
failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.load._report import machine, update_section

__all__ = ["SUITES", "main"]

REPO_ROOT = Path(__file__).resolve().parents[2]
DATABASE_ENV = "WARMSTART_TEST_DATABASE_URL"

#: (what it proves, test file)
SUITES = (
    ("API keys, scopes, tenant isolation on every route, rate limits", "test_access.py"),
    ("Idempotency-Key: a retried create creates nothing twice", "test_idempotency.py"),
    ("Hostile uploads: clear 4xx, no row or file left behind", "test_hostile_uploads.py"),
    ("Every route fuzzed from the OpenAPI schema (schemathesis)", "test_fuzz_api.py"),
    ("No untrusted deserialisation in the code", "test_no_unsafe_deserialisation.py"),
    ("A worker SIGKILLed mid-trial (heartbeats)", "test_crash_worker_kill.py"),
    ("The API restarted during a study (SIGTERM, SIGKILL)", "test_api_restart.py"),
    ("PostgreSQL stopped and started under traffic", "test_database_outage.py"),
)


@dataclass
class FileResult:
    """The outcome of one test file on one backend."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    figures: list[tuple[str, dict[str, str]]] = field(default_factory=list)


def run_backend(database_url: str | None, jobs: int) -> dict[str, FileResult]:
    """Run the suites' files with pytest on SQLite (None) or the PostgreSQL server URL."""
    env = {k: v for k, v in os.environ.items() if k != DATABASE_ENV}
    if database_url:
        env[DATABASE_ENV] = database_url
    files = [str(REPO_ROOT / "tests" / "service" / name) for _, name in SUITES]
    with tempfile.TemporaryDirectory() as tmp:
        junit = Path(tmp) / "junit.xml"
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        if jobs > 1:
            command += ["-n", str(jobs)]
        subprocess.run(
            [*command, f"--junitxml={junit}", *files], cwd=REPO_ROOT, env=env, check=False
        )
        return parse_junit(junit)


def parse_junit(path: Path) -> dict[str, FileResult]:
    """Results per test file name from a JUnit XML report (with each test's properties)."""
    results: dict[str, FileResult] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        name = case.get("classname", "").rsplit(".", 1)[-1] + ".py"
        result = results.setdefault(name, FileResult())
        result.seconds += float(case.get("time", "0"))
        if case.find("skipped") is not None:
            result.skipped += 1
        elif case.find("failure") is not None or case.find("error") is not None:
            result.failed += 1
        else:
            result.passed += 1
        properties = {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
        if properties:
            result.figures.append((case.get("name", ""), properties))
    return results


def _cell(result: FileResult | None) -> str:
    if result is None:
        return "not run"
    text = f"{result.passed} passed"
    if result.failed:
        text += f", **{result.failed} FAILED**"
    if result.skipped:
        text += f", {result.skipped} skipped"
    return f"{text} ({result.seconds:.0f} s)"


def markdown(runs: dict[str, dict[str, FileResult]], command: str) -> str:
    """The table of suites by backend and the figures the tests recorded."""
    m = machine()
    backends = list(runs)
    lines = [
        f"Command: `{command}`",
        "",
        f"Run {m['date_utc']} on `{m['host']}` ({m['cores']} × {m['cpu']}, shared with other "
        "jobs; test seconds are summed over tests, not wall time).",
        "",
        "| what | tests | " + " | ".join(backends) + " |",
        "|---|---|" + "---|" * len(backends),
    ]
    for what, name in SUITES:
        cells = " | ".join(_cell(runs[b].get(name)) for b in backends)
        lines.append(f"| {what} | `tests/service/{name}` | {cells} |")
    figures = [
        (backend, test, props)
        for backend in backends
        for _, name in SUITES
        for test, props in (runs[backend].get(name) or FileResult()).figures
    ]
    if figures:
        lines += ["", "Figures recorded by the tests:", ""]
        for backend, test, props in figures:
            values = ", ".join(f"{k} = {v}" for k, v in props.items())
            lines.append(f"- {backend}, `{test}`: {values}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the suites; 0 if every test passed (or was skipped), 1 otherwise."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.load.suites", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get(DATABASE_ENV),
        help=f"PostgreSQL server URL for the second run (default: ${DATABASE_ENV})",
    )
    parser.add_argument("--jobs", type=int, default=2, help="pytest-xdist processes")
    parser.add_argument("--report", type=Path, help="markdown file with the reliability markers")
    args = parser.parse_args(argv)
    runs = {"SQLite": run_backend(None, args.jobs)}
    if args.postgres:
        runs["PostgreSQL"] = run_backend(args.postgres, args.jobs)
    command = " ".join(["python -m benchmarks.load.suites", *(argv or sys.argv[1:])])
    body = markdown(runs, command)
    print(body)
    if args.report is not None:
        update_section(args.report, "checks", body)
        print(f"updated the checks section of {args.report}")
    failed = sum(r.failed for results in runs.values() for r in results.values())
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
