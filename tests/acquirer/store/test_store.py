"""SQLite specifics (WAL, schema version), and the service under concurrent requests.

The store contract itself is in test_store_contract.py, run on every backend.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from acquirer import SchemaVersionError
from acquirer.domains import MIGRATIONS
from acquirer.payments.rows import AuthorizationRow
from acquirer.payments.sql import SqlPaymentStore
from acquirer.store.sqlite import SqliteEngine
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
    engine = SqliteEngine(tmp_path / "a.db", MIGRATIONS)
    assert engine.migrate() == engine.migrate() == len(MIGRATIONS)
    engine.close()
    with sqlite3.connect(tmp_path / "a.db") as db:
        db.execute("UPDATE schema_version SET version = 99")
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    engine = SqliteEngine(tmp_path / "a.db", MIGRATIONS)
    with pytest.raises(SchemaVersionError):
        engine.migrate()
    engine.close()


def test_concurrent_taps_with_one_atc_approve_exactly_once(
    client: TestClient, new_card: Callable[..., TestCard], store: SqlPaymentStore
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
    client: TestClient, new_card: Callable[..., TestCard], store: SqlPaymentStore
) -> None:
    tap = new_card("visa").tap(amount=1250, atc=1)
    api = Api(client)
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda _: api.authorize(tap, key="same"), range(8)))
    # A retry while the first runs is told so (409); every other answer is the first one.
    answers = {r.content for r in responses if r.status_code == 200}
    in_flight = [r for r in responses if r.status_code == 409]
    assert len(answers) == 1
    assert all(r.json()["code"] == "idempotency_key_in_flight" for r in in_flight)
    assert store.count_authorizations() == 1
    assert api.authorize(tap, key="same").content in answers
