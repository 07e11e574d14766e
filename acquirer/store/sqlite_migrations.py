"""The schema of the SQLite store (:mod:`acquirer.store.sqlite`), as ordered migrations.

The schema is versioned: ``schema_version`` holds one row, and :data:`MIGRATIONS` is the
ordered list of steps (sqlite-utils table definitions); migration *n* brings the schema from
version *n - 1* to *n*. Add a step at the end, never edit a released one.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils


def _migration_1(db: sqlite_utils.Database) -> None:
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


def _migration_2(db: sqlite_utils.Database) -> None:
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


def _migration_3(db: sqlite_utils.Database) -> None:
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


def _migration_4(db: sqlite_utils.Database) -> None:
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


def _migration_rentals(db: sqlite_utils.Database) -> None:
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


def _migration_parcels(db: sqlite_utils.Database) -> None:
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


#: Ordered schema migrations; index 0 produces schema version 1.
MIGRATIONS: tuple[Callable[[sqlite_utils.Database], None], ...] = (
    _migration_1,
    _migration_2,
    _migration_3,
    _migration_4,
    _migration_rentals,
    _migration_parcels,
)
