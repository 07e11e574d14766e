"""One mandate's budget holds when two acquirer processes take its payments at once.

Sixteen payments of 300 under a budget of 1000, at two merchants, sent at the same time to
two ``tap-acquirer serve`` processes over one database: exactly three are approved, and the
ledger holds 900. On SQLite the processes share the file; on PostgreSQL the conditional
``UPDATE`` takes the mandate's row lock.
"""

from __future__ import annotations

import dataclasses
import json
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from acquirer import Settings
from acquirer.domains import open_database
from acquirer.keys import KeyMaterial
from acquirer.mandates import SqlMandateStore
from acquirer.mandates.rows import WalletKeyRow
from acquirer.payments.sql import SqlPaymentStore
from card_emulation.mandates import MandateWallet
from emvcore.agentpay import Period, Presence, Recurrence
from tests.acquirer.checkout.rig import MERCHANT, START, TILL, register_till
from tests.acquirer.mandates.rig import BAKERY, BAKERY_TILL, Agent, device_key, register_bakery
from tests.acquirer.processes import acquirer_process

PAYMENTS, AMOUNT, BUDGET = 16, 300, 1000


def _register_wallet_key(settings: Settings, wallet: MandateWallet) -> None:
    store = SqlMandateStore(open_database(settings))
    try:
        jwk = json.dumps(wallet.device_key.public_jwk(), sort_keys=True, separators=(",", ":"))
        store.put_wallet_key(
            WalletKeyRow(wallet.device_key.thumbprint, wallet.card.token, jwk, START)
        )
    finally:
        store.engine.close()


def _ledger(settings: Settings) -> tuple[int, int, int]:
    """(approved payments, their total, the mandate's spent total)."""
    store = SqlPaymentStore(open_database(settings))
    try:
        payments = store.engine.read(lambda tx: tx.all("SELECT captured FROM payments"))
        spent = store.engine.read(lambda tx: tx.one("SELECT spent FROM mandates"))
    finally:
        store.engine.close()
    assert spent is not None
    return len(payments), sum(int(p["captured"]) for p in payments), int(spent["spent"])


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_the_budget_holds_across_two_acquirer_processes(
    settings: Settings, keys: KeyMaterial, request: pytest.FixtureRequest, backend: str
) -> None:
    env: dict[str, str] = {}
    db_settings = settings
    if backend == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        env["TAP_ACQUIRER_DATABASE_URL"] = url
        db_settings = dataclasses.replace(settings, database_url=url)
    images = register_till(db_settings, keys, ("4111111111111111",))
    register_bakery(db_settings)
    wallet = MandateWallet(images[0], device_key("wallet-0"))
    _register_wallet_key(db_settings, wallet)
    now = int(time.time())
    with (
        acquirer_process(settings.data_dir, env=env) as first,
        acquirer_process(settings.data_dir, env=env) as second,
        httpx.Client(base_url=first, timeout=60) as http,
        httpx.Client(timeout=60, limits=httpx.Limits(max_connections=PAYMENTS)) as client,
    ):
        agent = Agent(http)
        agent.register()
        mandate, token = wallet.sign_mandate(
            currency="EUR", max_amount=AMOUNT, budget=BUDGET, not_before=now - 60,
            expires_at=now + 3600, now=now - 60, presence=Presence.HUMAN_NOT_PRESENT,
            merchants=(MERCHANT, BAKERY), agent_key=agent.keys.public_key,
            recurrence=Recurrence(Period.DAY, PAYMENTS),
        )  # fmt: skip
        bodies = []
        for n in range(PAYMENTS):
            terminal = TILL if n % 2 else BAKERY_TILL
            response = http.post(
                "/v1/checkout/sessions",
                json={"terminal_id": terminal, "amount": AMOUNT, "currency": "EUR"},
                headers={"Idempotency-Key": f"session-{n}"},
            )
            assert response.status_code == 200, response.text
            session = response.json()["session_id"]
            bodies.append(agent.body(session, mandate.mandate_id, token, now=now))

        def pay(n: int) -> str:
            response = client.post(
                f"{(first, second)[n % 2]}/v1/agent/payments",
                json=bodies[n],
                headers={"Idempotency-Key": f"pay-{n}"},
            )
            assert response.status_code == 200, response.text
            reason: str = response.json()["reason"]
            return reason

        with ThreadPoolExecutor(PAYMENTS) as pool:
            reasons = sorted(pool.map(pay, range(PAYMENTS)))
    assert reasons == ["approved"] * 3 + ["budget_exceeded"] * (PAYMENTS - 3)
    assert _ledger(db_settings) == (3, 3 * AMOUNT, 3 * AMOUNT)
