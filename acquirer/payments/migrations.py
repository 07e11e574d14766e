"""The payments domain's schema steps 1-4, for SQLite and PostgreSQL.

Step 1 also creates the core's tables (tokens, ATC claims, merchants, terminals): they came
first, and the numbers an existing database recorded do not change. Steps are collected and
run by :mod:`acquirer.store.migrations`; add a step at the end, never edit a released one.
"""

from __future__ import annotations

import sqlite_utils

from acquirer.store.migrations import Migration


def _sqlite_1(db: sqlite_utils.Database) -> None:
    """Tokens, authorizations and ATC claims."""
    db.create_table(
        "tokens",
        {
            "token": str,
            "pan_enc": bytes,
            "pan_fingerprint": bytes,
            "pan_masked": str,
            "par": str,
            "expiry": str,
            "psn": str,
            "scheme": str,
            "status": str,
            "created_at": str,
        },
        pk="token",
        not_null=[
            "pan_enc",
            "pan_fingerprint",
            "pan_masked",
            "par",
            "expiry",
            "psn",
            "scheme",
            "status",
            "created_at",
        ],
    )
    db.table("tokens").create_index(["pan_fingerprint"])
    db.create_table(
        "authorizations",
        {
            "id": str,
            "terminal_id": str,
            "idempotency_key": str,
            "request_hash": str,
            "amount": int,
            "currency": str,
            "token_masked": str,
            "par": str,
            "atc": int,
            "approved": int,
            "reason": str,
            "response_code": str,
            "response_json": str,
            "created_at": str,
        },
        pk="id",
        not_null=[
            "terminal_id",
            "idempotency_key",
            "request_hash",
            "amount",
            "currency",
            "token_masked",
            "approved",
            "reason",
            "response_code",
            "response_json",
            "created_at",
        ],
    )
    db.table("authorizations").create_index(["terminal_id", "idempotency_key"], unique=True)
    db.create_table(
        "atc_claims",
        {"token": str, "atc": int, "authorization_id": str},
        pk=("token", "atc"),
        not_null=["token", "atc", "authorization_id"],
        foreign_keys=[("token", "tokens", "token"), ("authorization_id", "authorizations", "id")],
    )


