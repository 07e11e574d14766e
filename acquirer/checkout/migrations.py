"""The checkout domain's schema step 7 (sessions and claimed link nonces), for SQLite and PostgreSQL.

- ``checkout_sessions``: one row per session, created by a terminal under
  ``UNIQUE (terminal_id, idempotency_key)``; ``state`` moves from ``created`` exactly once,
  by a conditional ``UPDATE ... WHERE state = 'created'``; ``authorization_id`` names the
  authorization that paid it.
- ``checkout_link_nonces``: every tag-link nonce a wallet's payment used, under its primary
  key (terminal, nonce): the unique insert that makes a replayed link fail
  (:func:`emvcore.tapmode.accept_link`), in the payment's own transaction.

Collected and run by :mod:`acquirer.store.migrations`; add a step at the end, never edit a
released one.
"""

from __future__ import annotations

import sqlite_utils

from acquirer.store.migrations import Migration


def _sqlite(db: sqlite_utils.Database) -> None:
    """Checkout sessions and the link nonces their payments used."""
    db.create_table(
        "checkout_sessions",
        {
            "id": str,
            "terminal_id": str,
            "merchant_id": str,
            "idempotency_key": str,
            "request_hash": str,
            "amount": int,
            "currency": str,
            "reference": str,
            "nonce": str,
            "state": str,
            "created_at": str,
            "expires_at": str,
            "updated_at": str,
            "authorization_id": str,
        },
        pk="id",
        not_null=[
            "terminal_id",
            "merchant_id",
            "idempotency_key",
            "request_hash",
            "amount",
            "currency",
            "reference",
            "nonce",
            "state",
            "created_at",
            "expires_at",
            "updated_at",
        ],
    )
    db.table("checkout_sessions").create_index(["terminal_id", "idempotency_key"], unique=True)
    db.create_table(
        "checkout_link_nonces",
        {"terminal_id": str, "nonce": str, "session_id": str, "claimed_at": str},
        pk=("terminal_id", "nonce"),
        not_null=["session_id", "claimed_at"],
    )


_POSTGRES = (
    """CREATE TABLE checkout_sessions (
        id text PRIMARY KEY,
        terminal_id text NOT NULL,
        merchant_id text NOT NULL,
        idempotency_key text NOT NULL,
        request_hash text NOT NULL,
        amount bigint NOT NULL,
        currency text NOT NULL,
        reference text NOT NULL,
        nonce text NOT NULL,
        state text NOT NULL,
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        authorization_id text,
        UNIQUE (terminal_id, idempotency_key)
    )""",
    """CREATE TABLE checkout_link_nonces (
        terminal_id text NOT NULL,
        nonce text NOT NULL,
        session_id text NOT NULL,
        claimed_at timestamptz NOT NULL,
        PRIMARY KEY (terminal_id, nonce)
    )""",
)


#: The checkout domain's steps.
MIGRATIONS: tuple[Migration, ...] = (Migration(7, _sqlite, _POSTGRES),)
