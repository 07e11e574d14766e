"""Settlement and void/capture/refund are exclusive per payment, with two processes (issue 17, defect 4).

Before the fix, on PostgreSQL with two acquirer processes, voids hit sales already stamped
into a closed batch: the "already settled" check was a plain read and the stamping took no
lock on payments, so the sale settled in one batch and its cancel (handing the fee back) went
into the next. Now a sale and its cancel are always settled together or not at all.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from acquirer import Settings
from acquirer.domains import open_database
from acquirer.keys import KeyMaterial
from acquirer.payments.sql import SqlPaymentStore
from tests.acquirer.payments.test_postgres_race import _provision
from tests.acquirer.processes import acquirer_process

SALES = 80


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_no_void_lands_after_settlement(
    settings: Settings, keys: KeyMaterial, request: pytest.FixtureRequest, backend: str
) -> None:
    env: dict[str, str] = {}
    db_settings = settings
    if backend == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        env = {"TAP_ACQUIRER_DATABASE_URL": url}
        db_settings = dataclasses.replace(settings, database_url=url)
    cards = _provision(db_settings, keys)
    with (
        acquirer_process(settings.data_dir, env=env) as first,
        acquirer_process(settings.data_dir, env=env) as second,
        httpx.Client(timeout=30) as client,
    ):
        urls = (first, second)
        payments = []
        for n in range(SALES):
            card = cards[n % len(cards)]
            body = {
                "terminal_id": "SHOP1",
                "amount": 340,
                "currency": "EUR",
                "emv_data": card.tap(amount=340, atc=n + 1).hex,
            }
            answer = client.post(
                f"{urls[n % 2]}/v1/authorizations", json=body, headers={"Idempotency-Key": f"s{n}"}
            ).json()
            assert answer["approved"], answer
            payments.append(answer["authorization_id"])

        done = threading.Event()
        closed = []

        def void(n: int) -> int:
            response = client.post(
                f"{urls[n % 2]}/v1/payments/{payments[n]}/void",
                json={"terminal_id": "SHOP1"},
                headers={"Idempotency-Key": f"v{n}"},
            )
            return response.status_code

        def settle() -> None:
            for n in itertools.count():
                if done.is_set():
                    break
                response = client.post(
                    f"{urls[(n + 1) % 2]}/v1/settlement/batches",
                    json={"terminal_id": "SHOP1"},
                    headers={"Idempotency-Key": f"eod-{n}"},
                )
                assert response.status_code == 200, response.text
                closed.append(response.json()["batch_id"])

        with ThreadPoolExecutor(max_workers=6) as pool:
            settler = pool.submit(settle)
            codes = list(pool.map(void, range(SALES)))
            done.set()
            settler.result()
        assert set(codes) <= {200, 409}, codes
        assert closed

    store = SqlPaymentStore(open_database(db_settings))
    try:
        rows = store.engine.read(
            lambda tx: tx.all(
                "SELECT payment_id, kind, batch_id FROM journals WHERE kind IN ('sale', 'cancel')"
            )
        )
        totals = store.ledger_totals()
        voided = store.engine.read(
            lambda tx: tx.one("SELECT COUNT(*) AS n FROM payments WHERE status = 'voided'")
        )
    finally:
        store.engine.close()
    batches: dict[str, dict[str, str | None]] = {}
    for row in rows:
        batches.setdefault(row["payment_id"], {})[row["kind"]] = row["batch_id"]
    split = {
        payment: kinds
        for payment, kinds in batches.items()
        if "cancel" in kinds and kinds["cancel"] != kinds["sale"]
    }
    assert split == {}, f"{len(split)} of {sum('cancel' in k for k in batches.values())} voids"
    assert voided is not None and int(voided["n"]) == codes.count(200)
    assert totals.unbalanced == 0
