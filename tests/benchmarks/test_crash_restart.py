"""The crash-restart result for the report: kill -9 of the acquirer under load, a few times, on
each store with one and two processes (the logic of tests/acquirer/store/test_crash.py, called).

Figures: requests, kills, requests in flight when a kill landed, approvals, and the two that must
be 0: approvals lost (a client saw an approval the database does not hold) and requests doubled
(recorded twice, or a sale journal beyond one per approval).
"""

from __future__ import annotations

import os

import pytest

from acquirer import Settings
from acquirer.keys import KeyMaterial
from tests.acquirer.store.test_crash import kill_9_under_load
from tests.benchmarks.report import Report

KILLS = int(os.environ.get("BENCH_CRASH_KILLS", "3"))


@pytest.mark.parametrize("workers", [1, 2], ids=["1-process", "2-processes"])
def test_crash_restart(
    backend_settings: Settings, keys: KeyMaterial, workers: int, bench_report: Report
) -> None:
    run = kill_9_under_load(backend_settings, keys, workers, KILLS)
    backend = "PostgreSQL" if backend_settings.database_url else "SQLite"
    label = f"{backend}, {workers} process{'es' if workers > 1 else ''}"
    bench_report.add(
        "crash",
        f"kill -9 x{KILLS}, {label}",
        requests=len(run.requests),
        interrupted=len(run.interrupted),
        approved=len(run.approved),
        unanswered=len(set(run.requests) - set(run.answers)),
        lost=run.lost,
        doubled=run.doubled,
        unbalanced=run.totals.unbalanced,
    )
    assert run.lost == 0 and run.doubled == 0 and run.totals.unbalanced == 0
    assert set(run.answers) == set(run.requests)
