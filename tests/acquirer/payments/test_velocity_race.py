"""The velocity limit holds under concurrency, with two acquirer processes (issue 17, defect 3).

Before the fix, 80 simultaneous taps on one account (4 tokens x 20 ATCs, limit 60) gave
75-76 approvals on SQLite and 62 on PostgreSQL: the approvals were counted before the
decision and the write did not count them again.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from acquirer import Settings
from acquirer.domains import open_database
from acquirer.keys import KeyMaterial
from acquirer.payments.sql import SqlPaymentStore
from acquirer.vault import TokenVault
from tests.acquirer.processes import acquirer_process
from tests.acquirer.testkit import TestCard

TOKENS, ATCS, LIMIT = 4, 20, 60


def _one_account(settings: Settings, keys: KeyMaterial) -> list[TestCard]:
    """Four tokens of one funding PAN: one PAR, as a phone and a card of one account."""
    store = SqlPaymentStore(open_database(settings))
    try:
        store.engine.migrate()
        vault = TokenVault(
            store, keys.issuer_keys, keys.vault_key, bin_controller_id=settings.bin_controller_id
        )
        cards = []
        for _ in range(TOKENS):
            record = vault.provision("4111111111111111", "visa")
            key = keys.issuer_keys.for_pan(record.token)
            cards.append(TestCard(token=record.token, key=key, psn=record.psn))
        assert len({store.get_token(c.token).par for c in cards}) == 1  # type: ignore[union-attr]
        return cards
    finally:
        store.engine.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_velocity_limit_holds_for_simultaneous_taps(
    settings: Settings, keys: KeyMaterial, request: pytest.FixtureRequest, backend: str
) -> None:
    env: dict[str, str] = {"TAP_ACQUIRER_VELOCITY_LIMIT": str(LIMIT)}
    db_settings = settings
    if backend == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        env["TAP_ACQUIRER_DATABASE_URL"] = url
        db_settings = dataclasses.replace(settings, database_url=url)
    cards = _one_account(db_settings, keys)
    taps = [(card, atc) for atc in range(1, ATCS + 1) for card in cards]
    with (
        acquirer_process(settings.data_dir, env=env) as first,
        acquirer_process(settings.data_dir, env=env) as second,
        httpx.Client(timeout=60, limits=httpx.Limits(max_connections=100)) as client,
    ):

        def tap(n: int) -> str:
            card, atc = taps[n]
            body = {
                "terminal_id": "SHOP1",
                "amount": 100,
                "currency": "EUR",
                "emv_data": card.tap(amount=100, atc=atc).hex,
            }
            response = client.post(
                f"{(first, second)[n % 2]}/v1/authorizations",
                json=body,
                headers={"Idempotency-Key": f"tap-{n}"},
            )
            assert response.status_code == 200, response.text
            reason: str = response.json()["reason"]
            return reason

        with ThreadPoolExecutor(max_workers=len(taps)) as pool:
            reasons = list(pool.map(tap, range(len(taps))))
    assert reasons.count("approved") == LIMIT, sorted(set(reasons))
    assert reasons.count("velocity_exceeded") == len(taps) - LIMIT
    store = SqlPaymentStore(open_database(db_settings))
    try:
        assert store.ledger_totals().journals == {"sale": LIMIT}
    finally:
        store.engine.close()
