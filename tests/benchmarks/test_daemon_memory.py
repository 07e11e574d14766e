"""Peak memory of the terminal daemon (``tap-terminal run``): its RSS high-water mark (VmHWM)
after it started, served a payment with the emulated card through a real acquirer, and answered
the journal and event queries a kiosk makes.
"""

from __future__ import annotations

from pathlib import Path

from tests.benchmarks.memory import peak_rss_kib
from tests.benchmarks.report import Report
from tests.terminal.daemon.test_process import client, daemon_process, settings_file, wait_final


def test_daemon_peak_memory(
    tmp_path: Path, acquirer: tuple[str, Path], bench_report: Report
) -> None:
    settings = settings_file(tmp_path, acquirer[0])
    with daemon_process(settings, acquirer[1]) as (process, url), client(url) as api:
        started = peak_rss_kib(process.pid)
        created = api.post(
            "/v1/actions",
            json={"kind": "payment", "amount": 1234, "currency": "EUR", "reference": "bench-1"},
            headers={"Idempotency-Key": "bench-1"},
        )
        assert created.status_code == 201, created.text
        done = wait_final(api, created.json()["id"], "completed", "failed", "cancelled")
        assert done["state"] == "completed", done
        for _ in range(20):
            assert api.get("/v1/transactions").status_code == 200
        peak = peak_rss_kib(process.pid)
    print(f"\nterminal daemon peak RSS: {peak / 1024:.1f} MiB (after start {started / 1024:.1f})")
    bench_report.add(
        "memory",
        "terminal daemon peak RSS",
        "one payment, emulated card",
        max_mib=peak / 1024,
        at_start_mib=started / 1024,
    )
    assert peak >= started > 0
