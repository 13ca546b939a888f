"""The load benchmark: its ``--quick`` run against a spawned server (every endpoint, no error,
memory and CPU sampled, the report section rewritten), and its pure parts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.load import main
from benchmarks.load._memory import growth
from benchmarks.load._report import update_section
from benchmarks.load._workload import ENDPOINTS

REPORT = """# Reliability
<!-- reliability:load:start -->
old figures
<!-- reliability:load:end -->
<!-- reliability:soak:start -->
soak figures
<!-- reliability:soak:end -->
"""


@pytest.mark.slow
def test_a_quick_run_covers_every_endpoint_without_errors_and_rewrites_its_section(
    tmp_path: Path,
) -> None:
    report, out = tmp_path / "reliability.md", tmp_path / "load.json"
    report.write_text(REPORT)

    assert main(["--spawn", "--quick", "--out", str(out), "--report", str(report)]) == 0

    result = json.loads(out.read_text())
    rows = {r["endpoint"]: r for r in result["endpoints"]}
    assert list(rows) == [*ENDPOINTS, "all"]
    assert all(rows[e]["requests"] > 0 for e in ENDPOINTS), rows
    assert rows["all"]["errors"] == 0 and result["error_samples"] == {}
    assert rows["all"]["p50_ms"] <= rows["all"]["p95_ms"] <= rows["all"]["p99_ms"]
    assert result["studies_created"] >= result["clients"]
    assert len(result["memory_samples"]) >= 3
    assert {"api", "worker", "total"} <= set(result["memory"])
    assert result["memory"]["api"]["start_mb"] > 10 and result["cpu_s"]["api"] > 0
    text = report.read_text()
    assert "old figures" not in text and "soak figures" in text
    assert "**Errors: 0**" in text and "`POST /v1/studies`" in text


def test_growth_is_a_least_squares_slope_per_role_and_in_total() -> None:
    samples = [(60.0 * i, {"api": 100.0 + 2 * i, "worker": 50.0}) for i in range(10)]
    memory = growth(samples)
    assert memory["api"]["slope_mb_per_min"] == pytest.approx(2.0)
    assert memory["worker"]["slope_mb_per_min"] == pytest.approx(0.0, abs=1e-9)
    assert memory["total"]["start_mb"] == 150.0 and memory["total"]["end_mb"] == 168.0
    assert memory["total"]["slope_second_half_mb_per_min"] == pytest.approx(2.0)


def test_a_report_without_the_markers_is_refused(tmp_path: Path) -> None:
    report = tmp_path / "plain.md"
    report.write_text("# no markers\n")
    with pytest.raises(ValueError, match="reliability:load:start"):
        update_section(report, "load", "figures")
    assert report.read_text() == "# no markers\n"


def test_bad_arguments_exit_2() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--server", "http://127.0.0.1:9", "--database-url", "sqlite:///x.db"])
    assert exit_info.value.code == 2


def test_the_suites_table_counts_outcomes_per_file_and_keeps_recorded_figures(
    tmp_path: Path,
) -> None:
    from benchmarks.load.suites import markdown, parse_junit

    junit = tmp_path / "junit.xml"
    junit.write_text(
        """<?xml version="1.0"?><testsuites><testsuite>
        <testcase classname="tests.service.test_api_restart" name="t[a]" time="2.5">
          <properties><property name="restart_s" value="4.2"/></properties></testcase>
        <testcase classname="tests.service.test_api_restart" name="t[b]" time="1">
          <skipped message="sqlite"/></testcase>
        <testcase classname="tests.service.test_access" name="x" time="0.5">
          <failure message="boom"/></testcase>
        </testsuite></testsuites>"""
    )
    results = parse_junit(junit)
    restart, access = results["test_api_restart.py"], results["test_access.py"]
    assert (restart.passed, restart.skipped, restart.failed) == (1, 1, 0)
    assert restart.seconds == pytest.approx(3.5)
    assert restart.figures == [("t[a]", {"restart_s": "4.2"})]
    assert (access.passed, access.failed) == (0, 1)
    text = markdown({"SQLite": results}, "python -m benchmarks.load.suites")
    assert "1 passed, 1 skipped (4 s)" in text and "**1 FAILED**" in text
    assert "restart_s = 4.2" in text and "not run" in text
