"""kill -9 of the acquirer under load, repeated (DESIGN.md fault bar): nothing approved is
lost, nothing is posted twice, the ledger balances.

A client keeps authorizing from many threads; the server process is killed with SIGKILL
mid-stream, restarted, and the client retries every request it got no answer to, with the
same idempotency key, as a terminal would. At the end every request has exactly one answer,
every approval a client saw is in the database under the same authorization id, and the
ledger holds exactly one balanced sale journal per approval.

It runs on SQLite and on PostgreSQL, with one acquirer process and with two (``--workers 2``,
the whole process group killed). ``make test`` kills a few times per case; ``make soak`` sets
``TAP_CRASH_KILLS=20``.
"""

from __future__ import annotations

import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from acquirer import Settings
from acquirer.domains import open_database
from acquirer.keys import KeyMaterial
from acquirer.payments.sql import SqlPaymentStore
from acquirer.settings import DATABASE_URL_ENV
from acquirer.vault import TokenVault
from emvcore.pan import luhn_check_digit
from tests.acquirer.processes import kill_group, start_acquirer, stop
from tests.acquirer.testkit import TestCard

CARDS = 10
TAPS_PER_CARD = 20
#: Kills per case: a few in ``make test``, at least 20 each in ``make soak``.
KILLS = int(os.environ.get("TAP_CRASH_KILLS", "2"))


def _requests(settings: Settings, keys: KeyMaterial) -> dict[str, dict[str, Any]]:
    store = SqlPaymentStore(open_database(settings))
    try:
        store.engine.migrate()
        vault = TokenVault(store, keys.issuer_keys, keys.vault_key, bin_controller_id="T001")
        cards = []
        for n in range(CARDS):
            digits = f"4111{n:011d}"  # one account (PAR) per card: velocity stays in bounds
            record = vault.provision(digits + luhn_check_digit(digits), "visa")
            cards.append(TestCard(record.token, keys.issuer_keys.for_pan(record.token), record.psn))
    finally:
        store.engine.close()
    requests = {}
    for atc in range(1, TAPS_PER_CARD + 1):
        for n, card in enumerate(cards):
            tap = card.tap(amount=100 + atc, atc=atc)
            body = {
                "terminal_id": f"T{n}",
                "amount": 100 + atc,
                "currency": "EUR",
                "emv_data": tap.hex,
            }
            requests[f"crash-{n}-{atc}"] = body
    return requests


@pytest.fixture(params=[1, 2], ids=["1-process", "2-processes"])
def workers(request: pytest.FixtureRequest) -> int:
    return int(request.param)


def test_kill_9_under_load_loses_nothing_and_posts_nothing_twice(
    backend_settings: Settings, keys: KeyMaterial, workers: int
) -> None:
    settings = backend_settings
    requests = _requests(settings, keys)
    env = {DATABASE_URL_ENV: settings.database_url} if settings.database_url else {}
    args = ["--workers", str(workers)] if workers > 1 else []
    answers: dict[str, bytes] = {}
    interrupted: list[str] = []
    lock = threading.Lock()

    def send(url: str, key: str) -> None:
        try:
            response = httpx.post(
                f"{url}/v1/authorizations",
                json=requests[key],
                headers={"Idempotency-Key": key},
                timeout=5,
            )
        except httpx.TransportError:
            with lock:
                interrupted.append(key)  # the server died under it: retried after the restart
            return
        if response.status_code == 200:
            with lock:
                if key in answers:  # a retry of an answered request replays the same bytes
                    assert answers[key] == response.content
                answers[key] = response.content

    for round_ in range(KILLS + 1):
        process, url = start_acquirer(settings.data_dir, env=env, args=args)
        pending = [key for key in requests if key not in answers]
        # Replays of a few answered requests: what was approved before a kill is still there.
        pending += list(answers)[:20]
        try:
            with ThreadPoolExecutor(max_workers=16) as pool:
                futures = [pool.submit(send, url, key) for key in pending]
                if round_ < KILLS:
                    # Kill once part of the work is answered, while requests are in flight.
                    target = len(answers) + max(10, len(pending) // 3)
                    while len(answers) < min(target, len(requests)) and not all(
                        f.done() for f in futures
                    ):
                        threading.Event().wait(0.005)
                    kill_group(process)  # the server and its workers
                for future in futures:
                    future.result()
        finally:
            if process.poll() is None:
                stop(process)
            else:
                process.wait()

    assert set(answers) == set(requests)
    assert len(interrupted) >= KILLS  # the kills did land on requests in flight
    approved = {
        key: json.loads(body) for key, body in answers.items() if json.loads(body)["approved"]
    }
    store = SqlPaymentStore(open_database(settings))
    try:
        recorded = store.engine.read(
            lambda tx: tx.all(
                "SELECT terminal_id, idempotency_key, id, approved FROM authorizations"
            )
        )
        totals = store.ledger_totals()
    finally:
        store.engine.close()
    rows = {row["idempotency_key"]: row["id"] for row in recorded if row["approved"]}
    assert {key: body["authorization_id"] for key, body in approved.items()} == rows
    distinct = {(row["terminal_id"], row["idempotency_key"]) for row in recorded}
    assert len(recorded) == len(distinct) == len(requests)
    assert totals.journals == {"sale": len(approved)}
    assert totals.unbalanced == 0
    reasons = sorted({json.loads(body)["reason"] for body in answers.values()})
    print(
        f"kill -9 x{KILLS} ({workers} process(es)): {len(interrupted)} interrupted, {len(approved)} approved, {reasons}"
    )
    assert len(approved) == len(requests)  # distinct accounts, fresh ATCs: all approvable
