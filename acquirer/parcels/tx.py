"""A parcel transaction in SQL: the :class:`~acquirer.parcels.rows.ParcelTx` the rules run on.

:class:`SqlParcelTx` reads and changes parcels, compartments, code guards, audit events and
journals inside one transaction of :class:`~acquirer.parcels.sql.SqlParcelStore`, locking what
it reads with the engine's row lock (PostgreSQL: ``FOR UPDATE``); payment steps go through the
payments' own :func:`~acquirer.payments.sql.operations.apply_operation_in` in the same
transaction. The row converters are shared with the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from acquirer.errors import StoreError
from acquirer.parcels.rows import (
    CodeGuardRow,
    CompartmentRow,
    CompartmentSize,
    CompartmentStatus,
    ParcelOperationRequest,
    ParcelOperationRow,
    ParcelRow,
    ParcelState,
    StorageFeeRow,
)
from acquirer.payments.ledger import Journal
from acquirer.payments.rows import (
    OperationResult,
    PaymentStep,
)
from acquirer.payments.sql.operations import apply_operation_in, insert_journals
from acquirer.registry import TerminalRow, terminal_row
from acquirer.store.tx import Row, Tx, as_datetime, as_optional_datetime

_PARCEL_COLUMNS = (
    "id",
    "locker_id",
    "compartment_id",
    "courier_terminal_id",
    "reference",
    "recipient_par",
    "code_salt",
    "code_hash",
    "cod_amount",
    "currency",
    "fee_free_hours",
    "fee_per_started_day",
    "state",
    "registered_at",
    "updated_at",
    "pay_armed_until",
    "released_at",
    "opened_at",
    "collected_at",
    "payment_id",
    "amount_paid",
    "storage_fee_paid",
    "jams",
)
_COLUMN_LIST = ", ".join(_PARCEL_COLUMNS)
_VALUE_LIST = ", ".join("?" for _ in _PARCEL_COLUMNS)
_INSERT_PARCEL = f"INSERT INTO parcels ({_COLUMN_LIST}) VALUES ({_VALUE_LIST})"  # noqa: S608
_UPDATE_PARCEL = (
    "UPDATE parcels SET state = ?, updated_at = ?, pay_armed_until = ?, released_at = ?, "
    "opened_at = ?, collected_at = ?, payment_id = ?, amount_paid = ?, storage_fee_paid = ?, "
    "jams = ? WHERE id = ?"
)


def _in(values: Sequence[object]) -> str:
    return "(" + ", ".join("?" for _ in values) + ")"


class SqlParcelTx:
    """A :class:`~acquirer.parcels.rows.ParcelTx` over one write transaction."""

    def __init__(self, tx: Tx, lock_suffix: str, operation: ParcelOperationRequest) -> None:
        self._tx = tx
        self._lock = lock_suffix
        self._operation = operation
        self._events = 0

    def terminal(self, terminal_id: str) -> TerminalRow | None:
        """A registered terminal, or ``None``."""
        row = self._tx.one("SELECT * FROM terminals WHERE id = ?", [terminal_id])
        return None if row is None else terminal_row(row)

    def storage_fees(self, merchant_id: str) -> StorageFeeRow | None:
        """The operator's storage fee settings, or ``None``."""
        row = self._tx.one("SELECT * FROM storage_fees WHERE merchant_id = ?", [merchant_id])
        return None if row is None else storage_fee_row(row)

    def claim_compartment(
        self, locker_id: str, sizes: Sequence[CompartmentSize]
    ) -> CompartmentRow | None:
        """The first free compartment of ``sizes`` (in order, then by number), now occupied."""
        for size in sizes:
            candidates = self._tx.all(
                "SELECT * FROM compartments WHERE locker_id = ? AND size = ? AND status = ? "
                "ORDER BY number",
                [locker_id, size.value, CompartmentStatus.FREE.value],
            )
            for candidate in candidates:
                taken = self._tx.run(
                    "UPDATE compartments SET status = ? "
                    "WHERE locker_id = ? AND compartment_id = ? AND status = ?",
                    [
                        CompartmentStatus.OCCUPIED.value,
                        locker_id,
                        candidate["compartment_id"],
                        CompartmentStatus.FREE.value,
                    ],
                )
                if taken == 1:  # a concurrent registration did not take it first
                    candidate["status"] = CompartmentStatus.OCCUPIED.value
                    return compartment_row(candidate)
        return None

    def free_compartment(self, locker_id: str, compartment_id: str) -> None:
        """Mark a compartment free."""
        self._tx.run(
            "UPDATE compartments SET status = ? WHERE locker_id = ? AND compartment_id = ?",
            [CompartmentStatus.FREE.value, locker_id, compartment_id],
        )

    def insert_parcel(self, row: ParcelRow) -> None:
        """Write a new parcel."""
        values = [getattr(row, column) for column in _PARCEL_COLUMNS]
        self._tx.run(_INSERT_PARCEL, [getattr(v, "value", v) for v in values])

    def parcel(self, parcel_id: str) -> ParcelRow | None:
        """A parcel, locked."""
        sql = f"SELECT * FROM parcels WHERE id = ?{self._lock}"  # noqa: S608 (constant suffix)
        row = self._tx.one(sql, [parcel_id])
        return None if row is None else parcel_row(row)

    def parcels_of(
        self, locker_id: str, par: str, states: Sequence[ParcelState]
    ) -> list[ParcelRow]:
        """A recipient's parcels at a locker in ``states``, oldest first, locked."""
        sql = (
            f"SELECT * FROM parcels WHERE locker_id = ? AND recipient_par = ? "  # noqa: S608
            f"AND state IN {_in(states)} ORDER BY registered_at, id{self._lock}"
        )
        rows = self._tx.all(sql, [locker_id, par, *[s.value for s in states]])
        return [parcel_row(row) for row in rows]

    def parcels_with_code(self, locker_id: str, states: Sequence[ParcelState]) -> list[ParcelRow]:
        """Parcels with a pickup code at a locker in ``states``, oldest first, locked."""
        sql = (
            f"SELECT * FROM parcels WHERE locker_id = ? AND code_hash IS NOT NULL "  # noqa: S608
            f"AND state IN {_in(states)} ORDER BY registered_at, id{self._lock}"
        )
        rows = self._tx.all(sql, [locker_id, *[s.value for s in states]])
        return [parcel_row(row) for row in rows]

    def update_parcel(self, row: ParcelRow) -> None:
        """Write a parcel's changed state."""
        self._tx.run(
            _UPDATE_PARCEL,
            [
                row.state.value,
                row.updated_at,
                row.pay_armed_until,
                row.released_at,
                row.opened_at,
                row.collected_at,
                row.payment_id,
                row.amount_paid,
                row.storage_fee_paid,
                row.jams,
                row.id,
            ],
        )

    def code_guard(self, locker_id: str) -> CodeGuardRow:
        """The locker's wrong-code counter, locked (created at zero on first use)."""
        self._tx.run(
            "INSERT INTO locker_code_guards (locker_id, failures, locked_until) "
            "VALUES (?, 0, NULL) ON CONFLICT (locker_id) DO NOTHING",
            [locker_id],
        )
        sql = f"SELECT * FROM locker_code_guards WHERE locker_id = ?{self._lock}"  # noqa: S608
        row = self._tx.one(sql, [locker_id])
        if row is None:
            raise StoreError("the locker's code guard could not be read back")
        locked = row["locked_until"]
        return CodeGuardRow(locker_id, int(row["failures"]), as_optional_datetime(locked))

    def put_code_guard(self, row: CodeGuardRow) -> None:
        """Write the locker's wrong-code counter."""
        self._tx.run(
            "UPDATE locker_code_guards SET failures = ?, locked_until = ? WHERE locker_id = ?",
            [row.failures, row.locked_until, row.locker_id],
        )

    def audit(
        self, terminal_id: str, action: str, locker_id: str, parcel_id: str | None, detail: str
    ) -> None:
        """Append an audit event ``<operation id>/<nn>`` at the operation's time."""
        event_id = f"{self._operation.id}/{self._events:02d}"
        self._events += 1
        self._tx.run(
            "INSERT INTO audit_events (id, at, terminal_id, action, locker_id, parcel_id, detail) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                event_id,
                self._operation.created_at,
                terminal_id,
                action,
                locker_id,
                parcel_id,
                detail,
            ],
        )

    def post(
        self, payment_id: str, operation_id: str, journals: Sequence[Journal], at: datetime
    ) -> None:
        """Write journals of a payment, numbered within ``operation_id``."""
        insert_journals(self._tx, payment_id, operation_id, journals, at)

    def apply_payment_step(self, step: PaymentStep) -> OperationResult:
        """A payment operation in this transaction (:func:`apply_operation_in`)."""
        request, decide = step
        lock = f"SELECT * FROM payments WHERE id = ?{self._lock}"  # noqa: S608 (constant suffix)
        return apply_operation_in(self._tx, lock, request, decide)


