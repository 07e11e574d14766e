"""The payments store contract: one suite, run against every backend (SQLite and PostgreSQL).

The PostgreSQL cases use the private server `make test` starts (scripts/services/postgres.sh),
each in a fresh schema.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from acquirer import SchemaVersionError, Settings, TokenNotFoundError
from acquirer.domains import MIGRATIONS
from acquirer.payments.rows import AtcClaim, AuthorizationRow, RecordStatus
from acquirer.payments.store import PaymentStore
from acquirer.registry import TokenStatus
from acquirer.store import Engine, open_engine
from acquirer.vault import TokenVault


def _row(id: str, key: str, terminal: str = "T1", approved: bool = False) -> AuthorizationRow:
    return AuthorizationRow(
        id=id,
        terminal_id=terminal,
        idempotency_key=key,
        request_hash="h",
        amount=1,
        currency="EUR",
        token_masked="489537******0000",
        par=None,
        atc=1,
        approved=approved,
        reason="approved" if approved else "token_unknown",
        response_code="00" if approved else "14",
        response_json='{"a":1}',
        created_at=datetime(2026, 11, 22, 12, 0, 0, 123000, tzinfo=UTC),
    )


def test_migrate_is_idempotent(any_engine: Engine) -> None:
    assert any_engine.migrate() == any_engine.migrate() >= 1


def test_newer_schema_is_refused(any_engine: Engine, backend_settings: Settings) -> None:
    assert isinstance(any_engine, Engine)
    any_engine.transact(lambda tx: tx.run("UPDATE schema_version SET version = 999"))
    other = open_engine(backend_settings, MIGRATIONS)
    try:
        with pytest.raises(SchemaVersionError):
            other.migrate()
    finally:
        other.close()


def test_tokens_round_trip(any_store: PaymentStore, any_vault: TokenVault) -> None:
    first = any_vault.provision("4111111111111111", "visa")
    second = any_vault.provision("5555555555554444", "mastercard")
    row = any_store.get_token(first.token)
    assert row is not None
    assert (row.token, row.par, row.status) == (first.token, first.par, TokenStatus.ACTIVE)
    assert row.created_at.tzinfo is not None
    assert any_store.put_token(row) is False  # the token number is taken
    assert [t.token for t in any_store.list_tokens()] == [first.token, second.token]
    assert any_vault.detokenize(first.token) == "4111111111111111"
    assert any_store.get_token("4895370000000005") is None


def test_token_status(any_store: PaymentStore, any_vault: TokenVault) -> None:
    token = any_vault.provision("4111111111111111", "visa").token
    any_store.set_token_status(token, TokenStatus.SUSPENDED)
    row = any_store.get_token(token)
    assert row is not None and row.status is TokenStatus.SUSPENDED
    with pytest.raises(TokenNotFoundError):
        any_store.set_token_status("4895370000000005", TokenStatus.ACTIVE)


def test_record_authorization_enforces_idempotency_and_atc_claims(
    any_store: PaymentStore, any_vault: TokenVault
) -> None:
    token = any_vault.provision("4111111111111111", "visa").token
    claim = AtcClaim(token, 5)
    first = _row("a1", "k1", approved=True)
    assert any_store.record_authorization(first, claim).status is RecordStatus.RECORDED
    assert any_store.find_authorization("T1", "k1") == first
    again = any_store.record_authorization(_row("a2", "k1"), None)
    assert again.status is RecordStatus.IDEMPOTENCY_KEY_EXISTS
    assert again.existing == first
    taken = any_store.record_authorization(_row("a3", "k3"), claim)
    assert taken.status is RecordStatus.ATC_ALREADY_CLAIMED
    assert any_store.find_authorization("T1", "k3") is None  # nothing half-written
    other_terminal = any_store.record_authorization(_row("a4", "k1", terminal="T2"), None)
    assert other_terminal.status is RecordStatus.RECORDED
    assert any_store.highest_atc(token) == 5 and any_store.atc_claimed(token, 5)
    assert not any_store.atc_claimed(token, 6) and any_store.highest_atc("0" * 16) is None
    assert any_store.count_authorizations() == 2


def test_concurrent_claims_of_one_atc_record_once(
    any_store: PaymentStore, any_vault: TokenVault
) -> None:
    token = any_vault.provision("4111111111111111", "visa").token

    def attempt(n: int) -> RecordStatus:
        row = _row(f"race{n}", f"k{n}")
        row = replace(row, created_at=row.created_at + timedelta(seconds=n))
        return any_store.record_authorization(row, AtcClaim(token, 7)).status

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(attempt, range(16)))
    assert statuses.count(RecordStatus.RECORDED) == 1
    assert statuses.count(RecordStatus.ATC_ALREADY_CLAIMED) == 15
    assert any_store.count_authorizations() == 1


def test_concurrent_inserts_of_one_key_record_once(any_store: PaymentStore) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(
                lambda n: any_store.record_authorization(_row(f"id{n}", "same"), None), range(16)
            )
        )
    recorded = [r for r in results if r.status is RecordStatus.RECORDED]
    assert len(recorded) == 1
    winners = {r.existing.id for r in results if r.existing is not None}
    assert len(winners) == 1 and any_store.count_authorizations() == 1
