"""The parcels domain's schema step 6 (lockers, parcels, operations, audit trail), for SQLite and PostgreSQL.

Collected and run by :mod:`acquirer.store.migrations`; the number is the one an existing
database recorded. Add a step at the end, never edit a released one.
"""

from __future__ import annotations

import sqlite_utils

from acquirer.store.migrations import Migration


def _sqlite(db: sqlite_utils.Database) -> None:
    """Parcel lockers: compartments, storage fees, parcels, their operations and audit trail."""
    db.create_table(
        "compartments",
        {
            "locker_id": str,
            "compartment_id": str,
            "number": int,
            "size": str,
            "status": str,
            "created_at": str,
        },
        pk=("locker_id", "compartment_id"),
        not_null=["number", "size", "status", "created_at"],
        foreign_keys=[("locker_id", "terminals", "id")],
    )
    db.create_table(
        "storage_fees",
        {
            "merchant_id": str,
            "currency": str,
            "free_hours": int,
            "fee_per_started_day": int,
            "updated_at": str,
        },
        pk="merchant_id",
        not_null=["currency", "free_hours", "fee_per_started_day", "updated_at"],
        foreign_keys=[("merchant_id", "merchants", "id")],
    )
    db.create_table(
        "parcels",
        {
            "id": str,
            "locker_id": str,
            "compartment_id": str,
            "courier_terminal_id": str,
            "reference": str,
            "recipient_par": str,
            "code_salt": bytes,
            "code_hash": bytes,
            "cod_amount": int,
            "currency": str,
            "fee_free_hours": int,
            "fee_per_started_day": int,
            "state": str,
            "registered_at": str,
            "updated_at": str,
            "pay_armed_until": str,
            "released_at": str,
            "opened_at": str,
            "collected_at": str,
            "payment_id": str,
            "amount_paid": int,
            "storage_fee_paid": int,
            "jams": int,
        },
        pk="id",
        not_null=[
            "locker_id",
            "compartment_id",
            "courier_terminal_id",
            "reference",
            "cod_amount",
            "currency",
            "state",
            "registered_at",
            "updated_at",
            "amount_paid",
            "storage_fee_paid",
            "jams",
        ],
        foreign_keys=[("payment_id", "payments", "id")],
    )
    db.table("parcels").create_index(["locker_id", "state"])
    db.table("parcels").create_index(["recipient_par", "locker_id", "state"])
    db.execute(
        "CREATE UNIQUE INDEX parcels_one_per_compartment ON parcels (locker_id, compartment_id) "
        "WHERE state IN ('waiting', 'released', 'opened')"
    )
    db.create_table(
        "parcel_operations",
        {
            "id": str,
            "terminal_id": str,
            "idempotency_key": str,
            "kind": str,
            "parcel_id": str,
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
    db.table("parcel_operations").create_index(["terminal_id", "idempotency_key"], unique=True)
    db.create_table(
        "audit_events",
        {
            "id": str,
            "at": str,
            "terminal_id": str,
            "action": str,
            "locker_id": str,
            "parcel_id": str,
            "detail": str,
        },
        pk="id",
        not_null=["at", "terminal_id", "action", "locker_id", "detail"],
    )
    db.table("audit_events").create_index(["parcel_id", "at"])
    db.table("audit_events").create_index(["locker_id", "at"])
    db.create_table(
        "locker_code_guards",
        {"locker_id": str, "failures": int, "locked_until": str},
        pk="locker_id",
        not_null=["failures"],
    )


#: Parcel lockers: compartments, storage fees, parcels, their operations and audit trail.
_POSTGRES: tuple[str, ...] = (
    """CREATE TABLE compartments (
        locker_id text NOT NULL REFERENCES terminals (id),
        compartment_id text NOT NULL,
        number integer NOT NULL,
        size text NOT NULL,
        status text NOT NULL,
        created_at timestamptz NOT NULL,
        PRIMARY KEY (locker_id, compartment_id)
    )""",
    """CREATE TABLE storage_fees (
        merchant_id text PRIMARY KEY REFERENCES merchants (id),
        currency text NOT NULL,
        free_hours integer NOT NULL,
        fee_per_started_day bigint NOT NULL,
        updated_at timestamptz NOT NULL
    )""",
    """CREATE TABLE parcels (
        id text PRIMARY KEY,
        locker_id text NOT NULL,
        compartment_id text NOT NULL,
        courier_terminal_id text NOT NULL,
        reference text NOT NULL,
        recipient_par text,
        code_salt bytea,
        code_hash bytea,
        cod_amount bigint NOT NULL,
        currency text NOT NULL,
        fee_free_hours integer,
        fee_per_started_day bigint,
        state text NOT NULL,
        registered_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        pay_armed_until timestamptz,
        released_at timestamptz,
        opened_at timestamptz,
        collected_at timestamptz,
        payment_id text REFERENCES payments (id),
        amount_paid bigint NOT NULL,
        storage_fee_paid bigint NOT NULL,
        jams integer NOT NULL
    )""",
    "CREATE INDEX parcels_locker_state ON parcels (locker_id, state)",
    "CREATE INDEX parcels_par_locker_state ON parcels (recipient_par, locker_id, state)",
    """CREATE UNIQUE INDEX parcels_one_per_compartment ON parcels (locker_id, compartment_id)
        WHERE state IN ('waiting', 'released', 'opened')""",
    """CREATE TABLE parcel_operations (
        id text PRIMARY KEY,
        terminal_id text NOT NULL,
        idempotency_key text NOT NULL,
        kind text NOT NULL,
        parcel_id text,
        request_hash text NOT NULL,
        response_json text NOT NULL,
        created_at timestamptz NOT NULL,
        UNIQUE (terminal_id, idempotency_key)
    )""",
    """CREATE TABLE audit_events (
        id text PRIMARY KEY,
        at timestamptz NOT NULL,
        terminal_id text NOT NULL,
        action text NOT NULL,
        locker_id text NOT NULL,
        parcel_id text,
        detail text NOT NULL
    )""",
    "CREATE INDEX audit_events_parcel_at ON audit_events (parcel_id, at)",
    "CREATE INDEX audit_events_locker_at ON audit_events (locker_id, at)",
    """CREATE TABLE locker_code_guards (
        locker_id text PRIMARY KEY,
        failures integer NOT NULL,
        locked_until timestamptz
    )""",
)


#: The parcels domain's steps.
MIGRATIONS: tuple[Migration, ...] = (Migration(6, _sqlite, _POSTGRES),)
