"""Two acquirer processes on one PostgreSQL database never post the same thing twice.

Both processes are real ``tap-acquirer serve`` processes with their own connection pools;
every tap is sent to both at the same moment, once with two idempotency keys (the ATC claim
must let exactly one through) and once with one key (the idempotency constraint must record
it once and both must answer the same).
"""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg

from acquirer import Settings
from acquirer.domains import open_database
from acquirer.keys import KeyMaterial
from acquirer.payments.sql import SqlPaymentStore
from acquirer.vault import TokenVault
from tests.acquirer.processes import acquirer_process
from tests.acquirer.testkit import TestCard

TAPS = 40


FUNDING = (
    ("4111111111111111", "visa"),
    ("5555555555554444", "mastercard"),
    ("4012888888881881", "visa"),
    ("5105105105105100", "mastercard"),
)


def _provision(settings: Settings, keys: KeyMaterial) -> list[TestCard]:
    store = SqlPaymentStore(open_database(settings))
    try:
        store.engine.migrate()
        vault = TokenVault(
            store, keys.issuer_keys, keys.vault_key, bin_controller_id=settings.bin_controller_id
        )
        cards = []
        for pan, scheme in FUNDING:
            record = vault.provision(pan, scheme)
            key = keys.issuer_keys.for_pan(record.token)
            cards.append(TestCard(token=record.token, key=key, psn=record.psn))
        return cards
    finally:
        store.engine.close()


def test_two_processes_never_post_twice(
    settings: Settings, keys: KeyMaterial, postgres_url: str
) -> None:
    pg_settings = dataclasses.replace(settings, database_url=postgres_url)
    cards = _provision(pg_settings, keys)
    env = {"TAP_ACQUIRER_DATABASE_URL": postgres_url}
    with (
        acquirer_process(settings.data_dir, env=env) as first,
        acquirer_process(settings.data_dir, env=env) as second,
        httpx.Client(timeout=30) as client,
    ):
        barrier = threading.Barrier(2)

        def post(url: str, key: str, body: dict[str, Any]) -> httpx.Response:
            barrier.wait()
            return client.post(
                f"{url}/v1/authorizations", json=body, headers={"Idempotency-Key": key}
            )

        def race(n: int, same_key: bool) -> list[httpx.Response]:
            card = cards[n % len(cards)]
            tap = card.tap(amount=100 + n, atc=2 * n + (2 if same_key else 1))
            body = {
                "terminal_id": "SHOP1",
                "amount": 100 + n,
                "currency": "EUR",
                "emv_data": tap.hex,
            }
            keys_ = (f"k{n}", f"k{n}") if same_key else (f"a{n}", f"b{n}")
            with ThreadPoolExecutor(max_workers=2) as pool:
                futures = [
                    pool.submit(post, url, key, body)
                    for url, key in zip((first, second), keys_, strict=True)
                ]
                return [future.result() for future in futures]

        payments = []
        for n in range(TAPS):
            distinct = race(n, same_key=False)
            payments += [r.json()["authorization_id"] for r in distinct if r.json()["approved"]]
            reasons = sorted(r.json()["reason"] for r in distinct)
            assert reasons == ["approved", "atc_replayed"], reasons
            same = race(n, same_key=True)
            assert [r.status_code for r in same] == [200, 200]
            assert same[0].content == same[1].content
            assert same[0].json()["approved"] is True

        # Refunds of one payment through both processes at once: never above captured.
        def refund(url: str, n: int) -> int:
            response = client.post(
                f"{url}/v1/payments/{payments[0]}/refunds",
                json={"terminal_id": "SHOP1", "amount": 30},
                headers={"Idempotency-Key": f"refund-{n}"},
            )
            return response.status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            codes = list(pool.map(lambda n: refund((first, second)[n % 2], n), range(8)))
        assert sorted(codes) == [200, 200, 200] + [422] * 5  # 3 x 30 <= 100 captured

    with psycopg.connect(postgres_url) as conn:
        approved, total, keys_used = conn.execute(
            "SELECT count(*) FILTER (WHERE approved), count(*), "
            "count(DISTINCT (terminal_id, idempotency_key)) FROM authorizations"
        ).fetchone() or (0, 0, 0)
        claims = conn.execute("SELECT count(*) FROM atc_claims").fetchone()
    assert approved == 2 * TAPS
    assert total == keys_used == 3 * TAPS
    assert claims == (2 * TAPS,)
    store = SqlPaymentStore(open_database(pg_settings))
    try:
        totals = store.ledger_totals()
    finally:
        store.engine.close()
    assert totals.journals == {"sale": 2 * TAPS, "refund": 3}
    assert totals.unbalanced == 0