def _bytes(value: bytes | memoryview | None) -> bytes | None:
    return None if value is None else bytes(value)


def parcel_row(row: Row) -> ParcelRow:
    """A :class:`ParcelRow` from a ``parcels`` row of either backend."""
    return ParcelRow(
        id=row["id"],
        locker_id=row["locker_id"],
        compartment_id=row["compartment_id"],
        courier_terminal_id=row["courier_terminal_id"],
        reference=row["reference"],
        recipient_par=row["recipient_par"],
        code_salt=_bytes(row["code_salt"]),
        code_hash=_bytes(row["code_hash"]),
        cod_amount=int(row["cod_amount"]),
        currency=row["currency"],
        fee_free_hours=None if row["fee_free_hours"] is None else int(row["fee_free_hours"]),
        fee_per_started_day=None
        if row["fee_per_started_day"] is None
        else int(row["fee_per_started_day"]),
        state=ParcelState(row["state"]),
        registered_at=as_datetime(row["registered_at"]),
        updated_at=as_datetime(row["updated_at"]),
        pay_armed_until=as_optional_datetime(row["pay_armed_until"]),
        released_at=as_optional_datetime(row["released_at"]),
        opened_at=as_optional_datetime(row["opened_at"]),
        collected_at=as_optional_datetime(row["collected_at"]),
        payment_id=row["payment_id"],
        amount_paid=int(row["amount_paid"]),
        storage_fee_paid=int(row["storage_fee_paid"]),
        jams=int(row["jams"]),
    )


