"""Parcel lockers in SQL: compartments, storage fees, parcels, their operations and audit trail.

A mixin of the SQL stores (portable SQL, ``?`` placeholders). Safety across processes rests
on the database, as for payments:

- a parcel operation claims ``UNIQUE(terminal_id, idempotency_key)`` of ``parcel_operations``
  first; a retry (or a concurrent duplicate, which waits on the index) replays the stored
  response instead of running again;
- a compartment is assigned by a conditional ``UPDATE ... WHERE status = 'free'``: of two
  concurrent registrations only one changes the row, the other moves on to the next free
  compartment; a partial unique index on ``parcels (locker_id, compartment_id)`` over the
  active states makes a double assignment impossible even for a writer that skips it;
- parcels and a locker's wrong-code counter are read with the backend's row lock
  (``row_lock``: PostgreSQL adds ``FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE`` already
  serializes writers), so two pickups or door events of one parcel apply one after the other
  and the second sees the first's result: a parcel is collected, and paid for, at most once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from acquirer.errors import IdempotencyKeyReusedError, LockerNotFoundError, StoreError
from acquirer.parcels.rows import (
    AuditEventRow,
    CodeGuardRow,
    CompartmentRow,
    CompartmentSize,
    CompartmentStatus,
    ParcelOperationRequest,
    ParcelOperationResult,
    ParcelOperationRow,
    ParcelRow,
    ParcelState,
    ParcelTx,
    StorageFeeRow,
)
from acquirer.payments.ledger import Journal
from acquirer.payments.sql.authorizations import record_authorization_in
from acquirer.payments.sql.operations import apply_operation_in, insert_journals
from acquirer.store.base import (
    AtcClaim,
    AuthorizationRow,
    OperationResult,
    PaymentRow,
    PaymentStep,
    RecordResult,
    TerminalRow,
)
from acquirer.store.sql_registry import terminal_row
from acquirer.store.tx import Abort, Row, SqlPrimitives, Tx, as_datetime, as_optional_datetime

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
_INSERT_OPERATION = (
    "INSERT INTO parcel_operations (id, terminal_id, idempotency_key, kind, parcel_id, "
    "request_hash, response_json, created_at) VALUES (?, ?, ?, ?, ?, ?, '', ?) "
    "ON CONFLICT (terminal_id, idempotency_key) DO NOTHING"
)
_FIND_OPERATION = "SELECT * FROM parcel_operations WHERE terminal_id = ? AND idempotency_key = ?"


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


class ParcelsMixin(SqlPrimitives):
    """The parcel lockers part of the store."""

    #: Appended to reads of rows about to change (PostgreSQL: `` FOR UPDATE``).

    def add_compartments(
        self, locker_id: str, size: CompartmentSize, count: int, at: datetime
    ) -> Sequence[CompartmentRow]:
        """Add ``count`` free compartments numbered after the locker's last one."""

        def work(tx: Tx) -> list[CompartmentRow]:
            sql = f"SELECT * FROM terminals WHERE id = ?{self.row_lock}"  # noqa: S608
            locker = tx.one(sql, [locker_id])
            if locker is None or "locker" not in terminal_row(locker).actions:
                raise LockerNotFoundError(f"no terminal {locker_id!r} with the action locker")
            last = tx.one(
                "SELECT MAX(number) AS n FROM compartments WHERE locker_id = ?", [locker_id]
            )
            first = 1 if last is None or last["n"] is None else int(last["n"]) + 1
            rows = []
            for number in range(first, first + count):
                row = CompartmentRow(
                    locker_id, f"{number:02d}", number, size, CompartmentStatus.FREE, at
                )
                tx.run(
                    "INSERT INTO compartments (locker_id, compartment_id, number, size, status, "
                    "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    [locker_id, row.compartment_id, number, size.value, row.status.value, at],
                )
                rows.append(row)
            return rows

        return self._transact(work)

    def list_compartments(self, locker_id: str) -> Sequence[CompartmentRow]:
        """A locker's compartments, by number."""
        sql = "SELECT * FROM compartments WHERE locker_id = ? ORDER BY number"
        return [compartment_row(r) for r in self._read(lambda tx: tx.all(sql, [locker_id]))]

    def set_storage_fees(self, row: StorageFeeRow) -> None:
        """Create or replace a locker operator's storage fee settings."""

        def work(tx: Tx) -> None:
            tx.run("DELETE FROM storage_fees WHERE merchant_id = ?", [row.merchant_id])
            tx.run(
                "INSERT INTO storage_fees (merchant_id, currency, free_hours, "
                "fee_per_started_day, updated_at) VALUES (?, ?, ?, ?, ?)",
                [
                    row.merchant_id,
                    row.currency,
                    row.free_hours,
                    row.fee_per_started_day,
                    row.updated_at,
                ],
            )

        self._transact(work)

    def get_storage_fees(self, merchant_id: str) -> StorageFeeRow | None:
        """A locker operator's storage fee settings, or ``None``."""
        sql = "SELECT * FROM storage_fees WHERE merchant_id = ?"
        row = self._read(lambda tx: tx.one(sql, [merchant_id]))
        return None if row is None else storage_fee_row(row)

    def find_parcel_operation(
        self, terminal_id: str, idempotency_key: str
    ) -> ParcelOperationRow | None:
        """The parcel operation under (terminal, idempotency key), or ``None``."""
        row = self._read(lambda tx: tx.one(_FIND_OPERATION, [terminal_id, idempotency_key]))
        return None if row is None else parcel_operation_row(row)

    def run_parcel_operation(
        self, request: ParcelOperationRequest, work: Callable[[ParcelTx], str]
    ) -> ParcelOperationResult:
        """Claim the operation's key, run ``work``, store its response: one transaction."""

        def unit(tx: Tx) -> ParcelOperationResult:
            return ParcelOperationResult(self._run_operation(tx, request, work), replayed=False)

        return self._transact(unit)

    def record_parcel_authorization(
        self,
        row: AuthorizationRow,
        claim: AtcClaim | None,
        payment: PaymentRow | None,
        journals: Sequence[Journal],
        request: ParcelOperationRequest,
        work: Callable[[ParcelTx], str],
    ) -> RecordResult:
        """The authorization, its payment and journals, and the parcel operation: one transaction."""

        def unit(tx: Tx) -> RecordResult:
            result = record_authorization_in(
                tx, row, claim, payment, journals
            )  # Abort on a lost race
            try:
                self._run_operation(tx, request, work)
            except Abort:
                # The operation's key is taken although the authorization's was free: the
                # key was used for another kind of request (e.g. a pickup by code).
                raise IdempotencyKeyReusedError(
                    "this idempotency key was already used by this terminal for a different request"
                ) from None
            return result

        return self._transact(unit)

    def _run_operation(
        self, tx: Tx, request: ParcelOperationRequest, work: Callable[[ParcelTx], str]
    ) -> ParcelOperationRow:
        inserted = tx.run(
            _INSERT_OPERATION,
            [
                request.id,
                request.terminal_id,
                request.idempotency_key,
                request.kind,
                request.parcel_id,
                request.request_hash,
                request.created_at,
            ],
        )
        if inserted != 1:
            existing = tx.one(_FIND_OPERATION, [request.terminal_id, request.idempotency_key])
            if existing is None:
                raise StoreError("the parcel operation under this key could not be read back")
            raise Abort(ParcelOperationResult(parcel_operation_row(existing), replayed=True))
        response_json = work(SqlParcelTx(tx, self.row_lock, request))
        tx.run(
            "UPDATE parcel_operations SET response_json = ? WHERE id = ?",
            [response_json, request.id],
        )
        return ParcelOperationRow(
            request.id,
            request.terminal_id,
            request.idempotency_key,
            request.kind,
            request.parcel_id,
            request.request_hash,
            response_json,
            request.created_at,
        )

    def get_parcel(self, parcel_id: str) -> ParcelRow | None:
        """A parcel, or ``None``."""
        row = self._read(lambda tx: tx.one("SELECT * FROM parcels WHERE id = ?", [parcel_id]))
        return None if row is None else parcel_row(row)

    def list_parcels(
        self,
        *,
        state: ParcelState | None = None,
        locker_id: str | None = None,
        merchant_id: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> Sequence[ParcelRow]:
        """Parcels by id after ``after``, filtered; at most ``limit``."""
        clauses: list[str] = []
        params: list[object] = []
        if state is not None:
            clauses.append("p.state = ?")
            params.append(state.value)
        if locker_id is not None:
            clauses.append("p.locker_id = ?")
            params.append(locker_id)
        if merchant_id is not None:
            clauses.append("p.locker_id IN (SELECT id FROM terminals WHERE merchant_id = ?)")
            params.append(merchant_id)
        if after is not None:
            clauses.append("p.id > ?")
            params.append(after)
        where = f"WHERE {' AND '.join(clauses)} " if clauses else ""
        sql = f"SELECT p.* FROM parcels p {where}ORDER BY p.id LIMIT ?"  # noqa: S608 (constants)
        params.append(int(limit))
        return [parcel_row(r) for r in self._read(lambda tx: tx.all(sql, params))]

    def parcel_audit(self, parcel_id: str) -> Sequence[AuditEventRow]:
        """A parcel's audit events, oldest first."""
        sql = "SELECT * FROM audit_events WHERE parcel_id = ? ORDER BY at, id"
        rows = self._read(lambda tx: tx.all(sql, [parcel_id]))
        return [
            AuditEventRow(
                r["id"],
                as_datetime(r["at"]),
                r["terminal_id"],
                r["action"],
                r["locker_id"],
                r["parcel_id"],
                r["detail"],
            )
            for r in rows
        ]

    def count_parcels_by_locker(self, state: ParcelState) -> dict[str, int]:
        """Parcels in ``state`` per locker."""
        sql = (
            "SELECT locker_id, COUNT(*) AS n FROM parcels WHERE state = ? "
            "GROUP BY locker_id ORDER BY locker_id"
        )
        rows = self._read(lambda tx: tx.all(sql, [state.value]))
        return {r["locker_id"]: int(r["n"]) for r in rows}


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
