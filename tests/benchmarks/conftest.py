"""The session's benchmark report: every benchmark adds rows to ``bench_report``; at the end of
the run the rows are printed as one table and written to build/bench (report.json, latency.html).

The acquirer benchmarks use the acquirer tests' fixtures (an initialized data directory, on
SQLite or on a fresh PostgreSQL schema) and the daemon tests' session acquirer and card.
"""

from __future__ import annotations

import pytest

from tests.acquirer.conftest import backend_settings, keys, postgres_url, settings
from tests.benchmarks.report import Report, output_folder, table
from tests.terminal.daemon.conftest import acquirer

__all__ = ["acquirer", "backend_settings", "keys", "postgres_url", "settings"]

REPORT = pytest.StashKey[Report]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[REPORT] = Report()


@pytest.fixture
def bench_report(request: pytest.FixtureRequest) -> Report:
    """The session's report (rows added by each benchmark)."""
    return request.config.stash[REPORT]


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    report = config.stash.get(REPORT, None)
    if report is None or not report.rows:
        return
    terminalreporter.section("benchmark report")
    terminalreporter.write_line(table(report.rows))
    for path in report.write(output_folder(config.rootpath)):
        terminalreporter.write_line(f"written: {path}")
