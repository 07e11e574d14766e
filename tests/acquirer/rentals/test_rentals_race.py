"""Two acquirer processes on one PostgreSQL database end a rental once.

The same bike is returned through both processes at the same moment (two docks, two
idempotency keys): the rental's row lock lets exactly one return price and capture it; the
other is told the rental is no longer active.
"""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx

from acquirer import Settings
from acquirer.domains import open_database
from acquirer.keys import KeyMaterial
from acquirer.registry import MerchantRow, TerminalRow, TerminalStatus
from acquirer.rentals.sql import SqlRentalStore
from acquirer.rentals.tariff import Tariff
from acquirer.vault import TokenVault
from tests.acquirer.processes import acquirer_process
from tests.acquirer.testkit import TestCard

RIDES = 12
AT = datetime(2026, 1, 1, tzinfo=UTC)


def _prepare(settings: Settings, keys: KeyMaterial) -> TestCard:
    store = SqlRentalStore(open_database(settings))
    try:
        store.engine.migrate()
        store.put_merchant(MerchantRow("BIKES", "Bikes", "7999", "EUR", "NL91ABNA0417164300", AT))
        for dock in ("DOCK1", "DOCK2"):
            store.put_terminal(
                TerminalRow(dock, "BIKES", ("bike",), TerminalStatus.ACTIVE, None, AT)
            )
        store.put_tariff("BIKES", Tariff("EUR", 500, 100, 10, 30, 1500, 2880, 30000), AT)
        vault = TokenVault(
            store, keys.issuer_keys, keys.vault_key, bin_controller_id=settings.bin_controller_id
        )
        record = vault.provision("4111111111111111", "visa")
        return TestCard(record.token, keys.issuer_keys.for_pan(record.token), psn=record.psn)
    finally:
        store.engine.close()


def test_two_processes_end_a_rental_once(
    settings: Settings, keys: KeyMaterial, postgres_url: str
) -> None:
    pg_settings = dataclasses.replace(settings, database_url=postgres_url)
    card = _prepare(pg_settings, keys)
    env = {"TAP_ACQUIRER_DATABASE_URL": postgres_url}
    with (
        acquirer_process(settings.data_dir, env=env) as first,
        acquirer_process(settings.data_dir, env=env) as second,
        httpx.Client(timeout=30) as client,
    ):
        barrier = threading.Barrier(2)

        def give_back(url: str, dock: str, key: str) -> httpx.Response:
            barrier.wait()
            return client.post(
                f"{url}/v1/rentals/returns",
                json={"terminal_id": dock, "dock_id": "D1", "bike_id": "B1"},
                headers={"Idempotency-Key": key},
            )

        for n in range(RIDES):
            created = client.post(
                f"{first}/v1/rentals",
                json={
                    "terminal_id": "DOCK1",
                    "dock_id": "D1",
                    "bike_id": "B1",
                    "amount": 500,
                    "currency": "EUR",
                    "emv_data": card.tap(amount=500, atc=n + 1).hex,
                },
                headers={"Idempotency-Key": f"rent-{n}"},
            ).json()
            assert created["approved"] is True, created
            with ThreadPoolExecutor(max_workers=2) as pool:
                futures = [
                    pool.submit(give_back, first, "DOCK1", f"a{n}"),
                    pool.submit(give_back, second, "DOCK2", f"b{n}"),
                ]
                responses = [future.result() for future in futures]
            codes = sorted(r.status_code for r in responses)
            assert codes[0] == 200 and codes[1] in (404, 409), [r.text for r in responses]
            loser = next(r for r in responses if r.status_code != 200)
            assert loser.json()["code"] in ("rental_unknown", "rental_state_conflict")

    store = SqlRentalStore(open_database(pg_settings))
    try:
        totals = store.ledger_totals()
        balances = store.account_balances()
        ended = store.list_rentals(merchant_id="BIKES", limit=100)
    finally:
        store.engine.close()
    assert totals.journals == {"hold": RIDES, "release": RIDES, "capture": RIDES}
    assert totals.unbalanced == 0 and balances["issuer_receivable EUR"] == 100 * RIDES
    assert [r.state.value for r in ended] == ["ended"] * RIDES
