"""The SQLite store's contract, and the service under concurrent requests."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from acquirer import SchemaVersionError, TokenNotFoundError
from acquirer.store.base import AtcClaim, AuthorizationRow, RecordStatus, TokenStatus
from acquirer.store.sqlite import MIGRATIONS, SqliteStore
from tests.acquirer.testkit import Api, TestCard


def _row(id: str, key: str, terminal: str = "T1") -> AuthorizationRow:
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
        approved=False,
        reason="token_unknown",
        response_code="14",
        response_json="{}",
        created_at=datetime.now(UTC),
    )


def test_migrate_is_idempotent_and_versioned(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "a.db")
    assert store.migrate() == store.migrate() == len(MIGRATIONS)
    store.close()
    with sqlite3.connect(tmp_path / "a.db") as db:
        db.execute("UPDATE schema_version SET version = 99")
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store = SqliteStore(tmp_path / "a.db")
    with pytest.raises(SchemaVersionError):
        store.migrate()
    store.close()


def test_record_authorization_enforces_idempotency_and_atc_claims(
    store: SqliteStore, new_card: Callable[..., TestCard]
) -> None:
    token = new_card("visa").token
    claim = AtcClaim(token, 5)
    assert store.record_authorization(_row("a1", "k1"), claim).status is RecordStatus.RECORDED
    again = store.record_authorization(_row("a2", "k1"), None)
    assert again.status is RecordStatus.IDEMPOTENCY_KEY_EXISTS
    assert again.existing is not None and again.existing.id == "a1"
    taken = store.record_authorization(_row("a3", "k3"), claim)
    assert taken.status is RecordStatus.ATC_ALREADY_CLAIMED
    assert store.find_authorization("T1", "k3") is None  # nothing half-written
    assert (
        store.record_authorization(_row("a4", "k1", terminal="T2"), None).status
        is RecordStatus.RECORDED
    )
    assert store.highest_atc(token) == 5 and store.atc_claimed(token, 5)
    assert store.count_authorizations() == 2


def test_token_status(store: SqliteStore, new_card: Callable[..., TestCard]) -> None:
    token = new_card("visa").token
    store.set_token_status(token, TokenStatus.SUSPENDED)
    row = store.get_token(token)
    assert row is not None and row.status is TokenStatus.SUSPENDED
    with pytest.raises(TokenNotFoundError):
        store.set_token_status("4895370000000005", TokenStatus.ACTIVE)


def test_concurrent_taps_with_one_atc_approve_exactly_once(
    client: TestClient, new_card: Callable[..., TestCard], store: SqliteStore
) -> None:
    card = new_card("mastercard")
    tap = card.tap(amount=1250, atc=42)
    api = Api(client)
    with ThreadPoolExecutor(max_workers=8) as pool:
        bodies = list(pool.map(lambda n: api.authorize(tap, key=f"race-{n}").json(), range(16)))
    reasons = sorted(body["reason"] for body in bodies)
    assert reasons == ["approved"] + ["atc_replayed"] * 15
    assert store.count_authorizations() == 16


def test_concurrent_retries_of_one_key_record_once(
    client: TestClient, new_card: Callable[..., TestCard], store: SqliteStore
) -> None:
    tap = new_card("visa").tap(amount=1250, atc=1)
    api = Api(client)
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda _: api.authorize(tap, key="same").content, range(8)))
    assert len(set(responses)) == 1
    assert store.count_authorizations() == 1