def compartment_row(row: Row) -> CompartmentRow:
    """A :class:`CompartmentRow` from a ``compartments`` row of either backend."""
    return CompartmentRow(
        locker_id=row["locker_id"],
        compartment_id=row["compartment_id"],
        number=int(row["number"]),
        size=CompartmentSize(row["size"]),
        status=CompartmentStatus(row["status"]),
        created_at=as_datetime(row["created_at"]),
    )


def storage_fee_row(row: Row) -> StorageFeeRow:
    """A :class:`StorageFeeRow` from a ``storage_fees`` row of either backend."""
    return StorageFeeRow(
        merchant_id=row["merchant_id"],
        currency=row["currency"],
        free_hours=int(row["free_hours"]),
        fee_per_started_day=int(row["fee_per_started_day"]),
        updated_at=as_datetime(row["updated_at"]),
    )


def parcel_operation_row(row: Row) -> ParcelOperationRow:
    """A :class:`ParcelOperationRow` from a ``parcel_operations`` row of either backend."""
    return ParcelOperationRow(
        id=row["id"],
        terminal_id=row["terminal_id"],
        idempotency_key=row["idempotency_key"],
        kind=row["kind"],
        parcel_id=row["parcel_id"],
        request_hash=row["request_hash"],
        response_json=row["response_json"],
        created_at=as_datetime(row["created_at"]),
    )