def _sqlite_2(db: sqlite_utils.Database) -> None:
    """Payments, operations on them, and the double-entry ledger."""
    db.create_table(
        "payments",
        {
            "id": str,
            "terminal_id": str,
            "intent": str,
            "currency": str,
            "par": str,
            "token_masked": str,
            "authorized": int,
            "captured": int,
            "refunded": int,
            "status": str,
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
        not_null=[
            "terminal_id",
            "intent",
            "currency",
            "token_masked",
            "authorized",
            "captured",
            "refunded",
            "status",
            "created_at",
            "updated_at",
        ],
        foreign_keys=[("id", "authorizations", "id")],
    )
    db.create_table(
        "operations",
        {
            "id": str,
            "terminal_id": str,
            "idempotency_key": str,
            "kind": str,
            "payment_id": str,
            "request_hash": str,
            "response_json": str,
            "created_at": str,
        },
        pk="id",
        not_null=[
            "terminal_id",
            "idempotency_key",
            "kind",
            "payment_id",
            "request_hash",
            "response_json",
            "created_at",
        ],
        foreign_keys=[("payment_id", "payments", "id")],
    )
    db.table("operations").create_index(["terminal_id", "idempotency_key"], unique=True)
    db.create_table(
        "journals",
        {
            "id": str,
            "payment_id": str,
            "operation_id": str,
            "kind": str,
            "currency": str,
            "created_at": str,
        },
        pk="id",
        not_null=["payment_id", "operation_id", "kind", "currency", "created_at"],
        foreign_keys=[("payment_id", "payments", "id")],
    )
    db.table("journals").create_index(["payment_id"])
    db.create_table(
        "postings",
        {"journal_id": str, "line": int, "account": str, "amount": int},
        pk=("journal_id", "line"),
        not_null=["journal_id", "line", "account", "amount"],
        foreign_keys=[("journal_id", "journals", "id")],
    )


def _sqlite_3(db: sqlite_utils.Database) -> None:
    """Merchants, terminals, and token domain restriction controls."""
    db.create_table(
        "merchants",
        {
            "id": str,
            "name": str,
            "mcc": str,
            "currency": str,
            "settlement_account": str,
            "created_at": str,
        },
        pk="id",
        not_null=["name", "mcc", "currency", "settlement_account", "created_at"],
    )
    db.create_table(
        "terminals",
        {
            "id": str,
            "merchant_id": str,
            "actions": str,
            "status": str,
            "cert_serial": str,
            "created_at": str,
        },
        pk="id",
        not_null=["merchant_id", "actions", "status", "created_at"],
        foreign_keys=[("merchant_id", "merchants", "id")],
    )
    db.table("tokens").add_column("allowed_mccs", str)


def _sqlite_4(db: sqlite_utils.Database) -> None:
    """Settlement batches (immutable once closed) and risk controls."""
    db.create_table(
        "batches",
        {
            "id": str,
            "scope": str,
            "scope_id": str,
            "idempotency_key": str,
            "closed_at": str,
            "totals_json": str,
        },
        pk="id",
        not_null=["scope", "scope_id", "idempotency_key", "closed_at", "totals_json"],
    )
    db.table("batches").create_index(["scope", "scope_id", "idempotency_key"], unique=True)
    db.table("journals").add_column("batch_id", str)
    db.table("journals").create_index(["batch_id"])
    db.execute(
        "CREATE TRIGGER batches_immutable BEFORE UPDATE ON batches "
        "BEGIN SELECT RAISE(ABORT, 'a closed settlement batch cannot change'); END"
    )
    db.execute(
        "CREATE TRIGGER batches_undeletable BEFORE DELETE ON batches "
        "BEGIN SELECT RAISE(ABORT, 'a closed settlement batch cannot change'); END"
    )
    db.execute(
        "CREATE TRIGGER settled_journals_immutable BEFORE UPDATE ON journals "
        "WHEN OLD.batch_id IS NOT NULL "
        "BEGIN SELECT RAISE(ABORT, 'a settled journal cannot change'); END"
    )
    db.create_table(
        "deny_list",
        {"par": str, "reason": str, "created_at": str},
        pk="par",
        not_null=["reason", "created_at"],
    )
    db.create_table(
        "mcc_limits", {"mcc": str, "max_amount": int}, pk="mcc", not_null=["max_amount"]
    )
    db.table("authorizations").create_index(["par", "approved", "created_at"])


_postgres_1: tuple[str, ...] = (
    """CREATE TABLE tokens (
        token text PRIMARY KEY,
        pan_enc bytea NOT NULL,
        pan_fingerprint bytea NOT NULL,
        pan_masked text NOT NULL,
        par text NOT NULL,
        expiry text NOT NULL,
        psn text NOT NULL,
        scheme text NOT NULL,
        status text NOT NULL,
        created_at timestamptz NOT NULL
    )""",
    "CREATE INDEX tokens_pan_fingerprint ON tokens (pan_fingerprint)",
    """CREATE TABLE authorizations (
        id text PRIMARY KEY,
        terminal_id text NOT NULL,
        idempotency_key text NOT NULL,
        request_hash text NOT NULL,
        amount bigint NOT NULL,
        currency text NOT NULL,
        token_masked text NOT NULL,
        par text,
        atc integer,
        approved boolean NOT NULL,
        reason text NOT NULL,
        response_code text NOT NULL,
        response_json text NOT NULL,
        created_at timestamptz NOT NULL,
        UNIQUE (terminal_id, idempotency_key)
    )""",
    """CREATE TABLE atc_claims (
        token text NOT NULL REFERENCES tokens (token),
        atc integer NOT NULL,
        authorization_id text NOT NULL REFERENCES authorizations (id),
        PRIMARY KEY (token, atc)
    )""",
)


_postgres_2: tuple[str, ...] = (
    """CREATE TABLE payments (
        id text PRIMARY KEY REFERENCES authorizations (id),
        terminal_id text NOT NULL,
        intent text NOT NULL,
        currency text NOT NULL,
        par text,
        token_masked text NOT NULL,
        authorized bigint NOT NULL,
        captured bigint NOT NULL,
        refunded bigint NOT NULL,
        status text NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
    )""",
    """CREATE TABLE operations (
        id text PRIMARY KEY,
        terminal_id text NOT NULL,
        idempotency_key text NOT NULL,
        kind text NOT NULL,
        payment_id text NOT NULL REFERENCES payments (id),
        request_hash text NOT NULL,
        response_json text NOT NULL,
        created_at timestamptz NOT NULL,
        UNIQUE (terminal_id, idempotency_key)
    )""",
    """CREATE TABLE journals (
        id text PRIMARY KEY,
        payment_id text NOT NULL REFERENCES payments (id),
        operation_id text NOT NULL,
        kind text NOT NULL,
        currency text NOT NULL,
        created_at timestamptz NOT NULL
    )""",
    "CREATE INDEX journals_payment_id ON journals (payment_id)",
    """CREATE TABLE postings (
        journal_id text NOT NULL REFERENCES journals (id),
        line integer NOT NULL,
        account text NOT NULL,
        amount bigint NOT NULL,
        PRIMARY KEY (journal_id, line)
    )""",
)


_postgres_3: tuple[str, ...] = (
    """CREATE TABLE merchants (
        id text PRIMARY KEY,
        name text NOT NULL,
        mcc text NOT NULL,
        currency text NOT NULL,
        settlement_account text NOT NULL,
        created_at timestamptz NOT NULL
    )""",
    """CREATE TABLE terminals (
        id text PRIMARY KEY,
        merchant_id text NOT NULL REFERENCES merchants (id),
        actions text NOT NULL,
        status text NOT NULL,
        cert_serial text,
        created_at timestamptz NOT NULL
    )""",
    "ALTER TABLE tokens ADD COLUMN allowed_mccs text",
)


_postgres_4: tuple[str, ...] = (
    """CREATE TABLE batches (
        id text PRIMARY KEY,
        scope text NOT NULL,
        scope_id text NOT NULL,
        idempotency_key text NOT NULL,
        closed_at timestamptz NOT NULL,
        totals_json text NOT NULL,
        UNIQUE (scope, scope_id, idempotency_key)
    )""",
    "ALTER TABLE journals ADD COLUMN batch_id text",
    "CREATE INDEX journals_batch_id ON journals (batch_id)",
    """CREATE FUNCTION tap_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'a closed settlement batch or a settled journal cannot change';
    END $$""",
    """CREATE TRIGGER batches_immutable BEFORE UPDATE OR DELETE ON batches
        FOR EACH ROW EXECUTE FUNCTION tap_refuse_change()""",
    """CREATE TRIGGER settled_journals_immutable BEFORE UPDATE ON journals
        FOR EACH ROW WHEN (OLD.batch_id IS NOT NULL) EXECUTE FUNCTION tap_refuse_change()""",
    """CREATE TABLE deny_list (
        par text PRIMARY KEY,
        reason text NOT NULL,
        created_at timestamptz NOT NULL
    )""",
    "CREATE TABLE mcc_limits (mcc text PRIMARY KEY, max_amount bigint NOT NULL)",
    "CREATE INDEX authorizations_par_approved_created_at ON authorizations (par, approved, created_at)",
)


def _sqlite_8(db: sqlite_utils.Database) -> None:
    """The merchant's reference (order id) on authorizations and payments."""
    db.table("authorizations").add_column("reference", str)
    db.table("payments").add_column("reference", str)
    db.table("payments").create_index(["terminal_id", "reference", "id"])


_postgres_8: tuple[str, ...] = (
    "ALTER TABLE authorizations ADD COLUMN reference text",
    "ALTER TABLE payments ADD COLUMN reference text",
    "CREATE INDEX payments_terminal_reference ON payments (terminal_id, reference, id)",
)


#: The payments domain's steps (and the core's tables, in step 1); step 8 came after the
#: rentals' (5), parcels' (6) and checkout's (7) steps.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, _sqlite_1, _postgres_1),
    Migration(2, _sqlite_2, _postgres_2),
    Migration(3, _sqlite_3, _postgres_3),
    Migration(4, _sqlite_4, _postgres_4),
    Migration(8, _sqlite_8, _postgres_8),
)
