"""The mandates domain's schema step 9, for SQLite and PostgreSQL.

- ``mandate_wallet_keys``: a wallet's device public key (JWK), registered for one token when
  the token is provisioned; keyed by its RFC 7638 thumbprint (the mandate's ``iss``), one key
  per token (``UNIQUE (token)``).
- ``mandate_agent_keys``: agents' public keys, by thumbprint (the mandate's ``cnf.jkt``).
- ``mandates``: every mandate the acquirer has verified, with its state: ``spent`` (minor
  units) and ``uses``, changed only by the conditional ``UPDATE ... WHERE spent + ? <=
  budget`` in the payment's own transaction; ``revoked_at`` once revoked.
- ``mandate_nonces``: the replay cache (:class:`emvcore.agentpay.ReplayCache`), a unique
  ``(scope, nonce)`` inserted with ``ON CONFLICT DO NOTHING``; rows past ``expires_at`` go.
- ``agent_payments``: each agent payment's answer under ``(session_id, idempotency_key)``.

Collected and run by :mod:`acquirer.store.migrations`; add a step at the end, never edit a
released one.
"""

from __future__ import annotations

import sqlite_utils

from acquirer.store.migrations import Migration


def _sqlite(db: sqlite_utils.Database) -> None:
    """Wallet and agent keys, mandates with their spent totals, nonces, agent payments."""
    db.create_table(
        "mandate_wallet_keys",
        {"thumbprint": str, "token": str, "jwk": str, "created_at": str},
        pk="thumbprint",
        not_null=["token", "jwk", "created_at"],
    )
    db.table("mandate_wallet_keys").create_index(["token"], unique=True)
    db.create_table(
        "mandate_agent_keys",
        {"thumbprint": str, "jwk": str, "name": str, "created_at": str},
        pk="thumbprint",
        not_null=["jwk", "name", "created_at"],
    )
    db.create_table(
        "mandates",
        {
            "id": str,
            "wallet": str,
            "token": str,
            "currency": str,
            "max_amount": int,
            "budget": int,
            "spent": int,
            "uses": int,
            "max_uses": int,
            "not_before": int,
            "expires_at": int,
            "presence": str,
            "agent_key": str,
            "revoked_at": str,
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
        not_null=[
            "wallet",
            "token",
            "currency",
            "max_amount",
            "budget",
            "spent",
            "uses",
            "not_before",
            "expires_at",
            "presence",
            "created_at",
            "updated_at",
        ],
    )
    db.table("mandates").create_index(["wallet"])
    db.create_table(
        "mandate_nonces",
        {"scope": str, "nonce": str, "expires_at": int},
        pk=("scope", "nonce"),
        not_null=["expires_at"],
    )
    db.create_table(
        "agent_payments",
        {
            "session_id": str,
            "idempotency_key": str,
            "request_hash": str,
            "mandate_id": str,
            "authorization_id": str,
            "response_json": str,
            "created_at": str,
        },
        pk=("session_id", "idempotency_key"),
        not_null=["request_hash", "mandate_id", "authorization_id", "response_json", "created_at"],
    )


_POSTGRES = (
    """CREATE TABLE mandate_wallet_keys (
        thumbprint text PRIMARY KEY,
        token text NOT NULL UNIQUE,
        jwk text NOT NULL,
        created_at timestamptz NOT NULL
    )""",
    """CREATE TABLE mandate_agent_keys (
        thumbprint text PRIMARY KEY,
        jwk text NOT NULL,
        name text NOT NULL,
        created_at timestamptz NOT NULL
    )""",
    """CREATE TABLE mandates (
        id text PRIMARY KEY,
        wallet text NOT NULL,
        token text NOT NULL,
        currency text NOT NULL,
        max_amount bigint NOT NULL,
        budget bigint NOT NULL,
        spent bigint NOT NULL,
        uses integer NOT NULL,
        max_uses integer,
        not_before bigint NOT NULL,
        expires_at bigint NOT NULL,
        presence text NOT NULL,
        agent_key text,
        revoked_at timestamptz,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        CHECK (spent >= 0 AND spent <= budget)
    )""",
    "CREATE INDEX mandates_wallet ON mandates (wallet)",
    """CREATE TABLE mandate_nonces (
        scope text NOT NULL,
        nonce text NOT NULL,
        expires_at bigint NOT NULL,
        PRIMARY KEY (scope, nonce)
    )""",
    """CREATE TABLE agent_payments (
        session_id text NOT NULL,
        idempotency_key text NOT NULL,
        request_hash text NOT NULL,
        mandate_id text NOT NULL,
        authorization_id text NOT NULL,
        response_json text NOT NULL,
        created_at timestamptz NOT NULL,
        PRIMARY KEY (session_id, idempotency_key)
    )""",
)


#: The mandates domain's steps.
MIGRATIONS: tuple[Migration, ...] = (Migration(9, _sqlite, _POSTGRES),)
