"""The rentals domain's schema step 5 (bike tariffs, rentals, debts, rental requests), for SQLite and PostgreSQL.

Collected and run by :mod:`acquirer.store.migrations`; the number is the one an existing
database recorded. Add a step at the end, never edit a released one.
"""

from __future__ import annotations

import sqlite_utils

from acquirer.store.migrations import Migration


def _sqlite(db: sqlite_utils.Database) -> None:
    """Bike tariffs, rentals, riders' debts (with their own journals), rental requests."""
    db.create_table(
        "tariffs",
        {"merchant_id": str, "tariff_json": str, "updated_at": str},
        pk="merchant_id",
        not_null=["tariff_json", "updated_at"],
        foreign_keys=[("merchant_id", "merchants", "id")],
    )
    db.create_table(
        "rentals",
        {
            "id": str,
            "merchant_id": str,
            "terminal_id": str,
            "dock_id": str,
            "bike_id": str,
            "par": str,
            "authorization_id": str,
            "payment_id": str,
            "state": str,
            "tariff_json": str,
            "deposit": int,
            "currency": str,
            "offline": int,
            "created_at": str,
            "updated_at": str,
            "started_at": str,
            "ended_at": str,
            "end_terminal_id": str,
            "end_dock_id": str,
            "fare": int,
            "captured": int,
            "debt": int,
            "minutes": int,
            "lost": int,
            "cancel_reason": str,
            "active_par": str,
            "active_bike": str,
        },
        pk="id",
        not_null=[
            "merchant_id",
            "terminal_id",
            "dock_id",
            "bike_id",
            "state",
            "tariff_json",
            "deposit",
            "currency",
            "offline",
            "created_at",
            "updated_at",
            "captured",
            "debt",
            "lost",
        ],
        foreign_keys=[("payment_id", "payments", "id")],
    )
    rentals = db.table("rentals")
    rentals.create_index(["active_par"], unique=True)
    rentals.create_index(["active_bike"], unique=True)
    rentals.create_index(["merchant_id", "par", "state"])
    rentals.create_index(["merchant_id", "bike_id", "state"])
    db.create_table(
        "debts",
        {
            "id": str,
            "rental_id": str,
            "merchant_id": str,
            "par": str,
            "amount": int,
            "currency": str,
            "status": str,
            "created_at": str,
            "paid_at": str,
            "payment_id": str,
        },
        pk="id",
        not_null=["rental_id", "merchant_id", "amount", "currency", "status", "created_at"],
        foreign_keys=[("rental_id", "rentals", "id")],
    )
    db.table("debts").create_index(["par", "status"])
    db.table("debts").create_index(["merchant_id", "status"])
    db.create_table(
        "debt_journals",
        {
            "id": str,
            "debt_id": str,
            "request_id": str,
            "kind": str,
            "currency": str,
            "created_at": str,
        },
        pk="id",
        not_null=["debt_id", "request_id", "kind", "currency", "created_at"],
        foreign_keys=[("debt_id", "debts", "id")],
    )
    db.create_table(
        "debt_postings",
        {"journal_id": str, "line": int, "account": str, "amount": int},
        pk=("journal_id", "line"),
        not_null=["journal_id", "line", "account", "amount"],
        foreign_keys=[("journal_id", "debt_journals", "id")],
    )
    db.create_table(
        "bike_requests",
        {
            "id": str,
            "terminal_id": str,
            "idempotency_key": str,
            "kind": str,
            "request_hash": str,
            "response_json": str,
            "created_at": str,
        },
        pk="id",
        not_null=[
            "terminal_id",
            "idempotency_key",
            "kind",
            "request_hash",
            "response_json",
            "created_at",
        ],
    )
    db.table("bike_requests").create_index(["terminal_id", "idempotency_key"], unique=True)


#: Bike tariffs, rentals, riders' debts (with their own journals), rental requests.
_POSTGRES: tuple[str, ...] = (
    """CREATE TABLE tariffs (
        merchant_id text PRIMARY KEY REFERENCES merchants (id),
        tariff_json text NOT NULL,
        updated_at timestamptz NOT NULL
    )""",
    """CREATE TABLE rentals (
        id text PRIMARY KEY,
        merchant_id text NOT NULL,
        terminal_id text NOT NULL,
        dock_id text NOT NULL,
        bike_id text NOT NULL,
        par text,
        authorization_id text,
        payment_id text REFERENCES payments (id),
        state text NOT NULL,
        tariff_json text NOT NULL,
        deposit bigint NOT NULL,
        currency text NOT NULL,
        offline boolean NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        started_at timestamptz,
        ended_at timestamptz,
        end_terminal_id text,
        end_dock_id text,
        fare bigint,
        captured bigint NOT NULL,
        debt bigint NOT NULL,
        minutes integer,
        lost boolean NOT NULL,
        cancel_reason text,
        active_par text UNIQUE,
        active_bike text UNIQUE
    )""",
    "CREATE INDEX rentals_merchant_par_state ON rentals (merchant_id, par, state)",
    "CREATE INDEX rentals_merchant_bike_state ON rentals (merchant_id, bike_id, state)",
    """CREATE TABLE debts (
        id text PRIMARY KEY,
        rental_id text NOT NULL REFERENCES rentals (id),
        merchant_id text NOT NULL,
        par text,
        amount bigint NOT NULL,
        currency text NOT NULL,
        status text NOT NULL,
        created_at timestamptz NOT NULL,
        paid_at timestamptz,
        payment_id text
    )""",
    "CREATE INDEX debts_par_status ON debts (par, status)",
    "CREATE INDEX debts_merchant_status ON debts (merchant_id, status)",
    """CREATE TABLE debt_journals (
        id text PRIMARY KEY,
        debt_id text NOT NULL REFERENCES debts (id),
        request_id text NOT NULL,
        kind text NOT NULL,
        currency text NOT NULL,
        created_at timestamptz NOT NULL
    )""",
    """CREATE TABLE debt_postings (
        journal_id text NOT NULL REFERENCES debt_journals (id),
        line integer NOT NULL,
        account text NOT NULL,
        amount bigint NOT NULL,
        PRIMARY KEY (journal_id, line)
    )""",
    """CREATE TABLE bike_requests (
        id text PRIMARY KEY,
        terminal_id text NOT NULL,
        idempotency_key text NOT NULL,
        kind text NOT NULL,
        request_hash text NOT NULL,
        response_json text NOT NULL,
        created_at timestamptz NOT NULL,
        UNIQUE (terminal_id, idempotency_key)
    )""",
)


#: The rentals domain's steps.
MIGRATIONS: tuple[Migration, ...] = (Migration(5, _sqlite, _POSTGRES),)
