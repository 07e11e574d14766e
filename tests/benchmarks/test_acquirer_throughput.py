"""Acquirer throughput: durable authorizations per second on SQLite (DESIGN.md bar: >= 1,200/s,
p99 <= 50 ms, load generator on the same machine, ledger approvals == approvals returned).

Run by `make bench`; prints figures and asserts only correctness (every answer accounted for,
the ledger agrees with the approvals returned, every journal balances), never times.

How it runs:

1. A fresh data directory (``tap-acquirer init``) with ``CARDS`` tokens provisioned.
2. ``REQUESTS`` authorization requests prepared beforehand, each a fresh ARQC computed by
   the test card of tests/acquirer/testkit.py over its own ATC, with its own idempotency key,
   spread over ``TERMINALS`` terminal ids; written one per line for the load generator.
3. ``tap-acquirer serve --workers WORKERS`` (uvicorn worker processes on one socket; SQLite
   with ``synchronous=FULL``, each worker's writer committing in groups) on a loopback port.
4. wrk (a compiled load generator, so the generator's own CPU cost stays small) with
   ``CONNECTIONS`` keep-alive connections sends every prepared request once
   (tests/benchmarks/acquirer_load.lua) and measures each request's latency; then
   ``GET /v1/health`` for a few seconds, for comparison.
5. The rate is the number of authorizations recorded divided by the time between the first
   and the last one (the acquirer's own timestamps: wrk's clock runs for its whole ``-d``).
6. The ledger is read back: sale journals must equal the approvals wrk saw.

Why ``CONNECTIONS`` is 24: each wrk connection is one terminal with one request in flight,
so the connection count *is* the concurrency. By Little's law the mean latency is the
requests in flight divided by the rate: at 1,200/s a p99 within 50 ms leaves room for
roughly 30 requests in flight or fewer, so 64 connections could not meet the latency bar at
any rate this 2-core machine reaches (64 / 1,200/s is already 53 ms on average). 24
concurrent terminals, spread over the ``TERMINALS`` terminal ids, is a realistic "many
terminals at once" load that measures the server's capacity rather than the length of its
queue; measured on this machine, 24, 32 and 64 connections gave the same rate within noise
(24: 861-924/s, p99 54-66 ms; 32: 846/s, p99 93 ms; 64: 914/s, p99 146 ms). Override with
``BENCH_CONNECTIONS``.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from acquirer.domains import open_database
from acquirer.keys import initialize, load_key_material
from acquirer.payments.sql import SqlPaymentStore
from acquirer.settings import Settings
from acquirer.vault import TokenVault
from emvcore.pan import luhn_check_digit
from tests.acquirer.processes import acquirer_process
from tests.acquirer.testkit import TestCard

CARDS = int(os.environ.get("BENCH_CARDS", "700"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "20000"))
TERMINALS = 200
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "24"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
WRK_THREADS = 1
LUA = Path(__file__).with_name("acquirer_load.lua")


def _funding_pan(n: int) -> str:
    body = f"4111{n:011d}"
    return body + luhn_check_digit(body)


def _prepare(tmp: Path) -> tuple[Settings, Path]:
    settings = Settings(tmp / "acquirer")
    initialize(settings)
    keys = load_key_material(settings)
    store = SqlPaymentStore(open_database(settings))
    store.engine.migrate()
    vault = TokenVault(
        store, keys.issuer_keys, keys.vault_key, bin_controller_id=settings.bin_controller_id
    )
    cards = []
    for n in range(CARDS):
        record = vault.provision(_funding_pan(n), "visa" if n % 2 else "mastercard")
        cards.append(TestCard(record.token, keys.issuer_keys.for_pan(record.token), record.psn))
    store.engine.close()
    lines = []
    for i in range(REQUESTS):
        card = cards[i % CARDS]
        amount = 100 + i % 5000
        tap = card.tap(amount=amount, atc=1 + i // CARDS)
        body = {
            "terminal_id": f"T{i % TERMINALS:04d}",
            "amount": amount,
            "currency": "EUR",
            "emv_data": tap.hex,
        }
        lines.append(f"bench-{i}\t{json.dumps(body, separators=(',', ':'))}")
    path = tmp / "requests.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return settings, path


def _wrk(url: str, script: Path | None, requests: Path | None, seconds: int) -> dict[str, Any]:
    command = ["wrk", f"-t{WRK_THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s"]
    env = {**os.environ, "WRK_THREADS": str(WRK_THREADS)}
    if script is not None and requests is not None:
        command += ["-s", str(script)]
        env["REQUESTS"] = str(requests)
    done = subprocess.run(
        [*command, url], capture_output=True, text=True, env=env, check=True, timeout=seconds + 60
    )
    return {"stdout": done.stdout, "summary": done.stdout.strip().splitlines()[-1]}


def _connections_per_worker(port: int) -> list[int]:
    """Established connections on ``port`` per server process (how wrk's were spread)."""
    done = subprocess.run(
        ["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
        capture_output=True,
        text=True,
        check=False,
    )
    counts: dict[str, int] = {}
    for line in done.stdout.splitlines():
        # A connection still in the accept queue belongs to no process yet: not counted.
        if "pid=" in line:
            pid = line.rpartition("pid=")[2].partition(",")[0]
            counts[pid] = counts.get(pid, 0) + 1
    return sorted(counts.values(), reverse=True)


class _SplitProbe(threading.Thread):
    """Records the connection spread as soon as a worker has accepted each of wrk's connections.

    Polls ``ss`` until ``CONNECTIONS`` connections belong to a worker (for at most 30 s, after which the
    spread is reported as seen, or ``?`` if none was).
    """

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.split: list[int] = []

    def run(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            self.split = _connections_per_worker(self.port)
            if sum(self.split) >= CONNECTIONS:
                return
            time.sleep(0.1)  # between two looks at the kernel's socket table


def _health_rate(output: str) -> float:
    for line in output.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise AssertionError(f"no rate in wrk output:\n{output}")


@pytest.mark.benchmark
def test_acquirer_authorizations_per_second(tmp_path: Path) -> None:
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (apt-get install wrk)")
    settings, requests = _prepare(tmp_path)
    with acquirer_process(settings.data_dir, args=["--workers", str(WORKERS)]) as url:
        probe = _SplitProbe(int(url.rsplit(":", 1)[1]))
        probe.start()
        result = _wrk(url, LUA, requests, seconds=max(20, REQUESTS // 300))
        probe.join()
        health = _wrk(f"{url}/v1/health", None, None, seconds=5)
    stats = json.loads(result["summary"])
    store = SqlPaymentStore(open_database(settings))
    try:
        totals = store.ledger_totals()
        recorded = store.count_authorizations()
    finally:
        store.engine.close()
    with sqlite3.connect(settings.database) as db:
        first, last = db.execute(
            "SELECT MIN(created_at), MAX(created_at) FROM authorizations"
        ).fetchone()
    elapsed = (datetime.fromisoformat(last) - datetime.fromisoformat(first)).total_seconds()
    rate = recorded / elapsed
    print(
        f"\nacquirer on SQLite (synchronous=FULL, group commit), {WORKERS} worker process(es), "
        f"{CONNECTIONS} connections, "
        f"{REQUESTS} unique ARQCs from {CARDS} cards on {TERMINALS} terminals:\n"
        f"  authorizations: {rate:,.0f}/s, p50 {stats['p50_us'] / 1000:.1f} ms, "
        f"p99 {stats['p99_us'] / 1000:.1f} ms, max {stats['max_us'] / 1000:.1f} ms\n"
        f"  trivial endpoint GET /v1/health: {_health_rate(health['stdout']):,.0f}/s\n"
        f"  wrk's connections per worker process: {'/'.join(map(str, probe.split)) or '?'}\n"
        f"  ({recorded} in {elapsed:.2f} s, the acquirer's first to last timestamp)\n"
        f"  approvals returned {stats['approved']}, declined {stats['declined']}, "
        f"errors {stats['errors']}, socket errors {stats['socket_errors']}\n"
        f"  ledger: sale journals {totals.journals.get('sale', 0)}, "
        f"unbalanced journals {totals.unbalanced}, authorizations recorded {recorded}"
    )
    assert stats["exhausted"] == 1, "wrk's run ended before every prepared request was sent"
    assert stats["errors"] == 0 and stats["socket_errors"] == 0
    assert stats["approved"] + stats["declined"] == REQUESTS
    assert totals.journals.get("sale", 0) == stats["approved"]
    assert totals.unbalanced == 0
